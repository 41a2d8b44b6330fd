"""What every command shares: the `--db` and `--format` options, consoles, rendering."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from reactivate.errors import Rejection
from reactivate.messages import t

if TYPE_CHECKING:
    from sqlalchemy import Engine

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="REACTIVATE_DB",
        help="Database: a file path (SQLite) or a SQLAlchemy URL such as "
        "postgresql://user@host/db. Default: reactivate.db in the current folder.",
        show_envvar=True,
    ),
]
CampaignOption = Annotated[
    str, typer.Option("--campaign", "-c", help="Slug of a registered campaign.")
]


class Format(StrEnum):
    table = "table"
    json = "json"


FormatOption = Annotated[
    Format, typer.Option("--format", "-f", help="table for people, json for other tools.")
]


def engine(db: str | None) -> Engine:
    """The engine for this invocation (imports SQLAlchemy only when a command needs it)."""
    from reactivate.db.engine import open_engine

    return open_engine(db)


# Nothing is printed as Rich markup: file names, cell values and branch names may hold
# square brackets ('[old]'), which markup would swallow. Styling goes through `Text`.


def console() -> Console:
    """stdout, sized by COLUMNS when set (tests pin it)."""
    width = int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else None
    return Console(width=width, highlight=False, markup=False)


def err_console() -> Console:
    return Console(stderr=True, highlight=False, markup=False)


def print_error(message: object) -> None:
    """`Error: message` on stderr, the prefix in bold red."""
    err_console().print(Text.assemble((f"{t('error.prefix')}:", "bold red"), " ", str(message)))


def print_rejections(errors: Sequence[Rejection]) -> None:
    """The first rejections on stderr, one a line, then how many more."""
    from reactivate.sheets.clean import error_lines

    for line in error_lines(errors):
        err_console().print(line)


def print_json(data: Any) -> None:
    """One JSON document on stdout, non-ASCII kept readable."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def table(title: str | None, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A rich table; numbers right-aligned."""
    rows = [list(r) for r in rows]
    out = Table(title=title, title_justify="left")
    for i, header in enumerate(headers):
        numeric = bool(rows) and all(isinstance(r[i], int | float) for r in rows if r[i] != "")
        out.add_column(header, justify="right" if numeric else "left")
    for row in rows:
        out.add_row(*(_cell(v) for v in row))
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


class _Bar:
    """A rich progress bar on stderr, or nothing (JSON output, tests)."""

    def __init__(self, description: str, enabled: bool) -> None:
        self.enabled = enabled
        self.description = description
        self.progress: Any = None
        self.task: Any = None

    def __enter__(self) -> _Bar:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.progress = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err_console(),
                transient=True,
            )
            self.progress.__enter__()
            self.task = self.progress.add_task(self.description, total=None)
        return self

    def set_total(self, total: int | None) -> None:
        if self.progress is not None:
            self.progress.update(self.task, total=total)

    def advance(self, amount: int) -> None:
        if self.progress is not None:
            self.progress.update(self.task, advance=amount)

    def show(self, description: str, completed: int, total: int | None) -> None:
        """Say what is being done and how far it has got."""
        if self.progress is not None:
            self.progress.update(
                self.task, description=description, completed=completed, total=total
            )

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)


def progress_bar(description: str, enabled: bool = True) -> _Bar:
    """A progress bar for long work; shown only on a terminal and when enabled."""
    return _Bar(description, enabled and err_console().is_terminal)


def refuse(errors: Sequence[Rejection]) -> NoReturn:
    """The `Error:` line of a refused load or upload (the summary is already shown), exit 1."""
    print_error(t("error.rows_rejected", count=len(errors), first=errors[0]))
    raise typer.Exit(1)

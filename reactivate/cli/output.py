"""What commands print: JSON for other tools, tables and lines for people, errors on stderr.

Nothing is printed as Rich markup: file names, cell values and branch names may hold
square brackets ('[old]'), which markup would swallow. Styling goes through `Text`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from reactivate.errors import NeedsConfirmation, Rejection
from reactivate.messages import t

if TYPE_CHECKING:
    from reactivate.assign import AssignSummary

Row = TypeVar("Row")


def console() -> Console:
    """stdout, sized by COLUMNS when set (tests pin it)."""
    width = int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else None
    return Console(width=width, highlight=False, markup=False)


def err_console() -> Console:
    return Console(stderr=True, highlight=False, markup=False)


def print_error(message: object) -> None:
    """`Error: message` on stderr, the prefix in bold red."""
    # one line, however narrow the terminal (or the 80 columns assumed for a pipe)
    err_console().print(
        Text.assemble((t("error.prefix"), "bold red"), str(message)), soft_wrap=True
    )


def print_rejections(errors: Sequence[Rejection]) -> None:
    """The first rejections on stderr, one a line, then how many more."""
    from reactivate.sheets.clean import error_lines

    for line in error_lines(errors):
        err_console().print(line)


def print_json(data: Any) -> None:
    """One JSON document on stdout, non-ASCII kept readable."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def emit(fmt: str, data: object, view: Callable[[], None]) -> None:
    """`data` as JSON when `fmt` is json (for other tools); otherwise `view()` prints it for people."""
    if fmt == "json":
        print_json(data)
    else:
        view()


class _Checked(Protocol):
    """A load's or upload's summary."""

    @property
    def refused(self) -> bool: ...
    @property
    def errors(self) -> Sequence[Rejection]: ...
    def to_json(self) -> dict[str, Any]: ...


def print_checked(fmt: str, summary: _Checked, view: Callable[[], None]) -> None:
    """A load's or upload's summary (JSON or `view()`), then, when its rows were refused,
    the `Error:` line and exit 1."""
    emit(fmt, summary.to_json(), view)
    if summary.refused:
        errors = summary.errors
        print_error(t("error.rows_rejected", count=len(errors), first=errors[0]))
        raise typer.Exit(1)


@contextmanager
def summary_on_refusal(fmt: str) -> Iterator[None]:
    """With --format json, a change that waits for confirmation still prints what it would
    have done, before its `Error:` line."""
    try:
        yield
    except NeedsConfirmation as exc:
        if fmt == "json":
            print_json(exc.summary)
        raise


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


def counts_table(title: str, counts: Mapping[str, object]) -> Table:
    """One row of counts under `title`, each column headed by its key's `label.KEY` text."""
    headers = [t(f"label.{key}") for key in counts]
    return table(title, headers, [list(counts.values())])


def print_counts(fmt: str, title: str, counts: Mapping[str, object]) -> None:
    """A summary's counts: the mapping as JSON, or its `counts_table`."""
    emit(fmt, counts, lambda: console().print(counts_table(title, counts)))


def print_rows(
    fmt: str,
    rows: Sequence[Row],
    headers: Sequence[str],
    cells: Callable[[Row], Sequence[object]],
    *,
    empty: str | None = None,
) -> None:
    """A listing: the rows as JSON, or a table of each row's `cells` under `headers`
    (the `empty` line instead when there are no rows and it is given)."""

    def view() -> None:
        if not rows and empty is not None:
            console().print(empty)
        else:
            console().print(table(None, headers, (cells(r) for r in rows)))

    emit(fmt, rows, view)


def print_advisors(key: str, codes: Sequence[str]) -> None:
    """The line `key` naming advisors (comma-separated), when there are any."""
    if codes:
        console().print(t(key, advisors=t("list.separator").join(codes)))


def assigned_line(summary: AssignSummary) -> str:
    """How many were assigned, kept with their owner, held out and left unassigned."""
    return t(
        "summary.assigned",
        assigned=summary.assigned,
        kept=summary.kept,
        control=summary.control,
        unassigned=summary.unassigned,
    )


def print_assignment(summary: AssignSummary) -> None:
    """The advisors' books after `assign` or `reassign`, their fairness, and what was written."""
    out = console()
    headers = [t(f"label.{k}") for k in ("code", "name", "branch", "clients", "new")]
    headers += [t("label.assets"), t("label.median_assets")]
    books = [
        [b.code, b.name, b.branch, b.clients, b.new, b.assets, b.median_assets]
        for b in summary.advisors
    ]
    out.print(table(t("summary.assign", campaign=summary.campaign), headers, books))
    fair = summary.fairness()
    if fair:
        out.print(t("summary.fairness", **{k: f"{v:,.0f}" for k, v in fair.items()}))
    out.print(assigned_line(summary))
    for branch, count in sorted(summary.unassigned_by_branch.items()):
        out.print(t("summary.unassigned_branch", branch=branch, count=count))
    if summary.workbooks:
        folder = summary.workbooks[0].parent.parent
        out.print(t("summary.workbooks", count=len(summary.workbooks), folder=folder))
    out.print(t("summary.method", method=t("summary.method_text")))
    if summary.dry_run:
        out.print(t("summary.dry_run"))


class _Sized(Protocol):
    @property
    def total_rows(self) -> int | None: ...


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

    def on_table(self, opened: _Sized) -> None:
        """A file's table is open: its row count, when known, is the total."""
        if self.progress is not None:
            self.progress.update(self.task, total=opened.total_rows)

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

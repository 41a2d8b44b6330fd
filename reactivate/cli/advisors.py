"""`reactivate advisors load | list`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reactivate.cli.options import DbOption, Format, FormatOption, SheetOption, engine
from reactivate.cli.output import console, counts_table, emit, print_rows
from reactivate.messages import t

if TYPE_CHECKING:
    from reactivate.roster import RosterSummary

app = typer.Typer(
    help="help.advisors",
    no_args_is_help=True,
)


@app.command("load", help="help.advisors.load")
def load(
    file: Annotated[
        Path,
        typer.Argument(help="help.advisors.load.file"),
    ],
    sheet: SheetOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="help.advisors.load.dry_run")] = False,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    from reactivate.roster import load_roster

    summary = load_roster(engine(db), file, sheet=sheet, dry_run=dry_run)
    emit(fmt, summary.counts(), lambda: _show_roster(summary, dry_run))


def _show_roster(summary: RosterSummary, dry_run: bool) -> None:
    out = console()
    out.print(counts_table(t("summary.roster", file=summary.file), summary.counts()))
    if dry_run:
        out.print(t("summary.dry_run"))


@app.command("list", help="help.advisors.list")
def list_(db: DbOption = None, fmt: FormatOption = Format.table) -> None:
    from reactivate.render.tables import column_labels, labelled
    from reactivate.roster import advisor_overview

    rows = advisor_overview(engine(db))
    headers = column_labels(list(rows[0]) if rows else ["code"])
    print_rows(fmt, rows, headers, lambda r: [_shown(v) for v in labelled(r).values()])


def _shown(value: object) -> object:
    from reactivate.render.tables import yes_no

    return yes_no(value) if isinstance(value, bool) else value

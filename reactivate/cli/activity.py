"""`reactivate activity load`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reactivate.cli.options import DbOption, Format, FormatOption, SheetOption, engine
from reactivate.cli.output import print_counts
from reactivate.messages import t

app = typer.Typer(
    help="Trading activity from the core system: who was really reactivated.", no_args_is_help=True
)


@app.command("load")
def load(
    file: Annotated[
        Path, typer.Argument(help="A later export: 客户号, 最后交易日期, optionally 总资产.")
    ],
    campaign: Annotated[
        str | None,
        typer.Option(
            "--campaign", "-c", help="Only this campaign. Default: every campaign the client is in."
        ),
    ] = None,
    sheet: SheetOption = None,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Mark members reactivated when they traded on or after their campaign started.

    A trade after the campaign's end still counts; a trade dated after today is a bad
    row, and one bad row writes nothing. Loading the same export again adds nothing.
    The report then compares the treated clients with the control group.

    Example: reactivate activity load activity_2021q1.xlsx
    """
    from reactivate.activity import load_activity

    summary = load_activity(engine(db), file, campaign=campaign, sheet=sheet)
    print_counts(fmt, t("summary.activity", file=summary.file), summary.counts(), labelled=False)

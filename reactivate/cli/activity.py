"""`reactivate activity ...`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reactivate.cli.common import DbOption, Format, FormatOption, console, engine, print_json, table
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
    sheet: Annotated[
        str | None, typer.Option(help="Sheet to read. Default: the first with data.")
    ] = None,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Mark members reactivated when they traded on or after their campaign started.

    Loading the same export again adds nothing. The report then compares the treated
    clients with the control group.

    Example: reactivate activity load activity_2021q1.xlsx
    """
    from reactivate.activity import load_activity

    summary = load_activity(engine(db), file, campaign=campaign, sheet=sheet)
    counts = summary.counts()
    if fmt is Format.json:
        print_json(counts)
        return
    console().print(
        table(t("summary.activity", file=summary.file), list(counts), [list(counts.values())])
    )

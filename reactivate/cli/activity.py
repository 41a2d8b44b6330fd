"""`reactivate activity load`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reactivate.cli.options import DbOption, Format, FormatOption, SheetOption, engine
from reactivate.cli.output import print_counts
from reactivate.messages import t

app = typer.Typer(help="help.activity", no_args_is_help=True)


@app.command("load", help="help.activity.load")
def load(
    file: Annotated[Path, typer.Argument(help="help.activity.load.file")],
    campaign: Annotated[
        str | None,
        typer.Option("--campaign", "-c", help="help.activity.load.campaign"),
    ] = None,
    sheet: SheetOption = None,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    from reactivate.activity import load_activity

    summary = load_activity(engine(db), file, campaign=campaign, sheet=sheet)
    print_counts(fmt, t("summary.activity", file=summary.file), summary.counts())

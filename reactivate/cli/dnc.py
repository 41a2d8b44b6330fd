"""`reactivate dnc load`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reactivate.cli.options import DbOption, Format, FormatOption, SheetOption, engine
from reactivate.cli.output import print_counts
from reactivate.messages import t

app = typer.Typer(help="help.dnc", no_args_is_help=True)


@app.command("load", help="help.dnc.load")
def load(
    file: Annotated[Path, typer.Argument(help="help.dnc.load.file")],
    sheet: SheetOption = None,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    from reactivate.donotcall import load_dnc

    summary = load_dnc(engine(db), file, sheet=sheet)
    print_counts(fmt, t("summary.dnc", file=summary.file), summary.counts())

"""`reactivate dnc load`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reactivate.cli.options import DbOption, Format, FormatOption, SheetOption, engine
from reactivate.cli.output import print_counts
from reactivate.messages import t

app = typer.Typer(help="The firm-wide do-not-call list.", no_args_is_help=True)


@app.command("load")
def load(
    file: Annotated[
        Path, typer.Argument(help="File of client ids and/or mobiles (客户号, 手机号, 原因).")
    ],
    sheet: SheetOption = None,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Add clients to the firm-wide do-not-call list; members of open campaigns are flagged.

    Example: reactivate dnc load data/do_not_call.csv
    """
    from reactivate.donotcall import load_dnc

    summary = load_dnc(engine(db), file, sheet=sheet)
    print_counts(fmt, t("summary.dnc", file=summary.file), summary.counts(), labelled=False)

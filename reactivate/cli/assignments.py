"""`reactivate assignments export`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from reactivate.cli.options import CampaignOption, DbOption, engine
from reactivate.cli.output import console
from reactivate.messages import t

app = typer.Typer(help="help.assignments", no_args_is_help=True)


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    json = "json"


@app.command("export", help="help.assignments.export")
def export(
    campaign: CampaignOption,
    fmt: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="help.assignments.export.fmt")
    ] = ExportFormat.csv,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="help.assignments.export.out"),
    ] = None,
    db: DbOption = None,
) -> None:
    from reactivate.exports import assignment_rows
    from reactivate.render.tables import write_rows

    rows = assignment_rows(engine(db), campaign)
    if fmt is ExportFormat.xlsx and out is None:
        raise typer.BadParameter(t("error.xlsx_needs_out"), param_hint="--out")
    written = write_rows(rows, fmt.value, out, title=t("sheet.assignments", campaign=campaign))
    if out is not None:
        console().print(t("summary.exported", count=written, path=out))

"""`reactivate imports list`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from reactivate.cli.options import DbOption, Format, FormatOption, engine
from reactivate.cli.output import print_rows
from reactivate.messages import label, t

app = typer.Typer(help="help.imports", no_args_is_help=True)


@app.command("list", help="help.imports.list")
def list_(
    campaign: Annotated[
        str | None, typer.Option("--campaign", "-c", help="help.imports.list.campaign")
    ] = None,
    limit: Annotated[int, typer.Option(help="help.imports.list.limit")] = 50,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    from reactivate import registry
    from reactivate.db.import_log import listing

    used = engine(db)
    campaign_id = registry.get(used, campaign).id if campaign else None
    rows = listing(used, campaign_id, limit)
    headers = [t(f"label.{key}") for key in _HEADERS]
    print_rows(fmt, rows, headers, _cells, empty=t("summary.no_imports"))


_HEADERS = ("id", "kind", "campaign", "file", "rows", "status", "who", "when", "sha256")


def _cells(row: dict[str, Any]) -> list[object]:
    return [
        row["id"],
        label("value.kind", row["kind"]),
        row["campaign"] or "",
        row["file"],
        row["rows"],
        label("value.import_status", row["status"]),
        *(row[key] for key in ("run_by", "run_at")),
        row["sha256"][:12],  # enough to tell files apart; json has it whole
    ]

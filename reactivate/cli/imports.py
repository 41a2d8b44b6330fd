"""`reactivate imports list`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from reactivate.cli.options import DbOption, Format, FormatOption, engine
from reactivate.cli.output import print_rows
from reactivate.messages import t

app = typer.Typer(help="Every file brought in: what, counts, who, when.", no_args_is_help=True)


@app.command("list")
def list_(
    campaign: Annotated[
        str | None, typer.Option("--campaign", "-c", help="Only this campaign's imports.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many of the latest imports to show.")] = 50,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """List the latest imports, newest first: file, SHA-256, counts, status, who, when.

    Example: reactivate imports list --campaign 2020h2-dormant
    """
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
        *(row[key] for key in ("id", "kind")),
        row["campaign"] or "",
        *(row[key] for key in ("file", "rows", "status", "run_by", "run_at")),
        row["sha256"][:12],  # enough to tell files apart; json has it whole
    ]

"""`reactivate imports ...`."""

from __future__ import annotations

from typing import Annotated

import typer

from reactivate.cli.common import DbOption, Format, FormatOption, console, engine, print_json, table
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
    if fmt is Format.json:
        print_json(rows)
        return
    if not rows:
        console().print(t("summary.no_imports"))
        return
    headers = [
        t("label.id"),
        t("label.kind"),
        t("label.campaign"),
        t("label.file"),
        t("label.rows"),
        t("label.status"),
        t("label.who"),
        t("label.when"),
        t("label.sha256"),
    ]
    console().print(
        table(
            None,
            headers,
            [
                [
                    r["id"],
                    r["kind"],
                    r["campaign"] or "",
                    r["file"],
                    r["rows"],
                    r["status"],
                    r["run_by"],
                    r["run_at"],
                    r["sha256"][:12],
                ]
                for r in rows
            ],
        )
    )

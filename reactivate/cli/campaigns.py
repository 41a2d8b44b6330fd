"""`reactivate init` and `reactivate campaign ...`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reactivate.cli.common import DbOption, Format, FormatOption, console, engine, print_json, table
from reactivate.messages import t

app = typer.Typer(
    help="Register and inspect campaigns (TOML files under campaigns/).", no_args_is_help=True
)


def init(db: DbOption = None) -> None:
    """Create the database schema explicitly (it is also created on first use).

    Example: reactivate init --db campaign.db
    """
    from reactivate.db.models import SCHEMA_VERSION

    used = engine(db)
    console().print(t("summary.init", url=used.url.render_as_string(), version=SCHEMA_VERSION))


@app.command("add")
def add(
    file: Annotated[
        Path, typer.Argument(help="Campaign TOML file, e.g. campaigns/2020h2-dormant.toml.")
    ],
    db: DbOption = None,
) -> None:
    """Validate a campaign file and register it (again, to update it).

    Example: reactivate campaign add campaigns/2020h2-dormant.toml
    """
    from reactivate import registry

    campaign, created = registry.register(engine(db), file)
    key = "summary.campaign_added" if created else "summary.campaign_updated"
    console().print(t(key, slug=campaign.slug))


@app.command("list")
def list_(db: DbOption = None, fmt: FormatOption = Format.table) -> None:
    """List registered campaigns.

    Example: reactivate campaign list --format json
    """
    from reactivate import registry

    rows = registry.overview(engine(db))
    if fmt is Format.json:
        print_json(rows)
        return
    if not rows:
        console().print(t("summary.no_campaigns"))
        return
    headers = [
        "slug",
        t("label.name"),
        t("label.start"),
        t("label.end"),
        t("label.status"),
        t("label.members"),
    ]
    console().print(
        table(
            None,
            headers,
            [[r["slug"], r["name"], r["start"], r["end"], r["status"], r["members"]] for r in rows],
        )
    )


@app.command("show")
def show(
    slug: Annotated[str, typer.Argument(help="Campaign slug.")],
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Show a registered campaign: dates, dormancy rule, stages, products, targets.

    Example: reactivate campaign show 2020h2-dormant
    """
    from reactivate import registry

    detail = registry.describe(engine(db), slug)
    if fmt is Format.json:
        print_json(detail)
        return
    console().print(table(detail["slug"], [t("label.name"), t("label.value")], _flatten(detail)))


def _flatten(detail: dict[str, object], prefix: str = "") -> list[list[object]]:
    rows: list[list[object]] = []
    for key, value in detail.items():
        if isinstance(value, dict):
            rows.extend(_flatten(value, f"{prefix}{key}."))
        elif isinstance(value, list):
            rows.append([prefix + key, "; ".join(str(v) for v in value)])
        else:
            rows.append([prefix + key, value])
    return rows


@app.command("close")
def close(
    slug: Annotated[str, typer.Argument(help="Campaign slug.")],
    purge_personal_data: Annotated[
        bool,
        typer.Option(
            "--purge-personal-data",
            help="Also remove names and mobiles of its clients that no other open campaign needs.",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Freeze a campaign: no more loads, assignments or uploads; reports keep working.

    Example: reactivate campaign close 2020h2-dormant --purge-personal-data
    """
    from reactivate import registry

    closed, purged = registry.close(engine(db), slug, purge_personal_data=purge_personal_data)
    console().print(t("summary.closed" if closed else "summary.already_closed", slug=slug))
    if purge_personal_data:
        console().print(t("summary.purged", count=purged))

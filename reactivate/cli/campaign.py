"""`reactivate campaign add | list | show | close`."""

from __future__ import annotations

from operator import itemgetter
from pathlib import Path
from typing import Annotated

import typer

from reactivate.cli.options import DbOption, Format, FormatOption, engine
from reactivate.cli.output import console, emit, print_rows, table
from reactivate.messages import t

app = typer.Typer(
    help="Register and inspect campaigns (TOML files under campaigns/).", no_args_is_help=True
)

SlugArgument = Annotated[str, typer.Argument(help="Campaign slug.")]


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

    campaign, created = registry.register(engine(db, create=True), file)
    key = "summary.campaign_added" if created else "summary.campaign_updated"
    console().print(t(key, slug=campaign.slug))


_LISTED = ("slug", "name", "start", "end", "status", "members")


@app.command("list")
def list_(db: DbOption = None, fmt: FormatOption = Format.table) -> None:
    """List registered campaigns.

    Example: reactivate campaign list --format json
    """
    from reactivate import registry

    rows = registry.overview(engine(db))
    headers = ["slug", *(t(f"label.{key}") for key in _LISTED[1:])]
    print_rows(fmt, rows, headers, itemgetter(*_LISTED), empty=t("summary.no_campaigns"))


@app.command("show")
def show(slug: SlugArgument, db: DbOption = None, fmt: FormatOption = Format.table) -> None:
    """Show a registered campaign: dates, dormancy rule, stages, products, targets.

    Example: reactivate campaign show 2020h2-dormant
    """
    from reactivate import registry

    detail = registry.describe(engine(db), slug)
    headers = [t("label.name"), t("label.value")]
    emit(fmt, detail, lambda: console().print(table(detail["slug"], headers, _flatten(detail))))


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
    slug: SlugArgument,
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

"""`reactivate campaign add | list | show | close`."""

from __future__ import annotations

from operator import itemgetter
from pathlib import Path
from typing import Annotated

import typer

from reactivate.cli.options import DbOption, Format, FormatOption, engine
from reactivate.cli.output import console, emit, print_rows, table
from reactivate.messages import t

app = typer.Typer(help="help.campaign", no_args_is_help=True)

SlugArgument = Annotated[str, typer.Argument(help="help.opt.slug")]


@app.command("add", help="help.campaign.add")
def add(
    file: Annotated[Path, typer.Argument(help="help.campaign.add.file")],
    db: DbOption = None,
) -> None:
    from reactivate import registry

    campaign, created = registry.register(engine(db), file)
    key = "summary.campaign_added" if created else "summary.campaign_updated"
    console().print(t(key, slug=campaign.slug))


_LISTED = ("slug", "name", "start", "end", "status", "members")


@app.command("list", help="help.campaign.list")
def list_(db: DbOption = None, fmt: FormatOption = Format.table) -> None:
    from reactivate import registry

    rows = registry.overview(engine(db))
    headers = ["slug", *(t(f"label.{key}") for key in _LISTED[1:])]
    print_rows(fmt, rows, headers, itemgetter(*_LISTED), empty=t("summary.no_campaigns"))


@app.command("show", help="help.campaign.show")
def show(slug: SlugArgument, db: DbOption = None, fmt: FormatOption = Format.table) -> None:
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


@app.command("close", help="help.campaign.close")
def close(
    slug: SlugArgument,
    purge_personal_data: Annotated[
        bool,
        typer.Option(
            "--purge-personal-data",
            help="help.campaign.close.purge_personal_data",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    from reactivate import registry

    closed, purged = registry.close(engine(db), slug, purge_personal_data=purge_personal_data)
    console().print(t("summary.closed" if closed else "summary.already_closed", slug=slug))
    if purge_personal_data:
        console().print(t("summary.purged", count=purged))

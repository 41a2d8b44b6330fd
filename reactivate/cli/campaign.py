"""`reactivate campaign add | list | show | close`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from reactivate.cli.options import DbOption, Format, FormatOption, engine
from reactivate.cli.output import console, emit, print_rows, table
from reactivate.messages import label, t

app = typer.Typer(help="help.campaign", no_args_is_help=True)

SlugArgument = Annotated[str, typer.Argument(help="help.opt.slug")]


@app.command("add", help="help.campaign.add")
def add(
    file: Annotated[Path, typer.Argument(help="help.campaign.add.file")],
    db: DbOption = None,
) -> None:
    from reactivate import registry

    campaign, created = registry.register(engine(db, create=True), file)
    key = "summary.campaign_added" if created else "summary.campaign_updated"
    console().print(t(key, slug=campaign.slug))


_LISTED = ("slug", "name", "start", "end", "status", "members")


@app.command("list", help="help.campaign.list")
def list_(db: DbOption = None, fmt: FormatOption = Format.table) -> None:
    from reactivate import registry

    rows = registry.overview(engine(db))
    headers = [t(f"label.{key}") for key in _LISTED]
    print_rows(fmt, rows, headers, _listed, empty=t("summary.no_campaigns"))


def _listed(row: dict[str, Any]) -> list[object]:
    return [
        *(row[key] for key in _LISTED[:4]),
        label("value.status", row["status"]),
        row["members"],
    ]


@app.command("show", help="help.campaign.show")
def show(slug: SlugArgument, db: DbOption = None, fmt: FormatOption = Format.table) -> None:
    from reactivate import registry

    detail = registry.describe(engine(db), slug)
    headers = [t("label.name"), t("label.value")]
    emit(fmt, detail, lambda: console().print(table(detail["slug"], headers, _flatten(detail))))


#: Settings whose values are labels, and the message prefix of their texts.
_LABELLED = {"stages": "value.stage", "dispositions": "value.disposition", "status": "value.status"}


def _flatten(detail: dict[str, object], prefix: str = "") -> list[list[object]]:
    """The campaign's settings, one a row, each named and shown in the user's words."""
    rows: list[list[object]] = []
    for key, value in detail.items():
        path = prefix + key
        if isinstance(value, dict):
            rows.extend(_flatten(value, f"{path}."))
            continue
        kind = _LABELLED.get(path)
        if isinstance(value, list):
            shown: object = t("list.separator").join(str(_shown(kind, v)) for v in value)
        else:
            shown = _shown(kind, value)
        rows.append([label("setting", path), shown])
    return rows


def _shown(kind: str | None, value: object) -> object:
    """A setting's value in the user's words: a label, yes or no, or the value itself."""
    if kind is not None:
        return label(kind, str(value))
    if isinstance(value, bool):
        return t("value.true" if value else "value.false")
    return value


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

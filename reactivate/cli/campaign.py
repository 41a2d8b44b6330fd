"""`reactivate campaign add | list | show | close`."""

from __future__ import annotations

from operator import itemgetter
from pathlib import Path
from typing import Annotated

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

    campaign, created = registry.register(engine(db), file)
    key = "summary.campaign_added" if created else "summary.campaign_updated"
    console().print(t(key, slug=campaign.slug))


_LISTED = ("slug", "name", "start", "end", "status", "members")


@app.command("list", help="help.campaign.list")
def list_(db: DbOption = None, fmt: FormatOption = Format.table) -> None:
    from reactivate import registry

    rows = registry.overview(engine(db))
    headers = [t(f"label.{key}") for key in _LISTED]
    cells = itemgetter(*_LISTED)
    print_rows(
        fmt,
        rows,
        headers,
        lambda row: [label("value.status", c) if i == 4 else c for i, c in enumerate(cells(row))],
        empty=t("summary.no_campaigns"),
    )


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
        values = value if isinstance(value, list) else [value]
        shown = [
            label(kind, str(v))
            if kind
            else t("value.true" if v else "value.false")
            if isinstance(v, bool)
            else v
            for v in values
        ]
        text = t("where.reasons_separator").join(str(v) for v in shown)
        rows.append([label("setting", path), text if isinstance(value, list) else shown[0]])
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

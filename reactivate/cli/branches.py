"""`reactivate branches alias | list`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from reactivate.cli.options import DbOption, Format, FormatOption, engine
from reactivate.cli.output import console, print_rows
from reactivate.messages import t

app = typer.Typer(help="help.branches", no_args_is_help=True)


@app.command("alias", help="help.branches.alias")
def alias(
    name: Annotated[str | None, typer.Argument(help="help.branches.alias.name")] = None,
    canonical: Annotated[str | None, typer.Argument(help="help.branches.alias.canonical")] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="help.branches.alias.file"),
    ] = None,
    db: DbOption = None,
) -> None:
    from reactivate.roster import add_alias, add_aliases_from_file

    used = engine(db)
    if file is not None:
        done = add_aliases_from_file(used, file)
    elif name and canonical:
        done = [(name, canonical, add_alias(used, name, canonical))]
    else:
        raise typer.BadParameter(t("error.alias_args"))
    for alias_name, branch, moved in done:
        console().print(t("summary.alias", alias=alias_name, canonical=branch, moved=moved))


@app.command("list", help="help.branches.list")
def list_(db: DbOption = None, fmt: FormatOption = Format.table) -> None:
    from reactivate.roster import branch_overview

    rows = branch_overview(engine(db))
    headers = [t(f"label.{key}") for key in ("branch", "branch_code", "advisors", "aliases")]
    print_rows(fmt, rows, headers, _cells)


def _cells(row: dict[str, Any]) -> list[object]:
    return [
        row["branch"],
        row["code"],
        row["active_advisors"],
        t("list.separator").join(row["aliases"]),
    ]

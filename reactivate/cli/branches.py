"""`reactivate branches alias | list`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from reactivate.cli.options import DbOption, Format, FormatOption, engine
from reactivate.cli.output import console, print_rows
from reactivate.messages import t

app = typer.Typer(help="Branch names and the other spellings exports use.", no_args_is_help=True)


@app.command("alias")
def alias(
    name: Annotated[str | None, typer.Argument(help="The spelling an export uses.")] = None,
    canonical: Annotated[
        str | None, typer.Argument(help="The roster's branch name it means.")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="A mapping file instead: columns 别名 (alias), 营业部 (branch)."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Say that another spelling of a branch means a roster branch; clients filed under it move.

    Example: reactivate branches alias "浦东南路营业部" "上海浦东南路营业部"
    """
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


@app.command("list")
def list_(db: DbOption = None, fmt: FormatOption = Format.table) -> None:
    """List branches with their code, active advisors and aliases.

    Example: reactivate branches list
    """
    from reactivate.roster import branch_overview

    rows = branch_overview(engine(db))
    headers = [t("label.branch"), "code", t("label.advisors"), "aliases"]
    print_rows(fmt, rows, headers, _cells)


def _cells(row: dict[str, Any]) -> list[object]:
    return [row["branch"], row["code"], row["active_advisors"], ", ".join(row["aliases"])]

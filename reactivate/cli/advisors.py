"""`reactivate advisors ...` and `reactivate branches ...`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reactivate.cli.common import DbOption, Format, FormatOption, console, engine, print_json, table
from reactivate.messages import t

app = typer.Typer(
    help="The advisor roster: who takes clients, in which branch, with what capacity.",
    no_args_is_help=True,
)
branches_app = typer.Typer(
    help="Branch names and the other spellings exports use.", no_args_is_help=True
)


@app.command("load")
def load(
    file: Annotated[
        Path,
        typer.Argument(help="Roster .xlsx or .csv: 工号, 姓名, 营业部, 企业微信账号, 容量, 状态."),
    ],
    sheet: Annotated[
        str | None, typer.Option(help="Sheet to read. Default: the first with data.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and count; write nothing.")
    ] = False,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Load or reload the advisor roster. Reloading updates advisors; nobody is deleted.

    Example: reactivate advisors load data/advisors.xlsx
    """
    from reactivate.roster import load_roster

    summary = load_roster(engine(db), file, sheet=sheet, dry_run=dry_run)
    counts = summary.counts()
    if fmt is Format.json:
        print_json(counts)
        return
    console().print(
        table(
            t("summary.roster", file=summary.file),
            [t(f"label.{k}") for k in counts],
            [list(counts.values())],
        )
    )
    if dry_run:
        console().print(t("summary.dry_run"))


@app.command("list")
def list_(db: DbOption = None, fmt: FormatOption = Format.table) -> None:
    """List advisors with branch, WeCom userid, capacity and status.

    Example: reactivate advisors list --format json
    """
    from reactivate.roster import advisor_overview

    rows = advisor_overview(engine(db))
    if fmt is Format.json:
        print_json(rows)
        return
    headers = list(rows[0]) if rows else ["code"]
    console().print(table(None, headers, [list(r.values()) for r in rows]))


@branches_app.command("alias")
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


@branches_app.command("list")
def branches_list(db: DbOption = None, fmt: FormatOption = Format.table) -> None:
    """List branches with their code, active advisors and aliases.

    Example: reactivate branches list
    """
    from reactivate.roster import branch_overview

    rows = branch_overview(engine(db))
    if fmt is Format.json:
        print_json(rows)
        return
    console().print(
        table(
            None,
            [t("label.branch"), "code", t("label.advisors"), "aliases"],
            [[r["branch"], r["code"], r["active_advisors"], ", ".join(r["aliases"])] for r in rows],
        )
    )

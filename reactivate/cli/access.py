"""`reactivate access init|grant|revoke|list`: roles on a shared PostgreSQL (ops only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from reactivate.cli.options import DbOption, Format, FormatOption, engine
from reactivate.cli.output import console, emit, print_rows
from reactivate.messages import t

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from reactivate.access import Grant

app = typer.Typer(
    help="help.access",
    no_args_is_help=True,
)


@app.command("init", help="help.access.init")
def init(
    prefix: Annotated[
        str,
        typer.Option(help="help.access.init.prefix"),
    ] = "reactivate",
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    from reactivate import access

    done = access.init(_engine(db), prefix)

    def view() -> None:
        console().print(
            t(
                "access.init_done",
                schema=done.schema,
                groups=", ".join(done.groups.values()),
                policies=done.policies,
            )
        )
        if done.created:
            console().print(t("access.init_created", names=", ".join(done.created)))

    emit(fmt, done.as_dict(), view)


@app.command("grant", help="help.access.grant")
def grant(
    user: Annotated[str, typer.Argument(help="help.access.grant.user")],
    role: Annotated[str, typer.Option("--role", help="help.access.grant.role")],
    branch: Annotated[
        list[str] | None,
        typer.Option("--branch", help="help.access.grant.branch"),
    ] = None,
    advisor: Annotated[
        str | None, typer.Option("--advisor", help="help.access.grant.advisor")
    ] = None,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    from reactivate import access

    done = access.grant(_engine(db), user, role, branches=branch or (), advisor=advisor)

    def view() -> None:
        console().print(t("access.granted", user=done.user, role=done.role, scope=_scope(done)))
        if done.created:
            console().print(t("access.granted_created", user=done.user))

    emit(fmt, done.as_dict(), view)


@app.command("revoke", help="help.access.revoke")
def revoke(
    user: Annotated[str, typer.Argument(help="help.access.revoke.user")],
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    from reactivate import access

    done = access.revoke(_engine(db), user)
    emit(
        fmt,
        done.as_dict(),
        lambda: console().print(t("access.revoked", user=done.user, role=done.role)),
    )


@app.command("list", help="help.access.list")
def list_(db: DbOption = None, fmt: FormatOption = Format.table) -> None:
    from reactivate import access

    rows = [g.as_dict() for g in access.listing(_engine(db))]
    headers = [t(f"label.{key}") for key in ("user", "role", "advisor", "branches", "who", "when")]
    print_rows(fmt, rows, headers, _cells, empty=t("access.none"))


def _cells(row: dict[str, Any]) -> list[object]:
    return [
        row["user"],
        row["role"],
        row["advisor"] or "",
        ", ".join(row["branches"]),
        row["granted_by"],
        row["granted_at"],
    ]


def _scope(done: Grant) -> str:
    if done.advisor:
        return t("access.scope_advisor", advisor=done.advisor)
    if done.branches:
        return t("access.scope_branches", branches=", ".join(done.branches))
    return ""


def _engine(db: str | None) -> Engine:
    """The engine, once the database is known to be PostgreSQL: roles need one."""
    from reactivate import access
    from reactivate.db.engine import resolve_url

    access.postgres_only(resolve_url(db))
    return engine(db)

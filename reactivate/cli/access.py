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
    help="Who may see and change what on a shared PostgreSQL, enforced by the database.",
    no_args_is_help=True,
)


@app.command("init")
def init(
    prefix: Annotated[
        str,
        typer.Option(
            help="Group roles are named PREFIX_ops, PREFIX_manager, PREFIX_advisor, PREFIX_analyst."
        ),
    ] = "reactivate",
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Create the group roles, their grants and the row-level security policies (once,
    and again after `db upgrade`). Run by the schema's owner with the right to create roles.

    Example: reactivate access init --db postgresql://dba@db.example/reactivate
    """
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


@app.command("grant")
def grant(
    user: Annotated[str, typer.Argument(help="The person's database login (made if missing).")],
    role: Annotated[str, typer.Option("--role", help="ops, manager, advisor or analyst.")],
    branch: Annotated[
        list[str] | None,
        typer.Option("--branch", help="A manager's branch, by code or name (repeat for more)."),
    ] = None,
    advisor: Annotated[
        str | None, typer.Option("--advisor", help="An advisor's code in the roster.")
    ] = None,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Give a database login a role, replacing the one it had (ops only).

    Example: reactivate access grant wang_li --role manager --branch SH01
    """
    from reactivate import access

    done = access.grant(_engine(db), user, role, branches=branch or (), advisor=advisor)

    def view() -> None:
        console().print(t("access.granted", user=done.user, role=done.role, scope=_scope(done)))
        if done.created:
            console().print(t("access.granted_created", user=done.user))

    emit(fmt, done.as_dict(), view)


@app.command("revoke")
def revoke(
    user: Annotated[str, typer.Argument(help="The database login whose role is taken.")],
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Take a login's role (ops only); the login stays, the DBA's to drop.

    Example: reactivate access revoke wang_li
    """
    from reactivate import access

    done = access.revoke(_engine(db), user)
    emit(
        fmt,
        done.as_dict(),
        lambda: console().print(t("access.revoked", user=done.user, role=done.role)),
    )


@app.command("list")
def list_(db: DbOption = None, fmt: FormatOption = Format.table) -> None:
    """Every login with a role: its advisor code or branches, who granted it, when (ops only).

    Example: reactivate access list --format json
    """
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

"""What commands take: the options several share, and the engine and WeCom client they open."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from reactivate.db.reads import SQLiteEngine
    from reactivate.wecom.client import WeComClient

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="REACTIVATE_DB",
        help="help.opt.db",
        show_envvar=True,
    ),
]
CampaignOption = Annotated[str, typer.Option("--campaign", "-c", help="help.opt.campaign")]
SheetOption = Annotated[str | None, typer.Option(help="help.opt.sheet")]
OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="help.opt.out",
    ),
]
NoWorkbooksOption = Annotated[bool, typer.Option("--no-workbooks", help="help.opt.no_workbooks")]


class Format(StrEnum):
    table = "table"
    json = "json"


FormatOption = Annotated[Format, typer.Option("--format", "-f", help="help.opt.format")]


def engine(db: str | None, *, create: bool = False) -> Engine:
    """The engine for this invocation (imports SQLAlchemy only when a command needs it).

    Only the commands that start a database (`init`, `campaign add`, `demo`) `create` one:
    any other refuses a path with no database, so a mistyped `--db` says so instead of
    leaving an empty database behind."""
    from reactivate.db import interrupts
    from reactivate.db.engine import open_engine

    return interrupts.watch(open_engine(db, create=create))


def reader(db: str | None) -> Engine | SQLiteEngine:
    """The engine of a command that only reads: a current SQLite file without SQLAlchemy
    (`reactivate.db.engine.open_reader`); a path with no database is refused."""
    from reactivate.db import interrupts
    from reactivate.db.engine import open_reader
    from reactivate.db.reads import SQLiteEngine

    opened = open_reader(db)
    return opened if isinstance(opened, SQLiteEngine) else interrupts.watch(opened)


@contextmanager
def wecom_client(eng: Engine) -> Iterator[WeComClient]:
    """A WeCom client from the `REACTIVATE_WECOM_*` settings (ConfigError when incomplete),
    its token cached in the database. The app and its token are ops' alone: another
    role is refused first, before the settings are looked at."""
    from reactivate import access
    from reactivate.wecom.client import WeComClient, WeComSettings
    from reactivate.wecom.tokens import DatabaseTokenStore

    access.require(eng, "access.action.wecom")

    with WeComClient(WeComSettings.from_env(), DatabaseTokenStore(eng)) as client:
        yield client

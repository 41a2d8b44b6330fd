"""Engine from `--db` / `REACTIVATE_DB`, built per invocation; schema created on first use."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, select
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry, NullPool
from sqlmodel import Session, SQLModel

from reactivate.db import models
from reactivate.db.models import CLIENT_STAGES, META
from reactivate.errors import DatabaseError
from reactivate.messages import t

DEFAULT_DB = "reactivate.db"
ENV_DB = "REACTIVATE_DB"


def resolve_url(db: str | None) -> str:
    """A SQLAlchemy URL from `--db` (path or URL), else `REACTIVATE_DB`, else ./reactivate.db."""
    target = db or os.environ.get(ENV_DB) or DEFAULT_DB
    if "://" in target:
        if target.startswith("postgresql://") or target.startswith("postgres://"):
            # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2
            target = "postgresql+psycopg://" + target.split("://", 1)[1]
        return target
    return f"sqlite:///{Path(target).expanduser()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Python's sqlite3 opens transactions lazily and lets SELECTs run outside them;
    # SQLAlchemy then issues BEGIN itself, so writes are never half-applied.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at each WAL checkpoint, safe with WAL
    cursor.execute("PRAGMA busy_timeout=60000")  # concurrent uploads wait instead of failing
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # BEGIN IMMEDIATE takes the write lock up front: two writers queue instead of
    # deadlocking on a read-to-write upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def open_engine(db: str | None = None, *, create: bool = True) -> Engine:
    """An engine for `db`, with the schema in place (created when `create` and missing)."""
    url = resolve_url(db)
    try:
        # No pool: a command is short-lived, and a connection closed on release never
        # outlives the command (nor leaks in tests that run many commands in one process).
        engine = create_engine(url, poolclass=NullPool)
    except (ArgumentError, ImportError) as exc:
        raise DatabaseError(t("error.db_url", url=url, problem=exc)) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    try:
        ensure_schema(engine, create=create)
    except OperationalError as exc:
        raise DatabaseError(t("error.db_url", url=url, problem=exc.orig)) from exc
    return engine


def ensure_schema(engine: Engine, *, create: bool = True) -> int:
    """Create the tables when missing; refuse a database newer than this code."""
    if not inspect(engine).has_table("meta"):
        if not create:
            return 0
        SQLModel.metadata.create_all(engine)
        with Session(engine) as session:
            session.merge(models.Meta(key="schema_version", value=str(models.SCHEMA_VERSION)))
            session.commit()
        return models.SCHEMA_VERSION
    with Session(engine) as session:
        row = session.exec(
            select(models.Meta.value).where(models.Meta.key == "schema_version")  # type: ignore[call-overload]
        ).first()
    found = int(row[0]) if row else 0
    if found > models.SCHEMA_VERSION:
        raise DatabaseError(
            t("error.db_version", url=engine.url, found=found, known=models.SCHEMA_VERSION)
        )
    # Upgrades from older versions go here, one step per version.
    SQLModel.metadata.create_all(engine)  # new tables of this version; existing ones untouched
    if found < 2:
        _upgrade_to_2(engine)
    return found


#: Version 2: the funnel columns of `client_stage` (see `reactivate.db.stages.funnel_columns`).
_FUNNEL_COLUMNS = {
    "stages_reached": "INTEGER NOT NULL DEFAULT 0",
    "skipped_stage": "BOOLEAN NOT NULL DEFAULT FALSE",
    "called_days": "FLOAT",
    "reached_days": "FLOAT",
    "wecom_days": "FLOAT",
    "pushed_days": "FLOAT",
    "converted_days": "FLOAT",
}


def _upgrade_to_2(engine: Engine) -> None:
    """Add the funnel columns and their indexes, then fill them by a full refresh."""
    from reactivate.db import stages

    table = CLIENT_STAGES
    with engine.begin() as conn:
        present = {column["name"] for column in inspect(conn).get_columns("client_stage")}
        for name, ddl in _FUNNEL_COLUMNS.items():
            if name not in present:
                conn.exec_driver_sql(f"ALTER TABLE client_stage ADD COLUMN {name} {ddl}")
        for index in table.indexes:
            index.create(conn, checkfirst=True)
        for (campaign_id,) in conn.exec_driver_sql("SELECT id FROM campaign").all():
            stages.refresh(conn, campaign_id)
        conn.execute(META.update().where(META.c.key == "schema_version").values(value="2"))

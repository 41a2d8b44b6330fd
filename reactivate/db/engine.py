"""Engine from `--db` / `REACTIVATE_DB`, built per invocation; schema created or upgraded on first use."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reactivate.db.migrations import HEAD
from reactivate.errors import DatabaseError
from reactivate.messages import t

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.pool import ConnectionPoolEntry

    from reactivate.db.reads import SQLiteEngine

DEFAULT_DB = "reactivate.db"
ENV_DB = "REACTIVATE_DB"

log = logging.getLogger(__name__)


def resolve_url(db: str | None) -> str:
    """A SQLAlchemy URL from `--db` (path or URL), else `REACTIVATE_DB`, else ./reactivate.db."""
    target = db or os.environ.get(ENV_DB) or DEFAULT_DB
    if "://" in target:
        if target.startswith("postgresql://") or target.startswith("postgres://"):
            # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2
            target = "postgresql+psycopg://" + target.split("://", 1)[1]
        return target
    return f"sqlite:///{Path(target).expanduser()}"


#: Database files already warned about in this process: a command opening one several
#: times says it once.
_WARNED: set[Path] = set()


def _private_file(path: Path) -> None:
    """Create a new SQLite file readable by its owner alone (it holds every name and
    mobile, the workbook secret and the WeCom token); SQLite gives its -wal and -shm the
    file's mode. An existing file other users can read is warned about, once."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return
    except FileExistsError:
        pass
    except OSError:
        return  # SQLite says what is wrong with the path when it opens it
    if path in _WARNED:
        return
    readable = [
        str(file)
        for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
        if file.exists() and stat.S_IMODE(file.stat().st_mode) & 0o044
    ]
    if readable:
        _WARNED.add(path)
        log.warning(t("warning.db_readable", files=" ".join(readable)))


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Python's sqlite3 opens transactions lazily and lets SELECTs run outside them;
    # SQLAlchemy then issues BEGIN itself, so writes are never half-applied.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=60000")  # concurrent uploads wait instead of failing
    cursor.execute("PRAGMA foreign_keys=ON")
    _switch_to_wal(cursor)
    # FULL: a commit reported done survives a power cut, not only a crash of the process
    # (NORMAL's promise); about 2 ms a commit (benchmarks/bench_durability.py)
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """`PRAGMA journal_mode=WAL`, tried again while another process's first open of the same
    new file holds it: SQLite answers that switch "database is locked" at once, without
    the busy handler's wait (two first opens at once: tests/test_migrations.py)."""
    import sqlite3
    import time

    deadline = time.monotonic() + 60
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _not_an_interrupt(record: logging.LogRecord) -> bool:
    """False for the pool's log of an interrupt that came while it closed a connection: the
    pool logs it, traceback and all, and raises it again, and the CLI reports it once."""
    return not (record.exc_info and isinstance(record.exc_info[1], KeyboardInterrupt))


def _no_notices(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
    """PostgreSQL: the session asks the server for warnings and errors only, no NOTICE
    (`DROP TABLE IF EXISTS`'s "does not exist, skipping"). psycopg hands each notice to
    Python from inside libpq's call; an interrupt that lands there is printed as an
    ignored exception, traceback and all, and lost (tests/test_kills.py saw it)."""
    params["options"] = " ".join(filter(None, [params.get("options"), _WARNINGS_ONLY]))


_WARNINGS_ONLY = "-c client_min_messages=warning"


def _sqlite_begin(conn: Any) -> None:
    # BEGIN IMMEDIATE takes the write lock up front: two writers queue instead of
    # deadlocking on a read-to-write upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def open_engine(db: str | None = None, *, create: bool = True, upgrade: bool = True) -> Engine:
    """An engine for `db`, with the schema in place (created when `create` and missing).

    Without `create`, a database that is not there is refused (`DatabaseError`): a SQLite
    file that does not exist (nothing is created at the path) or, when upgrading, a
    database without our schema. `upgrade` False leaves the schema as found, for
    `reactivate.db.migrate.upgrade` to bring up to date and say what it did."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.exc import ArgumentError, DBAPIError
    from sqlalchemy.pool import NullPool

    url = resolve_url(db)
    try:
        # No pool: a command is short-lived, and a connection closed on release never
        # outlives the command (nor leaks in tests that run many commands in one process).
        engine = create_engine(url, poolclass=NullPool)
    except (ArgumentError, ImportError) as exc:
        raise DatabaseError(t("error.db_url", url=url, problem=exc)) from exc
    pool = type(engine.pool)  # SQLAlchemy logs as the pool's class
    logging.getLogger(f"{pool.__module__}.{pool.__name__}").addFilter(_not_an_interrupt)
    if engine.dialect.name == "sqlite":
        if engine.url.database not in (None, "", ":memory:"):
            path = Path(engine.url.database)
            if not create and not path.exists():
                raise DatabaseError(t("error.no_database", where=path))
            _private_file(path)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        event.listen(engine, "do_connect", _no_notices)
    if not upgrade:
        return engine
    try:
        ensure_schema(engine, create=create)
    except DBAPIError as exc:
        raise DatabaseError(t("error.db_url", url=url, problem=exc.orig)) from exc
    return engine


def open_reader(db: str | None = None) -> Engine | SQLiteEngine:
    """An engine for a command that only reads: a SQLite file of the current schema is
    read through Python's sqlite3 (`reactivate.db.reads`), without importing SQLAlchemy;
    anything else is `open_engine(db, create=False)`, which upgrades an older schema."""
    url = resolve_url(db)
    if url.startswith("sqlite:///") and "?" not in url and url != "sqlite:///:memory:":
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            raise DatabaseError(t("error.no_database", where=path))
        from reactivate.db import reads

        _private_file(path)
        if reads.revision(path) == HEAD:
            return reads.SQLiteEngine(path)
    return open_engine(db, create=False)


def revision(engine: Engine) -> str | None:
    """The schema revision the database records, by one query and without Alembic; None
    when it records none (an empty database, or one from before revisions)."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT version_num FROM alembic_version")
        row = cursor.fetchone()
    except engine.dialect.loaded_dbapi.Error:
        return None
    finally:
        raw.close()
    return str(row[0]) if row else None


def ensure_schema(engine: Engine, *, create: bool = True) -> None:
    """Nothing but a look at the revision when the database is current; else upgrade it
    (`reactivate.db.migrate`), as every release has on first use of an older database.
    An empty database is given the schema when `create`, else refused."""
    if revision(engine) == HEAD:
        return
    from reactivate.db import migrate

    if migrate.upgrade(engine, create=create).after is None:
        where = engine.url.database if engine.dialect.name == "sqlite" else engine.url
        raise DatabaseError(t("error.no_database", where=where))

"""Reading a SQLite database without SQLAlchemy, where it brings nothing.

SQLAlchemy's import is about half of what a read command costs before it works (docs/
performance.md). A report on SQLite runs text SQL with named parameters and reads plain
rows: Python's sqlite3 does that itself. So a read command opens a current SQLite
database as a `SQLiteEngine` (`db.engine.open_reader`), whose connections take the same
text SQL as SQLAlchemy's (`execute`, `exec_driver_sql`) and give rows read by name as
SQLAlchemy's are (`row.k`, `row._mapping`, tuples). Code that serves both kinds runs its
SQL through `execute` here, and modules the read path imports get SQLAlchemy's `text`
from here, imported on first use.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from reactivate.db.dialect import stored_time

if TYPE_CHECKING:
    from sqlalchemy import Connection, TextClause


def text(sql: str) -> TextClause:
    """SQLAlchemy's `text(sql)`, imported when first called."""
    from sqlalchemy import text as sqlalchemy_text

    return sqlalchemy_text(sql)


def execute(conn: Connection | SQLiteConnection, sql: str, params: Mapping[str, Any]) -> Any:
    """Text `sql` with the `:name` values in `params` on either kind of connection; aware
    datetimes bound as times are stored."""
    if isinstance(conn, SQLiteConnection):
        return conn.execute(sql, params)
    statement = text(sql)
    times = [k for k, v in params.items() if isinstance(v, dt.datetime)]
    if times:  # the tables' module imported only then (a command that needs none spares it)
        from sqlalchemy import bindparam

        from reactivate.db.models import UTCDateTime

        statement = statement.bindparams(*(bindparam(k, type_=UTCDateTime()) for k in times))
    return conn.execute(statement, dict(params))


def tuples(conn: Connection | SQLiteConnection, sql: str, params: Mapping[str, Any]) -> list[Any]:
    """`execute`'s rows as the driver's plain tuples: for a few hundred thousand rows read
    by position, building and freeing a named row each costs more than the query's own
    work on them (through SQLAlchemy, fetched from the driver's cursor: its rows over
    them cost twice the fetch, 0.15 s more for 250,000 rows of five values)."""
    if isinstance(conn, SQLiteConnection):
        return conn.tuples(sql, params)
    with closing(execute(conn, sql, params)) as result:  # closed on an interrupt too
        rows: list[Any] = result.cursor.fetchall()
    return rows


class Row(tuple[Any, ...]):
    """A row read by position, by name (`row.k`) or as a mapping (`row._mapping`), as
    SQLAlchemy's rows are. Each result's rows share a subclass holding the names."""

    __slots__ = ()
    _names: ClassVar[dict[str, int]] = {}

    def __getattr__(self, name: str) -> Any:
        try:
            return self[self._names[name]]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def _mapping(self) -> dict[str, Any]:
        return {name: self[i] for name, i in self._names.items()}


class Rows:
    """A statement's rows, read at once (a report's results are small or wanted whole)."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        if cursor.description is None:  # not a query
            self._rows: list[Any] = []
            self.rowcount = cursor.rowcount
            return
        names = {column[0]: i for i, column in enumerate(cursor.description)}
        row = type("Row", (Row,), {"__slots__": (), "_names": names})
        self._rows = [row(values) for values in cursor.fetchall()]
        self.rowcount = len(self._rows)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        return list(self._rows)

    fetchall = all

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        if len(self._rows) != 1:
            raise LookupError(f"{len(self._rows)} rows where one was expected")
        return self._rows[0]

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalars(self) -> Rows:
        scalars = Rows.__new__(Rows)
        scalars._rows = [row[0] for row in self._rows]
        scalars.rowcount = self.rowcount
        return scalars


class _Dialect:
    name = "sqlite"


class _URL:
    def __init__(self, database: str) -> None:
        self.database = database


class SQLiteConnection:
    """One read transaction on a SQLite file: every query sees the same snapshot, and no
    write lock is taken (a report does not wait for an upload in progress)."""

    dialect = _Dialect()

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout=60000")  # as `db.engine`'s connections wait
        self._db.execute("BEGIN")

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> Rows:
        """Text `sql` with `:name` parameters; aware datetimes bound as stored."""
        return Rows(self._db.execute(sql, self._bound(params)))

    def tuples(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """`execute`'s rows as the driver's tuples, read at once."""
        return self._db.execute(sql, self._bound(params)).fetchall()

    def cursor(self, sql: str, params: Mapping[str, Any] | None = None) -> sqlite3.Cursor:
        """The driver's cursor over `execute`'s rows, to fetch as the caller needs."""
        return self._db.execute(sql, self._bound(params))

    def _bound(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        return {
            k: stored_time(self)(v) if isinstance(v, dt.datetime) else v
            for k, v in (params or {}).items()
        }

    def exec_driver_sql(self, sql: str, params: Any = ()) -> Rows:
        return Rows(self._db.execute(sql, params))

    def rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def close(self) -> None:
        self.rollback()
        self._db.close()

    def __enter__(self) -> SQLiteConnection:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class SQLiteEngine:
    """What a read command asks of an engine, on a SQLite file of the current schema."""

    dialect = _Dialect()

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = _URL(str(path))

    def connect(self) -> SQLiteConnection:
        return SQLiteConnection(self.path)

    def dispose(self) -> None:
        """Nothing to release: each connection closes with its block."""


def revision(path: Path) -> str | None:
    """The schema revision the SQLite file at `path` records (as `db.engine.revision`)."""
    db = sqlite3.connect(path)
    try:
        row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    finally:
        db.close()
    return str(row[0]) if row else None

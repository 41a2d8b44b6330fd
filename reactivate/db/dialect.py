"""What differs between SQLite and PostgreSQL in the raw SQL we write: times and comparisons.

PostgreSQL stores times as TIMESTAMPTZ; SQLite stores them as UTC text in the form
`YYYY-MM-DD HH:MM:SS.ffffff` (`models.UTCDateTime`). Raw SQL that compares or writes
times must bind them in the stored form, so every use case asks here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from reactivate.clock import utcnow

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from reactivate.db.reads import SQLiteConnection


def is_postgresql(conn: Connection | SQLiteConnection) -> bool:
    """Whether `conn` talks to PostgreSQL (else SQLite, the only other engine we support)."""
    return conn.dialect.name == "postgresql"


def sorts_by_code_point(conn: Connection | SQLiteConnection) -> bool:
    """Whether text columns of the default collation sort as Python compares strings (by
    code point): SQLite's BINARY collation, PostgreSQL's C and POSIX, and libc's C.UTF-8.
    Reading in such an order needs no `COLLATE "C"` and so can follow a primary key's index
    instead of sorting (8.2M members: benchmarks/README.md, bench_scale.py assign_pg)."""
    if not is_postgresql(conn):
        return True
    # datlocprovider (PostgreSQL 15+; 'i' is ICU, whose collations sort otherwise) read
    # through to_jsonb, which leaves it NULL on older servers (libc only).
    collate, provider = conn.exec_driver_sql(
        "SELECT datcollate, to_jsonb(d) ->> 'datlocprovider' FROM pg_database d"
        " WHERE datname = current_database()"
    ).one()
    code_point = {"c", "posix", "c.utf8", "c.utf-8"}
    return provider in (None, "c") and str(collate).lower() in code_point


def streamed_rows(
    conn: Connection | SQLiteConnection,
    sql: str,
    batch_rows: int,
    params: Mapping[str, Any] | None = None,
) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of `sql` (written with `:name` parameters, given in `params`; aware
    datetimes bound as times are stored) as the driver's plain tuples, `batch_rows` at a
    time, inside `conn`'s transaction (so they see what it wrote, its temporary tables
    too); on PostgreSQL through a server-side cursor, so a big read is never all in memory
    (a client-side cursor holds the whole result in libpq: 1M members' lookup columns, 250
    MB). Millions of rows cost more as SQLAlchemy rows than reading them
    (benchmarks/README.md: the tallies, assign). Also on a read command's SQLite
    connection (`reads.SQLiteConnection`)."""
    from reactivate.db.reads import SQLiteConnection

    if isinstance(conn, SQLiteConnection):
        reader = conn.cursor(sql, params)
        while rows := reader.fetchmany(batch_rows):
            yield rows
        return
    driver: Any = conn.connection.driver_connection
    postgresql = is_postgresql(conn)
    if params:
        bound = stored_time(conn)
        params = {k: bound(v) if isinstance(v, dt.datetime) else v for k, v in params.items()}
    if postgresql and params:
        sql = re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql)  # psycopg's named-parameter style
    cursor = driver.cursor("reactivate_streamed") if postgresql else driver.cursor()
    try:
        if params:
            cursor.execute(sql, params)
        else:  # no parameters: a % in the SQL is no placeholder
            cursor.execute(sql)
        while rows := cursor.fetchmany(batch_rows):
            yield rows
    except BaseException:
        if postgresql:
            invalidate_if_busy(conn)
        raise
    finally:
        # an interrupt may have closed the connection before this generator is collected,
        # or invalidated it (above): psycopg then closes the cursor without a word to the
        # server (sqlite3 would raise); never left for the collector to warn about
        if (postgresql and driver.closed) or not (conn.closed or conn.invalidated):
            cursor.close()


def invalidate_if_busy(conn: Connection) -> None:
    """After an exception (an interrupt above all) on PostgreSQL: when it left a command
    half-spoken (a COPY, a server-side cursor's FETCH being sent), the connection is still
    busy, and its ROLLBACK would fail with "another command is already in progress" and a
    traceback that buries the cause. Such a connection is invalidated: closed with no
    ROLLBACK sent, the server rolls the transaction back. A connection already closed (a
    streamed read collected after its `with` ended) has nothing left to invalidate."""
    from psycopg import pq

    if conn.closed or conn.invalidated:
        return
    pgconn = conn.connection.driver_connection.pgconn  # type: ignore[union-attr]
    if pgconn.transaction_status == pq.TransactionStatus.ACTIVE:
        conn.invalidate()


def time_type(conn: Connection) -> str:
    """The column type a staged time takes, as stored times are kept."""
    return "TIMESTAMPTZ" if is_postgresql(conn) else "TEXT"


def _utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def stored_time(conn: Connection | SQLiteConnection) -> Callable[[dt.datetime], Any]:
    """A converter of aware times to the value a raw-SQL parameter compares with stored times."""
    if is_postgresql(conn):
        return lambda moment: moment
    return _utc_text


def db_time(conn: Connection, moment: dt.datetime) -> Any:
    """`moment` (aware) as raw SQL compares it with stored times."""
    return stored_time(conn)(moment)


def now_literal(conn: Connection) -> str:
    """The current UTC time as a SQL literal in the form the dialect stores."""
    return time_literal(conn, utcnow())


def time_literal(conn: Connection, moment: dt.datetime) -> str:
    """An aware time as a SQL literal in the form the dialect stores."""
    if is_postgresql(conn):
        return f"TIMESTAMPTZ '{moment.isoformat()}'"
    return f"'{_utc_text(moment)}'"


def is_distinct(conn: Connection, left: str, right: str) -> str:
    """`left` differs from `right`, NULLs compared as values."""
    operator = "IS DISTINCT FROM" if is_postgresql(conn) else "IS NOT"
    return f"({left} {operator} {right})"


def zero_padded(conn: Connection, text: str, width: str, most: int) -> str:
    """SQL: `text`, at most `most` characters, left-padded with zeros to `width` (at
    least its length)."""
    if is_postgresql(conn):
        return f"lpad({text}, {width}, '0')"
    return f"substr('{'0' * most}' || {text}, -{width})"


#: The sort and hash memory of each step of a PostgreSQL report's statements (the server's
#: default, 4 MB, spilled a week's window at 10M clients to disk in every sort; the
#: largest of those sorts wrote 37 MB).
BIG_WORK_MEM = "64MB"


#: How much of a SQLite file a report maps into memory (SQLite's own ceiling is 2 GB).
MMAP_BYTES = 2_000_000_000


def map_sqlite_file(conn: Connection | SQLiteConnection) -> None:
    """SQLite: `conn` reads the file through memory mapping (`MMAP_BYTES`) from now on,
    rather than by a read() call per page. Pages read count towards the process's
    resident memory: for reads of scattered rows, not of a whole big campaign."""
    if not is_postgresql(conn):
        conn.exec_driver_sql(f"PRAGMA mmap_size = {MMAP_BYTES}")


def tune_big_reads(conn: Connection | SQLiteConnection) -> None:
    """For the rest of `conn`'s transaction on PostgreSQL: no JIT compilation (over the
    events of a 10M campaign it spent 4.1 s compiling one statement: inlining and
    optimizing code for a scan that reads from disk), and `BIG_WORK_MEM` per sort or hash.
    SQLite: the file read through memory mapping (`MMAP_BYTES`) rather than a read() call
    per page: a week's window looks up a quarter of a million rows scattered over a 1M
    campaign's file, and its system time fell from about 0.35 s to 0.07 s."""
    if is_postgresql(conn):
        conn.exec_driver_sql("SET LOCAL jit = off")
        conn.exec_driver_sql(f"SET LOCAL work_mem = '{BIG_WORK_MEM}'")
    else:
        map_sqlite_file(conn)


@contextlib.contextmanager
def work_mem(conn: Connection, size: str) -> Iterator[None]:
    """On PostgreSQL, `size` (e.g. '256MB') of memory per sort or hash for the statements
    run inside, then the setting as it was (within `conn`'s transaction either way).
    SQLite: nothing."""
    with settings(conn, {"work_mem": size}):
        yield


@contextlib.contextmanager
def settings(conn: Connection, values: Mapping[str, str]) -> Iterator[None]:
    """On PostgreSQL, the settings `values` for the statements run inside, then each as it
    was (within `conn`'s transaction either way). SQLite: nothing."""
    if not is_postgresql(conn):
        yield
        return
    before = {
        name: conn.exec_driver_sql(f"SELECT current_setting('{name}')").scalar() for name in values
    }
    for name, value in values.items():
        conn.exec_driver_sql(f"SELECT set_config('{name}', '{value}', true)")
    yield
    for name, was in before.items():
        conn.exec_driver_sql(f"SELECT set_config('{name}', '{was}', true)")

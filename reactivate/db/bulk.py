"""Set-based writes: stage many rows in a temporary table fast, upsert small batches.

Bulk work never goes through ORM objects (docs/performance.md: one object per row costs
20x a bare executemany at 1M rows). Rows are staged with the driver's fastest path (sqlite3
executemany, PostgreSQL COPY; a polars frame into SQLite by ADBC), then moved with
INSERT ... SELECT in the same transaction.
"""

from __future__ import annotations

import contextlib
import io
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reactivate.db import dialect, pgcopy, scratch

if TYPE_CHECKING:
    import polars as pl
    from sqlalchemy import Connection, Engine, Table

#: rows per executemany call: bounds memory while keeping per-call overhead negligible
CHUNK = 20_000


def stage(
    conn: Connection, name: str, columns: Mapping[str, str], rows: Iterable[Sequence[Any]]
) -> int:
    """Create temporary table `name` with `columns` (name -> SQL type) and fill it with `rows`.

    Returns the number of rows staged. The table lives until the connection closes.
    """
    create(conn, name, columns)
    return append(conn, name, list(columns), rows)


def create(conn: Connection, name: str, columns: Mapping[str, str]) -> None:
    """Create (or empty) temporary table `name` with `columns` (name -> SQL type)."""
    column_sql = ", ".join(f"{col} {sql_type}" for col, sql_type in columns.items())
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ({column_sql})")


def append(
    conn: Connection, name: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Add `rows` (values in `columns` order) to table `name`; returns how many."""
    if conn.dialect.name == "postgresql":
        return _copy_postgresql(conn, name, list(columns), rows)
    placeholders = ", ".join("?" for _ in columns)
    statement = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({placeholders})"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    count = 0
    for chunk in _chunks(rows, CHUNK):
        cursor.executemany(statement, chunk)
        count += len(chunk)
    cursor.close()
    return count


#: Frames of at least this many rows are staged into SQLite through ADBC.
FRAME_BY_ADBC = 50_000


def append_frame(conn: Connection, name: str, frame: pl.DataFrame) -> int:
    """Add the rows of `frame` (its columns named as table `name`'s) to table `name`,
    outside any transaction of `conn`'s (SQLite attaches a file, which a transaction
    forbids); returns how many.

    SQLite: ADBC writes the frame into a scratch file from Arrow (see `begin_with_frame`),
    which is attached and copied from in one statement; sqlite3's executemany when that
    cannot be written. PostgreSQL: COPY.
    """
    scratch.sweep()
    columns = list(frame.columns)
    # Opening ADBC's driver costs more than it saves on small frames (measured at 11,611
    # rows: 15 ms against executemany's 13 ms; at 2.3M rows it saves 0.8 s). The
    # threshold between is a round figure, not a measured crossing point.
    if conn.dialect.name == "sqlite" and frame.height >= FRAME_BY_ADBC:
        with scratch.folder() as folder:
            staged = folder / "stage.db"
            if _write_scratch(staged, name, frame):
                driver = conn.connection.driver_connection
                assert driver is not None
                driver.execute(f"ATTACH DATABASE ? AS {_SCRATCH_SCHEMA}", (str(staged),))
                try:
                    listed = ", ".join(columns)
                    with conn.begin():
                        conn.exec_driver_sql(
                            f"INSERT INTO temp.{name} ({listed})"
                            f" SELECT {listed} FROM {_SCRATCH_SCHEMA}.{name}"
                        )
                finally:
                    driver.execute(f"DETACH DATABASE {_SCRATCH_SCHEMA}")
                return frame.height
    with conn.begin():
        if conn.dialect.name == "postgresql":
            return copy_frame(conn, name, frame)
        # rows zipped from whole columns: polars' own row iterator is several times slower
        rows = zip(*(frame[column].to_list() for column in columns), strict=True)
        return append(conn, name, columns, rows)


def _copy_postgresql(
    conn: Connection, name: str, columns: list[str], rows: Iterable[Sequence[Any]]
) -> int:
    count = 0
    with _copy(conn, f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


@contextlib.contextmanager
def _copy(conn: Connection, statement: str) -> Iterator[Any]:
    """psycopg's COPY on `conn`'s driver connection; one an exception leaves half-spoken
    leaves the connection invalidated (`dialect.invalidate_if_busy`)."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(statement) as copy:
            yield copy
    except BaseException:
        dialect.invalidate_if_busy(conn)
        raise
    cursor.close()


def _chunks(rows: Iterable[Sequence[Any]], size: int) -> Iterable[list[Sequence[Any]]]:
    if isinstance(rows, list) and len(rows) <= size:
        yield rows  # already one chunk: no copy
        return
    it = iter(rows)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    update: Sequence[str] | None = None,
) -> None:
    """INSERT rows; on a key conflict update `update` columns (default: all but the keys)."""
    if not rows:
        return
    # the dialect in use only: PostgreSQL's module costs a SQLite command 30 ms to import
    statement: Any
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        statement = postgresql.insert(table)
    else:
        from sqlalchemy.dialects import sqlite

        statement = sqlite.insert(table)
    columns = update if update is not None else [c for c in rows[0] if c not in keys]
    if columns:
        statement = statement.on_conflict_do_update(
            index_elements=list(keys), set_={c: statement.excluded[c] for c in columns}
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(keys))
    for start in range(0, len(rows), CHUNK):
        conn.execute(statement, list(rows[start : start + CHUNK]))


#: Rows from which a PostgreSQL bulk insert has its foreign keys checked once, by one join
#: each, rather than by a trigger per row (`foreign_keys_checked_once`).
FOREIGN_KEYS_ONCE_FROM = 100_000


@contextlib.contextmanager
def foreign_keys_checked_once(conn: Connection, tables: Sequence[str], rows: int) -> Iterator[None]:
    """Inside the caller's transaction: on PostgreSQL, when about `rows` (at least
    FOREIGN_KEYS_ONCE_FROM) rows are about to go into `tables`, their foreign keys are
    dropped and added back afterwards, which checks every row by one join per key.

    PostgreSQL checks a foreign key by a trigger per inserted row: 824,572 new members
    took 39.6 s with member's four keys, 10.5 s without them, and adding the four back
    2.9 s (benchmarks/README.md). The price: the tables are locked (ACCESS EXCLUSIVE)
    until the transaction ends, so another campaign's writers and readers of them wait
    for this one, as they would for its rows anyway. A row that breaks a key fails the
    ALTER, and the transaction with it, as the trigger would have. SQLite checks keys
    by an index probe per row, which costs little (docs/performance.md): untouched. Only
    the tables' owner may drop a key (ops granted their rows by `access init` may not):
    for anyone else the keys stay and check row by row.
    """
    if not _bulk_on_postgresql(conn, tables, rows):
        yield
        return
    keys = conn.exec_driver_sql(
        """SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
           FROM pg_constraint c
           WHERE c.contype = 'f'
             AND c.conrelid IN (SELECT to_regclass(t) FROM unnest(%(tables)s::text[]) t)
           ORDER BY 1, 2""",
        {"tables": list(tables)},
    ).all()
    for table, name, _ in keys:
        conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    yield
    for table, name, definition in keys:
        conn.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


@contextlib.contextmanager
def foreign_keys_known_to_hold(
    conn: Connection, tables: Sequence[str], rows: int, *, few_rows_too: bool = False
) -> Iterator[None]:
    """Inside the caller's transaction, for a bulk insert (as `foreign_keys_checked_once`)
    whose caller knows that every row it writes into `tables` refers to rows that exist
    and that no other transaction can remove before the commit: rows this transaction
    wrote, or rows it holds locked. On PostgreSQL the keys are then not checked at all:
    the statements inside run with `session_replication_role = replica`, under which the
    keys' per-row triggers do not fire (as for a logical replication subscriber, whose
    rows were checked where they came from), and the keys stay as they are, validated,
    checking every later write.

    A load's members and summary rows name the clients it has just compared with `client`
    or added to it, under a lock that keeps other writers of `client` out: checking them
    again cost two joins of every row with `client` (73-79 s each at 8.2M members on a
    loaded machine, benchmarks/README.md). Setting that role is for superusers, or a
    role granted SET on it (PostgreSQL 15): any other owner of the tables has the keys
    checked once (`foreign_keys_checked_once`), and any other role row by row.

    `few_rows_too`: the triggers are skipped whatever the number of rows (an upload's few
    thousand events and summary rows: their keys' triggers were about 0.05-0.08 s of the
    server's 0.45 s for an advisor's sheet at 10M members, each locking the row it found).
    """
    skip = few_rows_too and conn.dialect.name == "postgresql" and _owns(conn, tables)
    if not (skip or _bulk_on_postgresql(conn, tables, rows)) or not _may_skip_triggers(conn):
        with foreign_keys_checked_once(conn, tables, rows):
            yield
        return
    conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
    yield
    # (an exception ends the transaction, and the setting with it)
    conn.exec_driver_sql("SET LOCAL session_replication_role = DEFAULT")


def may_skip_key_triggers(conn: Connection, tables: Sequence[str]) -> bool:
    """Whether `foreign_keys_known_to_hold` would skip `tables`' key triggers for a few rows
    (`few_rows_too`): PostgreSQL, a role that owns them and may set
    `session_replication_role`. A caller that must prove its keys hold first asks this,
    so that a role that may not (an advisor's) is spared the proof."""
    return conn.dialect.name == "postgresql" and _owns(conn, tables) and _may_skip_triggers(conn)


def _may_skip_triggers(conn: Connection) -> bool:
    """Whether this session's role may set `session_replication_role`."""
    version = conn.dialect.server_version_info or (0,)
    if version >= (15,):
        query = "SELECT has_parameter_privilege('session_replication_role', 'SET')"
    else:
        query = "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
    return bool(conn.exec_driver_sql(query).scalar())


def _bulk_on_postgresql(conn: Connection, tables: Sequence[str], rows: int) -> bool:
    """Whether `rows` going into `tables` are a bulk write worth altering the tables for:
    PostgreSQL, at least FOREIGN_KEYS_ONCE_FROM rows, and a role that owns the tables."""
    return (
        conn.dialect.name == "postgresql" and rows >= FOREIGN_KEYS_ONCE_FROM and _owns(conn, tables)
    )


def may_copy_into(conn: Connection, table: str) -> bool:
    """Whether COPY may add rows to `table` in this session: PostgreSQL refuses COPY FROM
    into a table whose row-level security applies to the role (an ops login's under
    access control, `access init`), where an INSERT passes its policies."""
    query = "SELECT NOT row_security_active(%(table)s)"
    return bool(conn.exec_driver_sql(query, {"table": table}).scalar())


def _owns(conn: Connection, tables: Sequence[str]) -> bool:
    """Whether this session's role may alter `tables` (own them): a role that may not (an
    advisor's, under access control) keeps the per-row checks rather than fail."""
    found = conn.exec_driver_sql(
        """SELECT bool_and(pg_has_role(current_user, c.relowner, 'USAGE')) FROM pg_class c
           WHERE c.oid IN (SELECT to_regclass(t) FROM unnest(%(tables)s::text[]) t)""",
        {"tables": list(tables)},
    ).scalar()
    return bool(found)


@contextlib.contextmanager
def indexes_built_after(
    conn: Connection,
    tables: Sequence[str],
    rows: int,
    *,
    keys: bool = False,
    parallel: bool = True,
    partial: bool = False,
    share: float = 1.0,
    keys_in_order: bool = False,
) -> Iterator[None]:
    """Inside the caller's transaction: on PostgreSQL, when about `rows` (at least
    FOREIGN_KEYS_ONCE_FROM) rows are about to go into `tables` and they are at least as many
    as a table holds, its secondary indexes (neither unique nor a key) are dropped and
    built again afterwards, by one sort, instead of being kept up to date row by row;
    with `keys`, so are its primary key and unique constraints that no foreign key refers
    to (added back, they check every row once, by that sort).

    824,572 new clients went into `client` in 15.3 s with its branch index kept up row by
    row, in 8.2 s without it and 2.3 s to build it after (benchmarks/README.md); a million
    new summary rows in 8.5 s with their primary key kept up, in 2.7 s without it and
    0.9 s to add it after. The price: the table is locked (ACCESS EXCLUSIVE) until the
    transaction ends, as a bulk insert's foreign keys already lock `member` and
    `client_stage`; a row that repeats a key fails the transaction when the key is added
    back rather than at its INSERT; and until then the table has no index on it, so the
    statements inside should be the bulk inserts alone. A table holding more rows than
    come in keeps its indexes: building them anew would read them all (a table never
    analysed yet is taken to hold a row per 64 bytes, fewer than it does). Only the
    table's owner may drop its indexes: for anyone else they stay. A partial index stays
    too: the rows of a bulk insert here fall outside their conditions (a load's new
    members have no advisor and no evidence; an assignment writes no calls), so each
    costs the test of the condition alone, where building the index after would read
    every row of the table again. With `partial`, partial indexes go and come back too:
    for rows most of which fall inside their conditions (a whole campaign's summary
    rebuilt, `stages`). `share`: the part of a table's rows the incoming ones must at least
    make for its indexes to go (a rebuild's rows replace as many: half the table is enough
    for one sort of all its rows to beat upkeep row by row, and an estimate of the table's
    rows a little above the campaign's own must not keep them).

    Without `parallel`, they are built by this backend alone, with no parallel workers:
    for rows whose index keys are all alike or already in order (a load's new members:
    no advisor, no calls, ids rising) there is nothing to share but the table's scan, and
    two workers cost a third more CPU for the same or a longer wall time (824,572 new
    members' six summary indexes: 1.96-2.27 s of CPU with workers, 1.34-1.36 s without;
    a branch index over 300 branches in file order, which is a real sort, 0.95 s either
    way but 0.67 s of wall against 0.99 s: benchmarks/README.md).

    `keys_in_order`: the rows come in the order of the keys added back, which are then
    sorted in memory (`KEY_SORT_MEMORY`).
    """
    if not _bulk_on_postgresql(conn, tables, rows):
        yield
        return
    small_enough = """(CASE WHEN t.reltuples >= 0 THEN t.reltuples
                            ELSE pg_relation_size(t.oid) / 64 END) * %(share)s <= %(rows)s"""
    listed = "(SELECT to_regclass(t) FROM unnest(%(tables)s::text[]) t)"
    params = {"tables": list(tables), "rows": rows, "partial": partial, "share": share}
    indexes = conn.exec_driver_sql(
        f"""SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
            WHERE i.indrelid IN {listed}
              AND NOT i.indisunique AND NOT i.indisprimary
              AND (%(partial)s OR i.indpred IS NULL)
              AND {small_enough}
            ORDER BY 1""",
        params,
    ).all()
    constraints: Sequence[Any] = []
    if keys:
        # a key a foreign key refers to stays: the foreign key depends on its index
        constraints = conn.exec_driver_sql(
            f"""SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
                FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
                WHERE c.contype IN ('p', 'u') AND c.conrelid IN {listed}
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint f
                                  WHERE f.contype = 'f' AND f.conindid = c.conindid)
                  AND {small_enough}
                ORDER BY 1, 2""",
            params,
        ).all()
    for name, _ in indexes:
        conn.exec_driver_sql(f"DROP INDEX {name}")
    for table, name, _ in constraints:
        conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    yield
    serial = {} if parallel else {"max_parallel_maintenance_workers": "0"}
    with dialect.settings(conn, serial):
        in_memory = {"maintenance_work_mem": KEY_SORT_MEMORY}
        with dialect.settings(conn, in_memory if constraints and keys_in_order else {}):
            for table, name, definition in constraints:
                conn.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for _, definition in indexes:
            conn.exec_driver_sql(definition)


#: Memory for the sort that adds a key back after a bulk insert of rows in key order
#: (`indexes_built_after`'s `keys_in_order`): a load's new members when its file's ids
#: rise, as core systems export them. Sorted in memory, PostgreSQL finds them in order in
#: one pass, where in runs of 256 MB it writes and merges them. At 8.2M new members, `member`'s key took
#: 3.18 s of CPU against 4.84 s, `client_stage`'s 3.41 s against 5.60 s (benchmarks/
#: README.md). The secondary indexes keep 256 MB: a branch index over 300 branches in
#: file order is a real sort, which took 20.3 s in memory against 17.8 s in runs. The
#: memory is the server's, for the sort's few seconds.
KEY_SORT_MEMORY = "1GB"


def analyze(conn: Connection, table: str) -> None:
    """PostgreSQL: sample `table`'s rows for the planner now (it sees this transaction's own
    rows). Autovacuum does it only after the commit, so a statement right after a bulk
    insert was planned for an empty table: the stage summary after a load of 824k members
    sorted on disk and took 10.3 s, 5.5 s with the table analysed (benchmarks/README.md)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {table}")


#: Memory for a PostgreSQL session's temporary tables (the server's default is 8 MB).
TEMP_BUFFERS = "256MB"


def postgresql_temp_buffers(conn: Connection) -> None:
    """PostgreSQL: let this session's temporary tables stay in memory up to TEMP_BUFFERS;
    call it before the session's first temporary table (it is refused after). With the
    default 8 MB, the load's staged rows and the summary's list of 824k touched ids went
    through temporary files on disk: 20.6 s to fill that list, 21.4 s to read it back
    while writing the summary (benchmarks/README.md). The memory is the session's, taken
    only as its temporary tables grow, and freed when the command ends."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET temp_buffers = '{TEMP_BUFFERS}'")


def postgresql_work_mem(conn: Connection) -> None:
    """PostgreSQL: room for this transaction's sorts and hashes in memory (the server's
    default, 4 MB, sends a sort of a million ids to disk), and for the indexes it builds
    (`indexes_built_after`)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")


def sqlite_bulk_cache(conn: Connection) -> None:
    """A larger page cache for this connection's bulk transaction (~2x at 1M rows: docs/performance.md)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA cache_size=-262144")


def sqlite_temp_in_memory(conn: Connection) -> None:
    """Keep this connection's temporary tables in memory rather than in a temp file.

    SQLite drops every temporary table of the connection when this changes: call it
    before staging anything.
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA temp_store=MEMORY")


#: The schema an ADBC-written stage is attached under (its tables resolve unqualified).
_SCRATCH_SCHEMA = "scratch_stage"


@contextlib.contextmanager
def begin_with_frames(
    engine: Engine, name: str, columns: Mapping[str, str], frames: Iterable[pl.DataFrame]
) -> Iterator[Connection]:
    """A transaction in which table `name` holds the rows of every frame of `frames`
    (their columns in `columns` order, name -> SQL type), readable by its bare name; the
    table is gone afterwards. The frames are taken one at a time, all before the
    transaction's first statement runs, so a caller may work out each while it goes.

    PostgreSQL: COPY into a temporary table, binary where `pgcopy` can send the frame's
    columns as `columns`' types, else CSV that polars writes (`copy_frame`); a date may
    be a polars Date (SQLite stores it as ISO text).
    SQLite: ADBC's SQLite driver writes the frames into a scratch database file from
    Arrow, binding every cell in C, and that file is attached before the transaction
    begins (ATTACH is refused inside one). Measured at 824k rows x 13 columns: 1.0 s,
    against 2.9 s for polars rows through sqlite3's executemany; the scratch file is
    removed at the end, whatever happens, and the ones killed runs left are removed first
    (`reactivate.db.scratch`).
    """
    scratch.sweep()
    names = list(columns)
    frames = iter(frames)
    with scratch.folder() as folder:
        staged = folder / "stage.db"
        first = next(frames, None)
        if first is None or engine.dialect.name != "sqlite":
            with engine.begin() as conn:
                postgresql_temp_buffers(conn)
                create(conn, name, columns)
                # each frame let go before the next is worked out (`for` would hold it, and
                # the first all along): a load's million rows are 0.1 GB
                frame, first = first, None
                while frame is not None:
                    copy_frame(conn, name, frame.select(names), columns)
                    del frame
                    frame = next(frames, None)
                analyze(conn, name)
                yield conn
                conn.exec_driver_sql(f"DROP TABLE {name}")
            return
        if not _write_scratch(staged, name, _sqlite_dates(first.select(names))):
            with engine.begin() as conn:
                sqlite_temp_in_memory(conn)
                create(conn, name, columns)
                for frame in itertools.chain([first], frames):
                    append(conn, name, names, _sqlite_dates(frame.select(names)).iter_rows())
                yield conn
                conn.exec_driver_sql(f"DROP TABLE {name}")
            return
        del first
        while (frame := next(frames, None)) is not None:
            if not _write_scratch(staged, name, _sqlite_dates(frame.select(names)), mode="append"):
                raise OSError(f"could not stage rows in {staged}")
            del frame  # let go before the next is worked out, as above
        with engine.connect() as conn:
            driver = conn.connection.driver_connection
            assert driver is not None
            driver.execute(f"ATTACH DATABASE ? AS {_SCRATCH_SCHEMA}", (str(staged),))
            try:
                with conn.begin():
                    yield conn
            except BaseException:
                # The connection closes after this and the scratch file goes with it. An
                # interrupt inside a statement makes SQLAlchemy close it at once; one between
                # statements can leave a read open, and DETACH then fails ("database is
                # locked"): neither may mask the cause.
                if not conn.invalidated:
                    with contextlib.suppress(Exception):
                        driver.execute(f"DETACH DATABASE {_SCRATCH_SCHEMA}")
                raise
            driver.execute(f"DETACH DATABASE {_SCRATCH_SCHEMA}")


def begin_with_frame(
    engine: Engine, name: str, columns: Mapping[str, str], frame: pl.DataFrame
) -> contextlib.AbstractContextManager[Connection]:
    """`begin_with_frames` of one frame."""
    return begin_with_frames(engine, name, columns, [frame])


#: Rows written to COPY as one CSV part: bounds the text held at once.
COPY_PART = 100_000


def copy_frame(
    conn: Connection, name: str, frame: pl.DataFrame, types: Mapping[str, str] | None = None
) -> int:
    """Add the rows of `frame` (its columns named as table `name`'s) to table `name`;
    returns how many. PostgreSQL: COPY of CSV that polars writes, a part at a time (no
    Python object per cell: 5-10x psycopg's row by row `write_row`), or, given the SQL
    `types` the table was created with (name -> type) and when `pgcopy` can send every
    column as its type, binary COPY (`copy_binary`); SQLite: `append`.

    polars writes a null as an empty field and an empty text as `""`, which is how
    COPY's CSV format tells them apart.
    """
    if conn.dialect.name != "postgresql":
        return append(conn, name, list(frame.columns), frame.iter_rows())
    if types is not None and pgcopy.encodable(frame, types):
        return copy_binary(conn, name, frame, types)
    listed = ", ".join(frame.columns)
    with _copy(conn, f"COPY {name} ({listed}) FROM STDIN (FORMAT csv)") as copy:
        for start in range(0, frame.height, COPY_PART):
            text = io.BytesIO()
            frame.slice(start, COPY_PART).write_csv(text, include_header=False)
            copy.write(text.getbuffer())
    return frame.height


def copy_binary(conn: Connection, name: str, frame: pl.DataFrame, types: Mapping[str, str]) -> int:
    """`copy_frame` by binary COPY, which `pgcopy` lays out from the frame's columns: the
    server takes each value as it is rather than parsing its text (at 2M rows the load's
    stage cost it 2.0 s of CPU against 3.6 s as CSV, benchmarks/README.md). The columns are
    listed in `pgcopy.column_order`, the fixed-width ones first."""
    ordered = frame.select(pgcopy.column_order(frame, types))
    listed = ", ".join(ordered.columns)
    with _copy(conn, f"COPY {name} ({listed}) FROM STDIN (FORMAT binary)") as copy:
        for part in pgcopy.parts(ordered, types, COPY_PART):
            copy.write(part)
    return frame.height


def _sqlite_dates(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with its dates as the ISO text SQLite's DATE columns hold here."""
    import polars as pl

    return frame.with_columns(pl.col(pl.Date).cast(pl.String))


def _write_scratch(path: Path, name: str, frame: pl.DataFrame, mode: str = "create") -> bool:
    """Write `frame` as table `name` of a new SQLite file at `path` (or add its rows to
    that table, `mode="append"`); False when it could not be (no ADBC driver for this
    platform, no room in the temporary folder): the caller then stages through sqlite3,
    slower but the same."""
    try:
        import adbc_driver_sqlite.dbapi as adbc
    except ImportError:
        return False
    try:
        with adbc.connect(str(path), autocommit=True) as scratch, scratch.cursor() as cursor:
            # A private file removed after use: no journal, no sync.
            cursor.execute("PRAGMA journal_mode=OFF")
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.adbc_ingest(name, frame, mode=mode)  # type: ignore[arg-type]
    except (OSError, adbc.Error) as exc:
        if mode == "create":
            path.unlink(missing_ok=True)
        if isinstance(exc.__cause__, KeyboardInterrupt):
            # ADBC takes SIGINT during its calls and fails to cancel them: the interrupt is
            # the user's, not a reason to stage another way
            raise KeyboardInterrupt from None
        return False
    return True

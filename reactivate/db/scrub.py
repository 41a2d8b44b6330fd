"""Erasing for real. Blanking a value in a row leaves its old bytes in the storage: in
the page's freed space and the write-ahead log (SQLite), in the dead row version
(PostgreSQL), until the storage is rewritten. The purge of personal data does both steps.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence

from sqlalchemy import Connection, Engine, Table, text

from reactivate.errors import StateError
from reactivate.messages import t


def secure_delete(conn: Connection) -> None:
    """SQLite: this connection zeroes what its writes free (most builds do not by default)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA secure_delete=ON")


def rewrite(engine: Engine, tables: Sequence[Table]) -> None:
    """Rewrite the storage `tables` live in, outside any transaction, so that nothing
    blanked or deleted before remains in it.

    SQLite: VACUUM rebuilds the whole file, then the write-ahead log is checkpointed and
    truncated to nothing (refused while another program holds the database open).
    PostgreSQL: VACUUM FULL writes each table into new files without its dead versions
    (locking it meanwhile) and ANALYZE replaces its statistics' sampled values. It keeps
    a dead version any transaction then running might still read, in any database of the
    server (their snapshots count it as running), so it waits for the transactions begun
    before the blanking to end (`_wait_for_older_transactions`). Neither reaches copies
    made before: WAL archives, replicas, backups.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            _wait_for_older_transactions(conn)
            for table in tables:
                # PostgreSQL skips, with a mere warning, a table the user does not own
                owned = conn.execute(
                    text(
                        "SELECT pg_has_role(relowner, 'USAGE') FROM pg_class"
                        " WHERE oid = CAST(:table AS regclass)"
                    ),
                    {"table": table.name},
                ).scalar_one()
                if not owned:
                    raise StateError(t("error.purge_not_owner", table=table.name))
                conn.exec_driver_sql(f"VACUUM (FULL, ANALYZE) {table.name}")
        return
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert driver is not None
        driver.execute("VACUUM")
        busy = driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    if busy:
        raise StateError(t("error.purge_busy"))


#: How long the purge waits for transactions begun before it to end, polling.
OLDER_TRANSACTIONS_WAIT_SECONDS = 30.0


def _wait_for_older_transactions(conn: Connection) -> None:
    """PostgreSQL, outside a transaction: wait until no transaction that may still see the
    rows blanked before this call is running (its id or its snapshot older than a fresh
    transaction id), else refuse, naming the oldest."""
    fresh = conn.exec_driver_sql("SELECT pg_current_xact_id()::text").scalar_one()
    older = text(
        "SELECT pid, datname, xact_start FROM pg_stat_activity"
        " WHERE pid <> pg_backend_pid() AND backend_type <> 'autovacuum worker'"
        " AND (age(backend_xid) > age(CAST(:xid AS xid)) OR age(backend_xmin) > age(CAST(:xid AS xid)))"
        " ORDER BY xact_start LIMIT 1"
    )
    # an xid is the 64-bit id's low 32 bits
    xid = str(int(fresh) % 2**32)
    deadline = time.monotonic() + OLDER_TRANSACTIONS_WAIT_SECONDS
    while (holder := conn.execute(older, {"xid": xid}).first()) is not None:
        if time.monotonic() >= deadline:
            pid, database, since = holder
            began = since.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") if since else "-"
            raise StateError(t("error.purge_held", pid=pid, database=database, since=began))
        time.sleep(0.2)

"""Erasing for real. Blanking a value in a row leaves its old bytes in the storage: in
the page's freed space and the write-ahead log (SQLite), in the dead row version
(PostgreSQL), until the storage is rewritten. The purge of personal data does both steps.
"""

from __future__ import annotations

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
    (locking it meanwhile) and ANALYZE replaces its statistics' sampled values. Neither
    reaches copies made before: WAL archives, replicas, backups.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
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

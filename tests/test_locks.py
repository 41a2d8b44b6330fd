"""Writers of one campaign queue behind each other on both databases."""

from __future__ import annotations

import sqlite3

from reactivate.db.engine import open_engine
from reactivate.db.locks import LOCK_NAMESPACE, lock_campaign


def test_a_second_writer_of_the_campaign_waits(db_url: str) -> None:
    engine = open_engine(db_url)
    try:
        with engine.begin() as holder:
            lock_campaign(holder, 1)
            if engine.dialect.name == "postgresql":
                with engine.connect() as other:
                    taken = other.exec_driver_sql(
                        f"SELECT pg_try_advisory_xact_lock({LOCK_NAMESPACE}, 1)"
                    ).scalar()
                    assert taken is False
                    # another campaign is not held up
                    assert other.exec_driver_sql(
                        f"SELECT pg_try_advisory_xact_lock({LOCK_NAMESPACE}, 2)"
                    ).scalar()
            else:
                # every transaction begins IMMEDIATE: a second writer cannot start one
                path = db_url.removeprefix("sqlite:///")
                other = sqlite3.connect(path, timeout=0, isolation_level=None)
                try:
                    other.execute("BEGIN IMMEDIATE")
                    raise AssertionError("a second write transaction started")
                except sqlite3.OperationalError as exc:
                    assert "locked" in str(exc)
                finally:
                    other.close()
    finally:
        engine.dispose()

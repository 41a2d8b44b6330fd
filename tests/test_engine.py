"""What every SQLite connection promises: durable commits."""

from __future__ import annotations

from reactivate.db.engine import open_engine


def test_a_commit_survives_a_power_cut(sqlite_url: str) -> None:
    """WAL with synchronous=FULL: the log is synced at every commit (NORMAL would leave
    the last commits to the next checkpoint)."""
    engine = open_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    engine.dispose()

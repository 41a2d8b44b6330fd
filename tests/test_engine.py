"""What every SQLite database promises: durable commits, files only their owner can read."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reactivate.db.engine import open_engine


def test_a_commit_survives_a_power_cut(sqlite_url: str) -> None:
    """WAL with synchronous=FULL: the log is synced at every commit (NORMAL would leave
    the last commits to the next checkpoint)."""
    engine = open_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    engine.dispose()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The common umask, which lets SQLite make every file it creates world-readable."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_a_new_database_and_its_log_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    engine = open_engine(str(db))
    with engine.begin() as conn:  # an open write: the -wal and -shm exist meanwhile
        conn.exec_driver_sql("INSERT INTO meta (key, value) VALUES ('probe', 'x')")
        files = [db, tmp_path / "new.db-wal", tmp_path / "new.db-shm"]
        assert {file.name: mode(file) for file in files} == {file.name: 0o600 for file in files}
    engine.dispose()


@pytest.mark.usefixtures("open_umask")
def test_an_existing_readable_database_is_warned_about_once(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    sqlite3.connect(db).close()
    db.chmod(0o644)
    # opened once before the command opens it again: the warning is said once per process
    code = (
        "import sys; from reactivate.db.engine import open_engine; from reactivate.cli import main;"
        " open_engine(sys.argv[-1]).dispose(); sys.argv = ['reactivate'] + sys.argv[1:]; main()"
    )
    command = [sys.executable, "-c", code, "campaign", "list", "--db", str(db)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    assert done.stderr.count("Warning:") == 1, done.stderr
    warning = " ".join(done.stderr.split())
    assert f"can read {db}," in warning and f"chmod 600 {db}" in warning
    db.chmod(0o600)
    again = subprocess.run(command, capture_output=True, text=True, check=True)
    assert again.stderr == ""


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_postgresql_session_hears_no_notices_and_keeps_the_url_s_options(db_url: str) -> None:
    """No NOTICE reaches psycopg, which would hand it to Python inside libpq's call, where
    an interrupt is printed and lost; the URL's own options (here the test's schema as
    the search path) still hold."""
    engine = open_engine(db_url)
    heard: list[object] = []
    with engine.connect() as conn:
        conn.connection.driver_connection.add_notice_handler(heard.append)  # type: ignore[union-attr]
        conn.exec_driver_sql("DROP TABLE IF EXISTS no_such_table")
        assert conn.exec_driver_sql("SHOW client_min_messages").scalar() == "warning"
        assert str(conn.exec_driver_sql("SELECT current_schema()").scalar()).startswith("t_")
        assert conn.exec_driver_sql("SELECT to_regclass('campaign')").scalar() is not None
    engine.dispose()
    assert heard == []

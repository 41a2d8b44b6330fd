"""`reactivate db backup`: a consistent copy of a SQLite database while others write."""

from __future__ import annotations

import sqlite3
import stat
import threading
from pathlib import Path

from helpers import CAMPAIGN_FILE, ROOT
from typer.testing import CliRunner

from reactivate.cli import app


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return " ".join((result.stdout if code == 0 else result.stderr).split())


def test_backup_is_one_moment_s_copy_while_another_process_writes(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    run("campaign", "add", str(CAMPAIGN_FILE), "--db", str(db))
    run(
        "load",
        str(ROOT / "data" / "dormant_accounts.xlsx"),
        "-c",
        "2020h2-dormant",
        "--db",
        str(db),
    )
    # Kept open, with no checkpoint, the rows below live only in the write-ahead log: a
    # copy of the database file alone would miss them.
    setup = sqlite3.connect(db)
    setup.execute("PRAGMA wal_autocheckpoint=0")
    # enough pages that the copy takes a while, and a pair of values each write keeps equal
    setup.execute("CREATE TABLE ballast (b BLOB)")
    setup.executemany("INSERT INTO ballast VALUES (randomblob(4000))", [()] * 5000)
    setup.execute("CREATE TABLE writes (n INTEGER)")
    setup.execute("INSERT INTO meta VALUES ('writes', '0')")
    setup.commit()
    stop = threading.Event()

    def write() -> None:
        conn = sqlite3.connect(db, isolation_level=None, timeout=60)
        conn.execute("PRAGMA wal_autocheckpoint=0")
        n = 0
        while not stop.is_set():
            n += 1
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO writes VALUES (?)", (n,))
            conn.execute("UPDATE meta SET value = ? WHERE key = 'writes'", (str(n),))
            conn.execute("COMMIT")
        conn.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        copy = tmp_path / "backup.db"
        out = run("db", "backup", str(copy), "--db", str(db))
    finally:
        stop.set()
        writer.join()
        setup.close()
    assert f"written to {copy}" in out
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    check = sqlite3.connect(copy)
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    ((writes, recorded),) = check.execute(
        "SELECT (SELECT count(*) FROM writes), (SELECT value FROM meta WHERE key = 'writes')"
    )
    assert str(writes) == recorded
    assert check.execute("SELECT count(*) FROM client").fetchone() == (392,)
    assert check.execute("SELECT count(*) FROM ballast").fetchone() == (5000,)
    check.close()


def test_backup_never_writes_over_a_file(tmp_path: Path) -> None:
    db = str(tmp_path / "live.db")
    run("init", "--db", db)
    existing = tmp_path / "keep.db"
    existing.write_text("precious")
    assert "already exists" in run("db", "backup", str(existing), "--db", db, code=1)
    assert existing.read_text() == "precious"
    missing = tmp_path / "none.db"
    assert "No database at" in run(
        "db", "backup", str(tmp_path / "b.db"), "--db", str(missing), code=1
    )


def test_postgresql_is_pointed_to_pg_dump(db_url: str, tmp_path: Path) -> None:
    run("init", "--db", db_url)
    copy = tmp_path / "backup.db"
    if db_url.startswith("sqlite"):
        assert "written to" in run("db", "backup", str(copy), "--db", db_url)
        return
    err = run("db", "backup", str(copy), "--db", db_url, code=1)
    assert err.startswith("Error: ") and err.count("Error:") == 1
    assert "pg_dump -Fc -f FILE 'postgresql://" in err and "pg_restore -d" in err
    assert not copy.exists()

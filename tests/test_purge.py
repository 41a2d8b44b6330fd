"""The purge erases: after `campaign close --purge-personal-data` the purged mobiles are
nowhere in the database's files, not only gone from its rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import CAMPAIGN_FILE, ROOT, query
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import Pool
from typer.testing import CliRunner

from reactivate.cli import app

SLUG = "2020h2-dormant"


def run(db: str, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--db", db])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def stock_sqlite() -> Iterator[None]:
    """SQLite as most builds ship it: freed space keeps its old bytes (this machine's
    library is built with SECURE_DELETE, which would hide the difference)."""

    def insecure(dbapi_connection: Any, _record: Any) -> None:
        if type(dbapi_connection).__module__ == "sqlite3":
            dbapi_connection.execute("PRAGMA secure_delete=OFF")

    event.listen(Pool, "connect", insecure)
    yield
    event.remove(Pool, "connect", insecure)


def stored_bytes(db: str) -> bytes:
    """Everything the database keeps on disk for the purged data: the SQLite file and its
    log; on PostgreSQL the data files of the tables that held it (after a checkpoint,
    so nothing is left only in memory)."""
    if db.startswith("sqlite"):
        path = Path(db.removeprefix("sqlite:///"))
        files = [path, Path(f"{path}-wal")]
        return b"".join(file.read_bytes() for file in files if file.exists())
    engine = create_engine(db, isolation_level="AUTOCOMMIT")
    found = b""
    with engine.connect() as conn:
        conn.exec_driver_sql("CHECKPOINT")
        for table in ("client", "wecom_relation"):
            relations = conn.execute(
                text(
                    "SELECT pg_relation_filepath(c.oid), pg_relation_filepath(c.reltoastrelid)"
                    " FROM pg_class c WHERE c.oid = CAST(:table AS regclass)"
                ),
                {"table": table},
            ).one()
            for path in relations:
                if path is not None:
                    found += conn.execute(
                        text("SELECT pg_read_binary_file(:path)"), {"path": path}
                    ).scalar_one()
    engine.dispose()
    return found


@pytest.mark.usefixtures("stock_sqlite")
def test_purged_mobiles_are_nowhere_in_the_database_files(db_url: str) -> None:
    run(db_url, "campaign", "add", str(CAMPAIGN_FILE))
    run(db_url, "advisors", "load", str(ROOT / "data" / "advisors.xlsx"))
    run(db_url, "dnc", "load", str(ROOT / "data" / "do_not_call.csv"))
    run(db_url, "load", str(ROOT / "data" / "dormant_accounts.xlsx"), "-c", SLUG)
    run(db_url, "assign", "-c", SLUG, "--no-workbooks", "--assigned-at", "2020-07-01T09:00")
    # the firm-wide do-not-call list keeps its mobiles: it is not the campaign's
    mobiles = {
        mobile
        for (mobile,) in query(
            db_url,
            "SELECT mobile FROM client WHERE mobile IS NOT NULL"
            " AND mobile NOT IN (SELECT value FROM do_not_call WHERE kind = 'mobile')",
        )
    }
    assert len(mobiles) > 300
    # what an advisor typed as a WeCom remark is the campaign's too
    remarked = sorted(mobiles)[:2]
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO wecom_relation (campaign_id, userid, external_userid, client_id,"
                " match, remark_mobiles, add_way, createtime, first_seen_at, last_seen_at)"
                " VALUES (1, 'u1', 'wm1', NULL, NULL, :remark, 0, :t, :t, :t)"
            ),
            {"remark": f'["{remarked[0]}", "{remarked[1]}"]', "t": "2020-07-02 01:00:00.000000"},
        )
    engine.dispose()
    assert all(mobile.encode() in stored_bytes(db_url) for mobile in remarked)
    ((client,),) = query(db_url, "SELECT MIN(client_id) FROM member WHERE advisor_code IS NOT NULL")
    before = json.loads(run(db_url, "client", "show", client, "-c", SLUG, "-f", "json"))
    assert before["personal_data_purged"] is False and "****" in before["mobile"]
    out = run(db_url, "campaign", "close", SLUG, "--purge-personal-data")
    assert "Personal data removed" in out
    left = stored_bytes(db_url)
    still = sorted(mobile for mobile in mobiles if mobile.encode() in left)
    assert still == [], f"{len(still)} purged mobiles still stored, e.g. {still[:3]}"
    assert query(db_url, "SELECT remark_mobiles FROM wecom_relation") == [(None,)]
    # one client's timeline says the personal data was purged rather than showing blanks
    shown = " ".join(run(db_url, "client", "show", client, "-c", SLUG).split())
    assert "personal data purged when the campaign closed" in shown
    after = json.loads(run(db_url, "client", "show", client, "-c", SLUG, "-f", "json"))
    assert after["personal_data_purged"] is True


def test_a_purge_waits_for_transactions_begun_before_it(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction that began before the blanking may still read the old values, so the
    storage keeps them while it runs: the purge says so, and erases once run again."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite keeps no row versions for older readers (its case: error.purge_busy)")
    from reactivate.db import scrub

    run(db_url, "campaign", "add", str(CAMPAIGN_FILE))
    run(db_url, "load", str(ROOT / "data" / "dormant_accounts.xlsx"), "-c", SLUG)
    ((client, mobile),) = query(
        db_url, "SELECT client_id, mobile FROM client WHERE mobile IS NOT NULL ORDER BY 1 LIMIT 1"
    )
    engine = create_engine(db_url)
    old = text("SELECT mobile FROM client WHERE client_id = :c")
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as reader:
            assert reader.execute(old, {"c": client}).scalar_one() == mobile  # snapshot taken
            monkeypatch.setattr(scrub, "OLDER_TRANSACTIONS_WAIT_SECONDS", 0.5)
            held = CliRunner().invoke(
                app, ["campaign", "close", SLUG, "--purge-personal-data", "--db", db_url]
            )
            assert held.exit_code == 1, held.output
            said = " ".join(held.output.split())
            assert "a transaction begun before it is still running" in said
            assert reader.execute(old, {"c": client}).scalar_one() == mobile  # why it waits
            assert mobile.encode() in stored_bytes(db_url)
    finally:
        engine.dispose()
    run(db_url, "campaign", "close", SLUG, "--purge-personal-data")
    assert query(db_url, "SELECT mobile FROM client WHERE client_id = :c", c=client) == [(None,)]
    assert mobile.encode() not in stored_bytes(db_url)

"""Roles on a shared PostgreSQL, enforced by the database: real roles, real logins.

Every login and group role made here carries a prefix unique to the test (roles are
cluster-wide and other runs share the server) and is dropped afterwards. The logins
connect as themselves (psycopg, trust authentication on the test server), so what the
database refuses is tried both outside our code and through the commands.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from helpers import CAMPAIGN_FILE
from sqlalchemy import create_engine, text
from typer.testing import CliRunner
from upload_campaign import SLUG, assign, make_workbook, setup_db

from reactivate import access
from reactivate.cli import app
from reactivate.db import stages
from reactivate.db.engine import open_engine
from reactivate.privacy import mask_mobile, mask_name
from reactivate.upload import UploadOptions, upload

postgres_only = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)

ROSTER_MORE = """工号,姓名,营业部,营业部代码,企业微信账号,容量,状态
A001,王芳,上海浦东南路营业部,0101,wangfang,300,在职
A002,李强,上海浦东南路营业部,0101,liqiang,300,在职
A003,陈静,北京金融街营业部,0202,chenjing,300,在职
"""
BRANCH_1 = "上海浦东南路营业部"
BRANCH_2 = "北京金融街营业部"
FILL = {"通话结果": "接通", "通话时间": "2020-07-02 10:00"}


def invoke(*args: str, db: str) -> Any:
    return CliRunner().invoke(app, [*args, "--db", db])


@dataclass
class Shared:
    """A campaign on a PostgreSQL schema with roles: the owner's URL and a login's URL."""

    owner: str  # the schema's owner (the test server's superuser): acts as ops
    prefix: str
    tmp: Path
    logins: list[str] = field(default_factory=list)

    def name(self, short: str) -> str:
        return f"{self.prefix}_{short}"

    def url(self, short: str) -> str:
        return self.owner.replace("://postgres@", f"://{self.name(short)}@", 1)

    def login(self, short: str, role: str, **scope: Any) -> str:
        """Grant (as the owner) and return the login's database URL."""
        access.grant(open_engine(self.owner), self.name(short), role, **scope)
        self.logins.append(self.name(short))
        return self.url(short)

    def psql(self, short: str) -> psycopg.Connection[Any]:
        """A plain psycopg connection as the login, outside our code."""
        url = self.url(short).replace("postgresql+psycopg://", "postgresql://", 1)
        return psycopg.connect(url, autocommit=True)


def _drop_roles(owner: str, names: list[str]) -> None:
    engine = create_engine(owner)
    with engine.begin() as conn:
        for name in names:
            found = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name})
            if found.first() is not None:
                conn.exec_driver_sql(f'DROP OWNED BY "{name}" CASCADE')
                conn.exec_driver_sql(f'DROP ROLE "{name}"')
    engine.dispose()


@pytest.fixture
def shared(db_url: str, tmp_path: Path) -> Iterator[Shared]:
    """Branch 0101 (A001: clients 01 02 04 06, A002: 03) and branch 0202 (A003: client 07,
    of that branch), roles set up; the roles are dropped afterwards."""
    setup_db(db_url, tmp_path)
    roster = tmp_path / "roster_more.csv"
    roster.write_text(ROSTER_MORE, encoding="utf-8")
    result = invoke("advisors", "load", str(roster), db=db_url)
    assert result.exit_code == 0, result.output
    assign(db_url, {"0010000007": "A003"})
    engine = open_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE client SET branch = :b WHERE client_id = '0010000007'"), {"b": BRANCH_2}
        )
        cid = conn.execute(text("SELECT id FROM campaign")).scalar_one()
        # the summary carries the client's branch (and 05's control flag, set directly)
        stages.refresh(conn, cid)
    engine.dispose()
    prefix = f"rx{uuid.uuid4().hex[:10]}"
    state = Shared(owner=db_url, prefix=prefix, tmp=tmp_path)
    try:
        access.init(open_engine(db_url), prefix)
        yield state
    finally:
        groups = [f"{prefix}_{role}" for role in access.ROLES]
        _drop_roles(db_url, state.logins + groups)


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = [tuple(row) for row in conn.execute(text(sql))]
    engine.dispose()
    return found


def _refused(conn: psycopg.Connection[Any], sql: str) -> str:
    with pytest.raises(psycopg.Error) as caught:
        conn.execute(sql)
    return str(caught.value)


# --- outside our code: a login with psql ------------------------------------------------


@postgres_only
def test_an_advisor_reads_and_writes_only_their_own_clients_outside_our_code(
    shared: Shared,
) -> None:
    shared.login("adv2", "advisor", advisor="A002")
    with shared.psql("adv2") as conn:
        clients = conn.execute("SELECT client_id, mobile FROM client").fetchall()
        assert clients == [("0010000003", "13810000003")]
        assert conn.execute("SELECT client_id FROM member").fetchall() == [("0010000003",)]
        assert conn.execute("SELECT DISTINCT client_id FROM event").fetchall() == [("0010000003",)]
        assert conn.execute("SELECT client_id FROM client_stage").fetchall() == [("0010000003",)]
        assert conn.execute("SELECT value FROM do_not_call").fetchall() == []  # 06 is A001's
        someone_elses = (
            "INSERT INTO event (campaign_id, client_id, stage, value, occurred_at, advisor_code,"
            " source, recorded_by, recorded_at) SELECT id, '0010000001', 'call', 'connected',"
            f" now(), 'A002', 'upload', '{shared.name('adv2')}', now() FROM campaign"
        )
        assert "row-level security" in _refused(conn, someone_elses)
        own_as_another = someone_elses.replace("0010000001", "0010000003").replace(
            f"'{shared.name('adv2')}'", "'postgres'"
        )
        assert "row-level security" in _refused(conn, own_as_another)
        assert "permission denied" in _refused(conn, "UPDATE event SET value = 'refused'")
        assert "permission denied" in _refused(conn, "DELETE FROM event")
        assert "permission denied" in _refused(conn, "UPDATE member SET advisor_code = 'A002'")
        assert "permission denied" in _refused(conn, "SELECT * FROM meta")
        assert "permission denied" in _refused(conn, "SELECT * FROM wecom_token")
        assert "permission denied" in _refused(conn, "SELECT * FROM wecom_transfer")
        assert "must be owner" in _refused(conn, "DROP POLICY rx_advisor ON member")
        assert "must be owner" in _refused(conn, "ALTER POLICY rx_advisor ON member USING (true)")
        assert "must be owner" in _refused(conn, "ALTER TABLE member DISABLE ROW LEVEL SECURITY")
        assert "must be owner" in _refused(
            conn, "CREATE POLICY mine ON member FOR SELECT USING (true)"
        )
        assert conn.execute("SELECT db_user FROM access_user").fetchall() == [
            (shared.name("adv2"),)
        ]


@postgres_only
def test_an_advisor_s_summary_rows_are_read_by_the_advisor_index(shared: Shared) -> None:
    """The advisor's policy (`advisor_code` = their code) implies the condition of revision
    0011's summary indexes by advisor (assigned rows only), so the planner may read an
    advisor's rows through them (here it must: no sequential scan)."""
    shared.login("adv2", "advisor", advisor="A002")
    with shared.psql("adv2") as conn:
        conn.execute("SET enable_seqscan = off")
        plan = conn.execute("EXPLAIN SELECT client_id, calls FROM client_stage").fetchall()
        assert conn.execute("SELECT client_id FROM client_stage").fetchall() == [("0010000003",)]
    read = " ".join(row[0] for row in plan)
    assert "ix_client_stage_advisor" in read or "ix_client_stage_attempt" in read, read


@postgres_only
def test_a_manager_reads_their_branches_without_names_or_mobiles_outside_our_code(
    shared: Shared,
) -> None:
    shared.login("mgr2", "manager", branches=["0202"])
    with shared.psql("mgr2") as conn:
        assert conn.execute("SELECT client_id FROM member").fetchall() == [("0010000007",)]
        assert conn.execute("SELECT client_id, branch FROM client").fetchall() == [
            ("0010000007", BRANCH_2)
        ]
        assert conn.execute("SELECT count(DISTINCT client_id) FROM event").fetchone() == (1,)
        assert "permission denied" in _refused(conn, "SELECT mobile FROM client")
        assert "permission denied" in _refused(conn, "SELECT name FROM client")
        assert "permission denied" in _refused(conn, "SELECT * FROM client")
        assert "permission denied" in _refused(conn, "SELECT remark_mobiles FROM wecom_relation")
        # the do-not-call list: by client id, their branch's only (0010000006 is 0101's)
        assert conn.execute("SELECT kind, value FROM do_not_call").fetchall() == []
        assert "permission denied" in _refused(conn, "SELECT * FROM meta")
        assert "permission denied" in _refused(conn, "SELECT * FROM wecom_token")
        assert "permission denied" in _refused(
            conn,
            "INSERT INTO event (campaign_id, client_id, stage, occurred_at, source, recorded_by,"
            " recorded_at) SELECT id, '0010000007', 'call', now(), 'upload', 'x', now()"
            " FROM campaign",
        )
        assert "permission denied" in _refused(conn, "UPDATE client_stage SET calls = 9")
        assert "must be owner" in _refused(conn, "DROP POLICY rx_manager ON member")
        assert "permission denied" in _refused(
            conn, "SELECT * FROM reactivate_advisors_of(1, ARRAY['0010000001'])"
        )


# --- through the commands ---------------------------------------------------------------


@postgres_only
def test_an_advisor_uploads_only_their_own_clients_and_is_recorded_as_the_login(
    shared: Shared, monkeypatch: pytest.MonkeyPatch
) -> None:
    adv1 = shared.login("adv1", "advisor", advisor="A001")
    monkeypatch.setenv("REACTIVATE_USER", "someone-else")  # ignored on PostgreSQL
    own = make_workbook(shared.owner, shared.tmp / "a001.xlsx", "A001", {"0010000001": FILL})
    result = invoke("results", "upload", str(own), "-c", SLUG, db=adv1)
    assert result.exit_code == 0, result.output
    with shared.psql("adv1") as conn:
        assert conn.execute("SELECT DISTINCT run_by FROM import_record").fetchall() == [
            (shared.name("adv1"),)
        ]
        assert conn.execute(
            "SELECT DISTINCT recorded_by FROM event WHERE source = 'upload'"
        ).fetchall() == [(shared.name("adv1"),)]

    theirs = make_workbook(shared.owner, shared.tmp / "a002.xlsx", "A002", {"0010000003": FILL})
    result = invoke("results", "upload", str(theirs), "-c", SLUG, db=adv1)
    assert result.exit_code == 1
    line = result.output.strip()
    assert line.startswith("Error: advisor A001 may upload only their own clients' results;")
    assert "row 2 of" in line and "a002.xlsx is A002's client" in line
    as_other = invoke("results", "upload", str(own), "-c", SLUG, "--advisor", "A002", db=adv1)
    assert as_other.exit_code == 1 and "not as --advisor A002" in as_other.output
    count = "SELECT count(*) FROM event WHERE source = 'upload'"
    with shared.psql("adv1") as conn:
        assert conn.execute(count).fetchone() == (1,)


@postgres_only
def test_managers_and_advisors_are_refused_ops_work_before_it_starts(shared: Shared) -> None:
    adv1 = shared.login("adv1", "advisor", advisor="A001")
    mgr1 = shared.login("mgr1", "manager", branches=["0101"])
    roster = shared.tmp / "roster_more.csv"
    for url, role in ((adv1, "advisor"), (mgr1, "manager")):
        user = shared.name("adv1" if role == "advisor" else "mgr1")
        for args in (
            ("load", str(shared.tmp / "accounts.csv"), "-c", SLUG),
            ("assign", "-c", SLUG, "--no-workbooks"),
            ("reassign", "-c", SLUG, "--from", "A001", "--to", "A002"),
            ("advisors", "load", str(roster)),
            ("campaign", "close", SLUG),
            ("campaign", "add", str(CAMPAIGN_FILE)),
            ("dnc", "load", str(shared.tmp / "dnc.csv")),
            ("activity", "load", str(shared.tmp / "dnc.csv")),
            ("branches", "alias", "浦东南路营业部", BRANCH_1),
            ("assignments", "export", "-c", SLUG),
            ("followups", "-c", SLUG, "--workbooks", str(shared.tmp / "followups")),
            ("access", "grant", "nobody_here", "--role", "ops"),
            ("access", "list"),
            ("wecom", "sync", "-c", SLUG),
            ("wecom", "qr", "-c", SLUG),
            ("wecom", "notify", "-c", SLUG, "--dry-run"),
            ("wecom", "transfers", "-c", SLUG),
        ):
            result = invoke(*args, db=url)
            assert result.exit_code == 1, (args, result.output)
            assert result.output.startswith(f"Error: {user} ({role}) may not "), result.output
            assert "only ops" in result.output
    book = make_workbook(shared.owner, shared.tmp / "a001.xlsx", "A001", {"0010000001": FILL})
    result = invoke("results", "upload", str(book), "-c", SLUG, db=mgr1)
    assert result.exit_code == 1
    assert "may not upload results; only ops, advisor may." in result.output


@postgres_only
def test_undo_and_correct_by_role(shared: Shared) -> None:
    adv1 = shared.login("adv1", "advisor", advisor="A001")
    adv2 = shared.login("adv2", "advisor", advisor="A002")
    mgr1 = shared.login("mgr1", "manager", branches=["0101"])
    ops = shared.login("ops1", "ops")
    book1 = make_workbook(shared.owner, shared.tmp / "a001.xlsx", "A001", {"0010000001": FILL})
    book2 = make_workbook(shared.owner, shared.tmp / "a002.xlsx", "A002", {"0010000003": FILL})
    assert invoke("results", "upload", str(book1), "-c", SLUG, db=adv1).exit_code == 0
    assert invoke("results", "upload", str(book2), "-c", SLUG, db=adv2).exit_code == 0
    imports = dict(
        _rows(shared.owner, "SELECT run_by, id FROM import_record WHERE kind = 'results'")
    )
    first, second = imports[shared.name("adv1")], imports[shared.name("adv2")]

    by_manager = invoke("results", "undo", str(first), db=mgr1)
    assert by_manager.exit_code == 1 and "may not undo uploads" in by_manager.output
    by_other = invoke("results", "undo", str(first), db=adv2)
    assert by_other.exit_code == 1
    assert by_other.output == (
        f"Error: {shared.name('adv2')} may undo only their own uploads;"
        f" import {first} was uploaded by {shared.name('adv1')}.\n"
    )
    assert invoke("results", "undo", str(first), db=adv1).exit_code == 0
    assert invoke("results", "undo", str(second), db=ops).exit_code == 0

    correct = ("results", "correct", "0010000003", "-c", SLUG, "--stage", "called")
    wrong = invoke(*correct, "--reason", "typo", db=adv1)
    assert wrong.exit_code == 1
    assert "advisor A001 may correct only their own clients; 0010000003 is A002's" in wrong.output
    assert invoke(*correct, "--reason", "typo", db=mgr1).exit_code == 1
    assert invoke(*correct, "--reason", "typo", db=adv2).exit_code == 0
    voids = _rows(
        shared.owner, "SELECT source, recorded_by FROM event WHERE stage = 'void' ORDER BY id"
    )
    assert voids == [
        ("undo", shared.name("adv1")),
        ("undo", shared.name("ops1")),
    ]  # 03's call was already undone: the correction found nothing left to void


@postgres_only
def test_two_advisors_upload_at_once_each_only_their_own(shared: Shared) -> None:
    urls = {
        "A001": shared.login("adv1", "advisor", advisor="A001"),
        "A002": shared.login("adv2", "advisor", advisor="A002"),
    }
    books = {
        "A001": make_workbook(
            shared.owner,
            shared.tmp / "a001.xlsx",
            "A001",
            {c: FILL for c in ("0010000001", "0010000002", "0010000004")},
        ),
        "A002": make_workbook(shared.owner, shared.tmp / "a002.xlsx", "A002", {"0010000003": FILL}),
    }
    errors: list[BaseException] = []

    def run(code: str) -> None:
        try:
            summary = upload(open_engine(urls[code]), SLUG, [books[code]], UploadOptions())
            assert summary.applied
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(code,)) for code in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    written = _rows(
        shared.owner,
        "SELECT client_id, advisor_code, recorded_by FROM event"
        " WHERE source = 'upload' ORDER BY client_id",
    )
    assert written == [
        ("0010000001", "A001", shared.name("adv1")),
        ("0010000002", "A001", shared.name("adv1")),
        ("0010000003", "A002", shared.name("adv2")),
        ("0010000004", "A001", shared.name("adv1")),
    ]
    _equal_to_a_rebuild(shared.owner)


def _derived(owner: str) -> list[list[tuple[Any, ...]]]:
    """The summary rows and the tallies, as the owner reads them."""
    return [
        sorted(_rows(owner, f"SELECT * FROM {table}"), key=repr)
        for table in ("client_stage", "stage_tally", "stage_days", "stage_dates")
    ]


def _equal_to_a_rebuild(owner: str) -> None:
    kept = _derived(owner)
    engine = open_engine(owner)
    with engine.begin() as conn:
        stages.refresh(conn, conn.execute(text("SELECT id FROM campaign")).scalar_one())
    engine.dispose()
    rebuilt = _derived(owner)
    for was, now in zip(kept, rebuilt, strict=True):
        assert set(now) - set(was) == set(), sorted(set(was) - set(now), key=repr)
    assert rebuilt == kept


def _refresh_function(owner: str) -> str:
    (name,) = _rows(
        owner,
        "SELECT proname FROM pg_proc WHERE proname LIKE 'reactivate_refresh%'"
        " AND pronamespace = current_schema()::regnamespace",
    )[0]
    return str(name)


@postgres_only
def test_only_ops_write_the_summary_and_tallies_an_advisor_s_refresh_only_their_own(
    shared: Shared,
) -> None:
    shared.login("adv2", "advisor", advisor="A002")
    shared.login("mgr1", "manager", branches=["0101"])
    refresh = _refresh_function(shared.owner)
    writes = (
        "INSERT INTO stage_tally (campaign_id, dim, key, assigned_at, arm, members)"
        " SELECT id, 'cohort', 'x', now(), 'assigned', 1000 FROM campaign",
        "UPDATE stage_tally SET members = members + 1000",
        "DELETE FROM stage_tally",
        "INSERT INTO stage_days (campaign_id, dim, key, stage, day, clients)"
        " SELECT id, 'cohort', 'x', 'called', 0, 1000 FROM campaign",
        "UPDATE stage_days SET clients = clients + 1000",
        "DELETE FROM stage_days",
        "UPDATE stage_dates SET clients = clients + 1000",
        "DELETE FROM stage_dates",
        "UPDATE client_stage SET stages_reached = 5",
        "DELETE FROM client_stage",
        "INSERT INTO client_stage (campaign_id, client_id, control, dnc)"
        " SELECT id, '0010000003', false, false FROM campaign",
    )
    before = _derived(shared.owner)
    for login in ("adv2", "mgr1"):
        with shared.psql(login) as conn:
            for sql in writes:
                assert "permission denied" in _refused(conn, sql), (login, sql)
            # nor read: the tallies hold other advisors' counts
            for table in ("stage_tally", "stage_dates"):
                assert "permission denied" in _refused(conn, f"SELECT * FROM {table}")
    with shared.psql("adv2") as conn:
        for ids in ("ARRAY['0010000001']", "ARRAY['0010000003', '0010000007']"):
            refused = _refused(conn, f"SELECT {refresh}({ids})")
            assert "may bring up to date only the summary of their own clients" in refused
        conn.execute(f"SELECT {refresh}(ARRAY['0010000003'])")  # their own: from the events
    with shared.psql("mgr1") as conn:
        assert "permission denied" in _refused(conn, f"SELECT {refresh}(ARRAY['0010000001'])")
    # nor through a void on their own client that names another advisor's event
    (theirs,) = _rows(shared.owner, "SELECT min(id) FROM event WHERE client_id = '0010000001'")
    with shared.psql("adv2") as conn:
        void = (
            "INSERT INTO event (campaign_id, client_id, stage, occurred_at, source, recorded_by,"
            f" recorded_at, voids_event_id) SELECT id, '0010000003', 'void', now(), 'undo',"
            f" '{shared.name('adv2')}', now(), {theirs[0]} FROM campaign"
        )
        assert "row-level security" in _refused(conn, void)
    assert _derived(shared.owner) == before


@postgres_only
def test_a_campaign_re_registered_by_an_ops_login_gets_a_new_refresh_function(
    shared: Shared,
) -> None:
    ops = shared.login("ops1", "ops")
    adv1 = shared.login("adv1", "advisor", advisor="A001")
    before = _refresh_function(shared.owner)
    fewer = CAMPAIGN_FILE.read_text(encoding="utf-8").replace(
        'stages = ["called", "reached", "wecom_added", "pushed", "converted"]',
        'stages = ["called", "reached", "wecom_added"]',
    )
    path = shared.tmp / "2020h2-dormant.toml"
    path.write_text(fewer.replace("converted = 0.064\n", ""), encoding="utf-8")
    result = invoke("campaign", "add", str(path), db=ops)
    assert result.exit_code == 0, result.output
    after = _refresh_function(shared.owner)  # the stale one dropped: one left
    assert after != before
    (owner,) = _rows(
        shared.owner, f"SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = '{after}'"
    )
    assert owner == (shared.name("ops"),)  # the group's, whoever made it
    book = make_workbook(shared.owner, shared.tmp / "a001.xlsx", "A001", {"0010000001": FILL})
    assert invoke("results", "upload", str(book), "-c", SLUG, db=adv1).exit_code == 0
    _equal_to_a_rebuild(shared.owner)
    # a deployment whose function is missing (or of an older release): refused before work
    engine = open_engine(shared.owner)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP FUNCTION {after}(text[])")
    engine.dispose()
    book = make_workbook(shared.owner, shared.tmp / "a001b.xlsx", "A001", {"0010000002": FILL})
    refused = invoke("results", "upload", str(book), "-c", SLUG, db=adv1)
    assert refused.exit_code == 1
    assert refused.output.startswith("Error: The database has no summary refresh")
    assert invoke("access", "init", "--prefix", shared.prefix, db=shared.owner).exit_code == 0
    assert invoke("results", "upload", str(book), "-c", SLUG, db=adv1).exit_code == 0
    _equal_to_a_rebuild(shared.owner)


@postgres_only
def test_only_db_upgrade_upgrades_a_shared_schema_and_it_applies_the_roles_again(
    shared: Shared,
) -> None:
    adv1 = shared.login("adv1", "advisor", advisor="A001")
    book = make_workbook(shared.owner, shared.tmp / "a001.xlsx", "A001", {"0010000001": FILL})
    # as a release ago: the revision before 0009 (whose columns 0009 keeps when found),
    # and the refresh function of that release's summary, not this one's
    engine = open_engine(shared.owner)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0007'")
        conn.exec_driver_sql(f"DROP FUNCTION {_refresh_function(shared.owner)}(text[])")
    engine.dispose()
    for db in (adv1, shared.owner):  # neither upgrades it on the way
        refused = invoke("results", "upload", str(book), "-c", SLUG, db=db)
        assert refused.exit_code == 1
        assert "only the schema's owner upgrades it, by `reactivate db upgrade`" in refused.output
    assert _rows(shared.owner, "SELECT version_num FROM alembic_version") == [("0007",)]

    upgraded = invoke("db", "upgrade", "--format", "json", db=shared.owner)
    assert upgraded.exit_code == 0, upgraded.output
    found = json.loads(upgraded.output)
    assert (found["before"], found["roles_applied"]) == ("0007", True)
    assert invoke("results", "upload", str(book), "-c", SLUG, db=adv1).exit_code == 0
    _equal_to_a_rebuild(shared.owner)
    # current: run again, it applies the roles all the same (a release may change the
    # refresh without a revision) and says so
    again = invoke("db", "upgrade", db=shared.owner)
    assert again.exit_code == 0 and "applied again" in again.output


@postgres_only
def test_an_advisor_s_upload_undo_and_correction_keep_the_tallies_equal_to_a_rebuild(
    shared: Shared,
) -> None:
    adv1 = shared.login("adv1", "advisor", advisor="A001")
    adv2 = shared.login("adv2", "advisor", advisor="A002")
    # A002's one client: an upload naming every member the advisor can see
    book2 = make_workbook(shared.owner, shared.tmp / "a002.xlsx", "A002", {"0010000003": FILL})
    assert invoke("results", "upload", str(book2), "-c", SLUG, db=adv2).exit_code == 0
    _equal_to_a_rebuild(shared.owner)
    wecom = {**FILL, "是否添加企业微信": "是", "添加时间": "2020-07-03 11:00"}
    book1 = make_workbook(
        shared.owner,
        shared.tmp / "a001.xlsx",
        "A001",
        {"0010000001": wecom, "0010000002": FILL, "0010000004": FILL},
    )
    assert invoke("results", "upload", str(book1), "-c", SLUG, db=adv1).exit_code == 0
    _equal_to_a_rebuild(shared.owner)
    assert _report(adv1)["stages"][0]["clients"] == 3
    correct = ("results", "correct", "0010000001", "-c", SLUG, "--stage", "called")
    assert invoke(*correct, "--reason", "wrong client", db=adv1).exit_code == 0
    _equal_to_a_rebuild(shared.owner)
    (first,) = _rows(
        shared.owner,
        f"SELECT id FROM import_record WHERE run_by = '{shared.name('adv2')}'",
    )
    assert invoke("results", "undo", str(first[0]), db=adv2).exit_code == 0
    _equal_to_a_rebuild(shared.owner)
    assert _report(shared.owner)["stages"][0]["clients"] == 2


def _report(url: str, *extra: str) -> dict[str, Any]:
    result = invoke("report", "-c", SLUG, "--format", "json", *extra, db=url)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _funnel(part: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The figures a report and a group both give: per stage, clients and shares."""
    return [
        (s["stage"], s["clients"], s["of_assigned"], s["of_previous"]) for s in part["stages"]
    ] + [("assigned", part["assigned"])]


@postgres_only
def test_a_manager_s_report_is_the_ops_report_of_their_branch(shared: Shared) -> None:
    mgr1 = shared.login("mgr1", "manager", branches=["0101"])
    book = make_workbook(
        shared.owner, shared.tmp / "a001.xlsx", "A001", {"0010000001": FILL, "0010000002": FILL}
    )
    assert invoke("results", "upload", str(book), "-c", SLUG, db=shared.owner).exit_code == 0
    by_branch = {g["key"]: g for g in _report(shared.owner, "--by", "branch")["groups"]}
    assert set(by_branch) == {BRANCH_1, BRANCH_2}
    mine = _report(mgr1)
    assert _funnel(mine) == _funnel(by_branch[BRANCH_1])
    assert mine["assigned"] == 5 and _report(shared.owner)["assigned"] == 6
    mine_by_branch = _report(mgr1, "--by", "branch")["groups"]
    assert [g["key"] for g in mine_by_branch] == [BRANCH_1]
    # a window too, from the manager's own rows and their events (no tallies to read)
    for window in (("--since", "2020-07-02"), ("--since", "2020-07-03", "--until", "2020-07-31")):
        groups = _report(shared.owner, "--by", "branch", *window)["groups"]
        ops = {g["key"]: g for g in groups}
        assert _funnel(_report(mgr1, *window)) == _funnel(ops[BRANCH_1])
    # the sections the campaign-wide tallies feed are counted from the manager's rows too
    silent = {a["key"] for a in _report(shared.owner)["data_quality"]["silent_advisors"]}
    assert silent == {"A002", "A003"}
    assert [a["key"] for a in mine["data_quality"]["silent_advisors"]] == ["A002"]


def _without_time(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "generated_at"}


@postgres_only
def test_a_partial_view_s_weekly_trend_is_counted_from_its_own_rows(shared: Shared) -> None:
    both = shared.login("mgr12", "manager", branches=["0101", "0202"])
    mgr1 = shared.login("mgr1", "manager", branches=["0101"])
    mgr2 = shared.login("mgr2", "manager", branches=["0202"])
    adv3 = shared.login("adv3", "advisor", advisor="A003")
    later = {
        "通话结果": "接通",
        "通话时间": "2020-07-14 10:00",
        "是否添加企业微信": "是",
        "添加时间": "2020-07-15 10:00",
    }
    book1 = make_workbook(
        shared.owner, shared.tmp / "a001.xlsx", "A001", {"0010000001": FILL, "0010000002": later}
    )
    book3 = make_workbook(
        shared.owner,
        shared.tmp / "a003.xlsx",
        "A003",
        {"0010000007": later},
        clients=["0010000007"],
    )
    for book in (book1, book3):
        assert invoke("results", "upload", str(book), "-c", SLUG, db=shared.owner).exit_code == 0
    ops = _report(shared.owner, "--by", "week")
    assert [(g["key"], [s["clients"] for s in g["stages"]]) for g in ops["groups"]] == [
        ("2020-W27", [1, 1, 0, 0, 0]),
        ("2020-W29", [2, 2, 2, 0, 0]),
    ]
    # a manager of every branch reads every row: their trend is the ops trend, medians too
    assert _without_time(_report(both, "--by", "week")) == _without_time(ops)
    # the branches' trends add up to the campaign's, week by week and stage by stage
    parts = [_report(url, "--by", "week") for url in (mgr1, mgr2)]
    for group in ops["groups"]:
        found = [g for part in parts for g in part["groups"] if g["key"] == group["key"]]
        assert sum(g["assigned"] for g in found) == group["assigned"]
        for i, stage in enumerate(group["stages"]):
            assert sum(g["stages"][i]["clients"] for g in found) == stage["clients"]
    mine = _report(adv3, "--by", "week")
    assert mine["assigned"] == 1
    assert [(g["key"], g["stages"][0]["clients"]) for g in mine["groups"]] == [
        (ops["groups"][0]["key"], 0),
        (ops["groups"][1]["key"], 1),
    ]


@postgres_only
def test_a_manager_s_upload_quality_counts_their_advisors_uploads_only(shared: Shared) -> None:
    mgr1 = shared.login("mgr1", "manager", branches=["0101"])
    mgr2 = shared.login("mgr2", "manager", branches=["0202"])
    wrong = {"通话结果": "不知道", "通话时间": "2020-07-02 10:00"}
    books = [
        make_workbook(shared.owner, shared.tmp / "a001.xlsx", "A001", {"0010000001": wrong}),
        make_workbook(
            shared.owner,
            shared.tmp / "a003.xlsx",
            "A003",
            {"0010000007": wrong},
            clients=["0010000007"],
        ),
    ]
    for book in books:  # refused: one rejected row each
        assert invoke("results", "upload", str(book), "-c", SLUG, db=shared.owner).exit_code == 1

    def quality(url: str) -> tuple[int, int]:
        found = _report(url)["data_quality"]
        return found["uploads_refused"], found["rows_rejected"]

    assert quality(shared.owner) == (2, 2)
    assert quality(mgr1) == (1, 1) and quality(mgr2) == (1, 1)
    with shared.psql("mgr1") as conn:  # the import log, outside our code: their advisors'
        files = conn.execute("SELECT file_name FROM import_record WHERE kind = 'results'")
        assert [Path(name).name for (name,) in files.fetchall()] == ["a001.xlsx"]


@postgres_only
def test_grant_revoke_and_a_reassignment_move_access_with_the_clients(shared: Shared) -> None:
    shared.login("adv3", "advisor", advisor="A003")
    adv1 = shared.login("adv1", "advisor", advisor="A001")
    mine = "SELECT client_id FROM member ORDER BY client_id"
    with shared.psql("adv3") as conn:
        assert conn.execute(mine).fetchall() == [("0010000007",)]
    ops = shared.login("ops1", "ops")
    moved = invoke(
        "reassign", "-c", SLUG, "--from", "A003", "--to", "A001", "--no-workbooks", db=ops
    )
    assert moved.exit_code == 0, moved.output
    reassigned_by = "SELECT DISTINCT recorded_by FROM event WHERE source = 'reassign'"
    assert _rows(shared.owner, reassigned_by) == [(shared.name("ops1"),)]
    with shared.psql("adv3") as conn:
        assert conn.execute(mine).fetchall() == []
        assert conn.execute("SELECT count(*) FROM event").fetchone() == (0,)
    with shared.psql("adv1") as conn:
        assert ("0010000007",) in conn.execute(mine).fetchall()
        # the history moves too: the first assignment to A003 is A001's to read now
        history = conn.execute(
            "SELECT value FROM event WHERE client_id = '0010000007' AND stage = 'assigned'"
            " ORDER BY id"
        ).fetchall()
        assert [v for (v,) in history][-2:] == ["A003", "A001"]
    assert invoke("access", "revoke", shared.name("adv1"), db=shared.owner).exit_code == 0
    for args in (
        ("report", "-c", SLUG),
        ("results", "undo", "1"),
        ("client", "show", "x", "-c", SLUG),
    ):
        refused = invoke(*args, db=adv1)
        assert refused.exit_code == 1
        assert refused.output.startswith(
            f"Error: {shared.name('adv1')} has no role in this database"
        )
    with shared.psql("adv1") as conn:
        assert "permission denied" in _refused(conn, mine)
        assert conn.execute("SELECT * FROM access_user").fetchall() == []
    shared.login("adv3", "manager", branches=["北京金融街营业部"])
    with shared.psql("adv3") as conn:
        assert conn.execute(mine).fetchall() == [("0010000007",)]  # its client's branch
    listed = invoke("access", "list", "--format", "json", db=shared.owner)
    assert listed.exit_code == 0, listed.output
    assert {(g["user"], g["role"]) for g in json.loads(listed.stdout)} == {
        (shared.name("adv3"), "manager"),
        (shared.name("ops1"), "ops"),
    }


@postgres_only
def test_grant_makes_a_missing_login_and_says_so(shared: Shared) -> None:
    ops = shared.login("ops1", "ops")  # an ops login, not the owner, grants in turn
    user = shared.name("newcomer")
    shared.logins.append(user)
    result = invoke("access", "grant", user, "--role", "manager", "--branch", "0101", db=ops)
    assert result.exit_code == 0, result.output
    assert f"{user} is now manager of {BRANCH_1}." in result.output
    assert f"Login role {user} created without a password" in result.output
    again = invoke("access", "grant", user, "--role", "advisor", "--advisor", "A002", db=ops)
    assert again.exit_code == 0 and "created" not in again.output
    with shared.psql("newcomer") as conn:
        assert conn.execute("SELECT client_id FROM member").fetchall() == [("0010000003",)]
    for args, message in (
        (("--role", "boss"), "--role boss: choose one of ops, manager, advisor, analyst."),
        (("--role", "manager"), "A manager needs at least one --branch CODE"),
        (("--role", "manager", "--branch", "9999"), "No branch '9999'"),
        (("--role", "advisor", "--advisor", "A999"), "A999"),
    ):
        bad = invoke("access", "grant", user, *args, db=ops)
        assert bad.exit_code == 1 and message in bad.output, bad.output


def test_sqlite_has_no_roles(sqlite_url: str) -> None:
    for args in (("init",), ("grant", "someone", "--role", "ops"), ("revoke", "x"), ("list",)):
        result = invoke("access", *args, db=sqlite_url)
        assert result.exit_code == 1
        assert (
            result.output
            == "Error: Access control needs a shared PostgreSQL; a SQLite file has one user, its owner.\n"
        )


def test_sqlite_records_reactivate_user(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REACTIVATE_USER", "li.ops")
    setup_db(sqlite_url, tmp_path)
    assert set(_rows(sqlite_url, "SELECT run_by FROM import_record")) == {("li.ops",)}


@postgres_only
def test_postgresql_records_the_login_whatever_reactivate_user_says(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REACTIVATE_USER", "li.ops")
    setup_db(db_url, tmp_path)
    login = os.environ.get("REACTIVATE_TEST_PG_URL", "").split("://", 1)[1].split("@", 1)[0]
    assert set(_rows(db_url, "SELECT run_by FROM import_record")) == {(login,)}


def _json(url: str, *args: str) -> Any:
    result = invoke(*args, "--format", "json", db=url)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@postgres_only
def test_a_manager_sees_their_branch_masked_through_every_command(shared: Shared) -> None:
    mgr1 = shared.login("mgr1", "manager", branches=["0101"])
    book = make_workbook(shared.owner, shared.tmp / "a001.xlsx", "A001", {"0010000001": FILL})
    assert invoke("results", "upload", str(book), "-c", SLUG, db=shared.owner).exit_code == 0

    show = ("client", "show", "0010000001", "-c", SLUG)
    mine, ops = _json(mgr1, *show), _json(shared.owner, *show)
    assert mine == ops  # masked by the database as our code masks: the same view
    assert mine["name"] == "张*" and mine["mobile"] == "138****0001"
    other_branch = invoke("client", "show", "0010000007", "-c", SLUG, db=mgr1)
    assert other_branch.exit_code == 1

    dropped = ("report", "-c", SLUG, "--dropped", "called")
    ops_dropped = _json(shared.owner, *dropped)["dropped"]["clients"]
    in_branch = [c for c in ops_dropped if c["client_id"] != "0010000007"]
    assert len(in_branch) < len(ops_dropped)
    assert _json(mgr1, *dropped)["dropped"]["clients"] == in_branch

    ops_followups = _json(shared.owner, "followups", "-c", SLUG)
    mine_followups = _json(mgr1, "followups", "-c", SLUG)
    ids = {f["client_id"] for f in mine_followups["followups"]}
    assert ids and "0010000007" not in ids
    assert [f for f in ops_followups["followups"] if f["client_id"] in ids] == mine_followups[
        "followups"
    ]
    assert all("*" in f["mobile"] for f in mine_followups["followups"])


@postgres_only
def test_an_advisor_s_own_lists_are_whole_and_hold_only_their_clients(shared: Shared) -> None:
    adv2 = shared.login("adv2", "advisor", advisor="A002")
    own = _json(adv2, "followups", "-c", SLUG, "--advisor", "A002")["followups"]
    assert [(f["client_id"], f["mobile"]) for f in own] == [("0010000003", "13810000003")]
    assert _json(adv2, "followups", "-c", SLUG, "--advisor", "A001")["followups"] == []
    assert _json(adv2, "report", "-c", SLUG)["assigned"] == 1
    assert invoke("client", "show", "0010000001", "-c", SLUG, db=adv2).exit_code == 1
    assert _json(adv2, "imports", "list") == []


@postgres_only
def test_an_analyst_reads_every_branch_masked_and_writes_nothing(shared: Shared) -> None:
    analyst = shared.login("ana", "analyst")
    ops_report, report = (
        _json(shared.owner, "report", "-c", SLUG),
        _json(analyst, "report", "-c", SLUG),
    )
    assert _funnel(report) == _funnel(ops_report)
    shown = _json(analyst, "client", "show", "0010000007", "-c", SLUG)
    assert shown["mobile"] == "138****0007"
    edge_cases = [("A", "1234567"), ("欧阳娜娜", "+8613800138000"), ("", ""), (None, None)]
    engine = create_engine(shared.owner)
    with engine.begin() as conn:
        for n, (name, mobile) in enumerate(edge_cases):
            conn.execute(
                text(
                    "INSERT INTO client (client_id, name, mobile, branch, updated_at)"
                    " VALUES (:id, :name, :mobile, :branch, now())"
                ),
                {"id": f"edge{n}", "name": name, "mobile": mobile, "branch": BRANCH_1},
            )
    engine.dispose()
    with shared.psql("ana") as conn:
        masked = conn.execute(
            "SELECT name, mobile FROM client_masked WHERE client_id LIKE 'edge%' ORDER BY client_id"
        ).fetchall()
        # the database masks as reactivate.privacy does, so masking again changes nothing
        assert [(mask_name(n), mask_mobile(m)) for n, m in masked] == [
            (mask_name(n), mask_mobile(m)) for n, m in edge_cases
        ]
        assert [(n or "", m or "") for n, m in masked] == [
            (mask_name(n), mask_mobile(m)) for n, m in edge_cases
        ]
        assert "permission denied" in _refused(conn, "SELECT mobile FROM client")
        assert "permission denied" in _refused(conn, "DELETE FROM event")
        assert "permission denied" in _refused(conn, "SELECT * FROM meta")


@postgres_only
def test_an_ops_login_s_bulk_load_keeps_the_keys_and_indexes_it_does_not_own(
    shared: Shared, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the tables' owner may drop their foreign keys and indexes for a bulk insert
    (`bulk.foreign_keys_checked_once`, `bulk.indexes_built_after`): an ops login's load of
    as many rows still loads, the keys and indexes checking and growing row by row."""
    from reactivate.db import bulk

    monkeypatch.setattr(bulk, "FOREIGN_KEYS_ONCE_FROM", 1)
    ops = shared.login("li", "ops")
    accounts = shared.tmp / "more.csv"
    accounts.write_text(
        "客户号,客户姓名,手机号码,所属营业部,总资产(元),最后交易日期,风险承受能力\n"
        f"0020000001,陈一,13900000001,{BRANCH_1},20000,2019-06-01,C3\n"
        f"0020000002,陈二,13900000002,{BRANCH_1},30000,2019-06-01,C2\n",
        encoding="utf-8",
    )
    result = invoke("load", str(accounts), "-c", SLUG, "--format", "json", db=ops)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["loaded"] == 2

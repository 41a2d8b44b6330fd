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
        stages.refresh(conn, cid, ["0010000007"])  # the summary carries the client's branch
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
    # the sections the campaign-wide tallies feed are counted from the manager's rows too
    silent = {a["key"] for a in _report(shared.owner)["data_quality"]["silent_advisors"]}
    assert silent == {"A002", "A003"}
    assert [a["key"] for a in mine["data_quality"]["silent_advisors"]] == ["A002"]
    week = invoke("report", "-c", SLUG, "--by", "week", db=mgr1)
    assert week.exit_code == 1 and "--by cohort" in week.output


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

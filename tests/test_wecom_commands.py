"""`reactivate wecom qr | notify | transfers` and `reassign --wecom` against the fake WeCom."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fake_wecom import FakeWeCom, fake_wecom  # noqa: F401
from helpers import CAMPAIGN_FILE, ROOT, query
from sqlalchemy import text
from typer.testing import CliRunner

from reactivate.assign import reassign
from reactivate.cli import app
from reactivate.db.engine import open_engine
from reactivate.errors import ConfigError, WeComError
from reactivate.sheets.workbook import CALL_SHEET, LINK_HEADER
from reactivate.wecom.client import WeComClient
from reactivate.wecom.contact_ways import create_ways
from reactivate.wecom.notify import PER_MEMBER_PER_MINUTE, _Pacer
from reactivate.wecom.tokens import DatabaseTokenStore, MemoryTokenStore

DATA = ROOT / "data"
SLUG = "2020h2-dormant"
AUGUST = int(dt.datetime(2020, 8, 3, tzinfo=dt.UTC).timestamp())


def run(db: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(app, [*args, "--db", db], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def run_json(db: str, *args: str, env: dict[str, str] | None = None) -> Any:
    return json.loads(run(db, *args, "-f", "json", env=env))


def set_up(db: str, fake: FakeWeCom, *assign_args: str, hidden: str = "A0003") -> dict[str, str]:
    """The sample campaign assigned; every advisor known to the fake (`hidden` outside the
    app's visibility); returns advisor code -> WeCom userid."""
    run(db, "campaign", "add", str(CAMPAIGN_FILE))
    run(db, "advisors", "load", str(DATA / "advisors.xlsx"))
    run(db, "load", str(DATA / "dormant_accounts.xlsx"), "-c", SLUG)
    run(
        db, "assign", "-c", SLUG, "--assigned-at", "2020-07-01T09:00:00", "-f", "json", *assign_args
    )
    users = {str(c): str(u) for c, u in query(db, "SELECT code, wecom_userid FROM advisor")}
    for code, userid in users.items():
        fake.add_advisor(userid, visible=code != hidden, resigned=code == "A0005")
    return users


def add_by_mobile(db: str, fake: FakeWeCom, users: dict[str, str], code: str, n: int) -> list[str]:
    """`n` of the advisor's clients add them on WeCom (the advisor notes their mobile)."""
    rows = query(
        db,
        "SELECT c.mobile FROM member m JOIN client c ON c.client_id = m.client_id"
        " WHERE m.advisor_code = :code ORDER BY m.client_id",
        code=code,
    )
    return [
        fake.add_contact(users[code], remark_mobiles=[str(mobile)], add_way=2, createtime=AUGUST)
        for (mobile,) in rows[:n]
    ]


def test_qr_makes_one_way_per_advisor_into_the_workbook_and_removes_them(
    sqlite_url: str,
    tmp_path: Path,
    fake_wecom: FakeWeCom,  # noqa: F811
) -> None:
    set_up(sqlite_url, fake_wecom, "--no-workbooks")
    env = fake_wecom.env()
    made = run_json(sqlite_url, "wecom", "qr", "-c", SLUG, env=env)
    assert (made["created"], made["existing"]) == (10, 0)
    assert made["refused"] == [{"advisor": "A0003", "errcode": 60011}]
    assert len(made["links"]) == 10 and len(fake_wecom.contact_ways) == 10
    again = run_json(sqlite_url, "wecom", "qr", "-c", SLUG, env=env)
    assert (again["created"], again["existing"]) == (0, 10)
    rows = query(sqlite_url, "SELECT state, config_id, client_id FROM wecom_contact_way")
    assert {r[1] for r in rows} == set(fake_wecom.contact_ways)
    assert all(len(r[0]) <= 30 and r[0].isascii() and r[2] is None for r in rows)
    assert {w["remark"] for w in fake_wecom.contact_ways.values()} == {SLUG}

    # the advisor's next workbook carries their link
    out = tmp_path / "out"
    # (the library: the CLI's table trips over a duplicate "summary.workbooks" message key)
    engine = open_engine(sqlite_url)
    reassign(engine, SLUG, "A0002", "A0001", out_dir=out)
    engine.dispose()
    (path,) = out.rglob("A0001-*.xlsx")
    workbook = openpyxl.load_workbook(path, read_only=True)
    cells = {
        str(cell.value)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value
    }
    workbook.close()
    assert made["links"]["A0001"] in cells

    table = run(sqlite_url, "wecom", "qr", "-c", SLUG, "--remove", env=env)
    assert "removed" in table
    assert fake_wecom.contact_ways == {}
    assert query(sqlite_url, "SELECT count(*) FROM wecom_contact_way WHERE removed_at IS NULL") == [
        (0,)
    ]
    gone = run_json(sqlite_url, "wecom", "qr", "-c", SLUG, "--remove", env=env)
    assert (gone["removed"], gone["already_gone"]) == (0, 0)


def test_qr_per_client_refuses_over_the_quota_and_paces_itself(
    sqlite_url: str,
    tmp_path: Path,
    fake_wecom: FakeWeCom,  # noqa: F811
) -> None:
    set_up(sqlite_url, fake_wecom, "--no-workbooks")
    sleeps: list[float] = []
    engine = open_engine(sqlite_url)
    with WeComClient(fake_wecom.settings(), DatabaseTokenStore(engine)) as wecom:
        with pytest.raises(ConfigError, match="--per-client needs 392 new contact ways"):
            create_ways(engine, wecom, SLUG, per_client=True, quota=391, sleep=sleeps.append)
        assert fake_wecom.contact_ways == {} and sleeps == []
        made = create_ways(engine, wecom, SLUG, per_client=True, sleep=sleeps.append)
    engine.dispose()
    hidden = query(sqlite_url, "SELECT count(*) FROM member WHERE advisor_code = 'A0003'")[0][0]
    assert made.created == 392 - hidden == len(fake_wecom.contact_ways)
    assert made.refused == {"A0003": 60011}
    assert len(sleeps) == made.created and set(sleeps) == {0.04}  # one pause between calls
    states = query(sqlite_url, "SELECT state, client_id FROM wecom_contact_way")
    assert len({s for s, _ in states}) == len(states)
    assert all(client_id not in state for state, client_id in states)

    # each client's own link goes into the row of the advisor's next workbook
    links = dict(query(sqlite_url, "SELECT client_id, qr_code FROM wecom_contact_way"))
    out = tmp_path / "out"
    engine = open_engine(sqlite_url)
    reassign(engine, SLUG, "A0002", "A0001", out_dir=out)
    engine.dispose()
    (path,) = out.rglob("A0001-*.xlsx")
    workbook = openpyxl.load_workbook(path, read_only=True)
    rows = list(workbook[CALL_SHEET].iter_rows(values_only=True))
    workbook.close()
    column = rows[0].index(LINK_HEADER)
    written = {row[0]: row[column] for row in rows[1:] if row[0]}
    assert written and all(written[c] == links[c] for c in written if c in links)
    assert any(c in links for c in written)
    # the extra column does not stand in the way of the upload
    uploaded = run_json(sqlite_url, "results", "upload", str(path), "-c", SLUG)
    assert uploaded["rejected"] == 0 and uploaded["rows"] == len(written)


def test_notify_sends_each_advisor_their_numbers_workbook_and_the_robot_summary(
    sqlite_url: str,
    tmp_path: Path,
    fake_wecom: FakeWeCom,  # noqa: F811
) -> None:
    users = set_up(sqlite_url, fake_wecom, "--out", str(tmp_path / "out"))
    env = fake_wecom.env()
    add_by_mobile(sqlite_url, fake_wecom, users, "A0001", 2)
    assert run_json(sqlite_url, "wecom", "sync", "-c", SLUG, env=env)["events"] == 2
    clients = query(sqlite_url, "SELECT count(*) FROM member WHERE advisor_code = 'A0001'")[0][0]

    # a dry run needs no WeCom settings and sends nothing
    dry = run(sqlite_url, "wecom", "notify", "-c", SLUG, "--attach", "--webhook", "--dry-run")
    assert f"you have {clients} client(s)" in dry
    assert "on WeCom 2 (2 confirmed by WeCom)" in dry
    assert "Dry run" in dry and "group robot" in dry
    assert "the funnel as a picture (PNG" in dry
    assert fake_wecom.messages == [] and fake_wecom.webhook_messages == []
    mobiles = [str(m) for (m,) in query(sqlite_url, "SELECT mobile FROM client")]
    assert not any(m in dry for m in mobiles)

    result = CliRunner().invoke(
        app,
        ["wecom", "notify", "-c", SLUG, "--attach", "--webhook", "-f", "json", "--db", sqlite_url],
        env=env,
    )
    assert result.exit_code == 0, result.output
    sent = json.loads(result.stdout)
    assert (sent["texts"], sent["files"], sent["webhook"], sent["chart"]) == (10, 10, True, True)
    assert sent["invalid"] == ["A0003"]
    assert fake_wecom.secret not in result.output and fake_wecom.webhook_key not in result.output
    texts = {
        m["touser"]: m["text"]["content"] for m in fake_wecom.messages if m["msgtype"] == "text"
    }
    assert f"you have {clients} client(s)" in texts[users["A0001"]]
    files = [m for m in fake_wecom.messages if m["msgtype"] == "file"]
    assert len(files) == len(fake_wecom.media) == 10
    assert all(name.endswith(".xlsx") for name, _ in fake_wecom.media.values())
    robot, picture = fake_wecom.webhook_messages
    markdown = robot["markdown"]["content"]
    assert len(markdown.encode()) <= 4096
    assert "392 clients assigned" in markdown and "| WeCom added | 2 |" in markdown
    # the funnel as an image message: a PNG, base64 with the md5 of its bytes (the fake
    # refuses anything else), within WeCom's 2 MB
    png = base64.b64decode(picture["image"]["base64"])
    assert picture["msgtype"] == "image" and png.startswith(b"\x89PNG")
    assert picture["image"]["md5"] == hashlib.md5(png).hexdigest()
    assert len(png) <= 2 * 1024 * 1024


def test_notify_without_the_chart_posts_markdown_only(
    sqlite_url: str,
    tmp_path: Path,
    fake_wecom: FakeWeCom,  # noqa: F811
) -> None:
    set_up(sqlite_url, fake_wecom, "--no-workbooks")
    args = ["wecom", "notify", "-c", SLUG, "--webhook", "--no-chart", "-f", "json"]
    result = CliRunner().invoke(app, [*args, "--db", sqlite_url], env=fake_wecom.env())
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["chart"] is False
    assert [m["msgtype"] for m in fake_wecom.webhook_messages] == ["markdown"]
    # without a Chinese font the picture cannot be drawn: said, with the way round it
    env = {**fake_wecom.env(), "REACTIVATE_FONT": str(tmp_path / "no-such-font.ttc")}
    args = ["wecom", "notify", "-c", SLUG, "--webhook", "--db", sqlite_url]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 1
    assert "no-such-font.ttc" in result.output and "--no-chart" in result.output
    assert len(fake_wecom.webhook_messages) == 1  # nothing more was sent


def test_the_fake_robot_refuses_an_image_whose_md5_is_wrong(
    fake_wecom: FakeWeCom,  # noqa: F811
) -> None:
    with WeComClient(fake_wecom.settings(), MemoryTokenStore()) as wecom:
        wecom.webhook_image(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
        with pytest.raises(WeComError):
            wecom._webhook({"msgtype": "image", "image": {"base64": "iVBORw0K", "md5": "0" * 32}})
        with pytest.raises(ValueError, match="2097152"):
            wecom.webhook_image(b"\x89PNG" + b"0" * (2 * 1024 * 1024))
    assert len(fake_wecom.webhook_messages) == 1


def test_pacer_waits_before_a_members_31st_message_in_a_minute() -> None:
    sleeps: list[float] = []
    clock = iter([float(i) for i in range(100)])
    pacer = _Pacer(sleeps.append, lambda: next(clock))
    for _ in range(PER_MEMBER_PER_MINUTE):
        pacer.wait("zhangsan")
    pacer.wait("lisi")
    assert sleeps == []
    pacer.wait("zhangsan")  # the 31st, 31 s after the first
    assert sleeps == [29.0]


def test_reassign_wecom_hands_customers_over_and_transfers_records_the_outcome(
    sqlite_url: str,
    fake_wecom: FakeWeCom,  # noqa: F811
) -> None:
    users = set_up(sqlite_url, fake_wecom, "--no-workbooks", hidden="")
    env = fake_wecom.env()
    moved = add_by_mobile(sqlite_url, fake_wecom, users, "A0001", 3)
    departed = add_by_mobile(sqlite_url, fake_wecom, users, "A0005", 2)
    assert run_json(sqlite_url, "wecom", "sync", "-c", SLUG, env=env)["matched"] == 5

    # still employed: 在职继承
    args = ("reassign", "-c", SLUG, "--from", "A0001", "--to", "A0002", "--no-workbooks")
    summary = run_json(sqlite_url, *args, "--wecom", env=env)
    assert summary["wecom"]["resigned"] is False
    assert (summary["wecom"]["customers"], summary["wecom"]["started"]) == (3, 3)
    (call,) = fake_wecom.requests_to("externalcontact/transfer_customer")
    assert call.body["handover_userid"] == users["A0001"]
    assert call.body["takeover_userid"] == users["A0002"]
    assert sorted(call.body["external_userid"]) == sorted(moved)

    fake_wecom.set_transfer_status(moved[0], 1, AUGUST + 86400)
    fake_wecom.set_transfer_status(moved[1], 3)
    polled = run_json(sqlite_url, "wecom", "transfers", "-c", SLUG, env=env)
    assert (polled["done"], polled["refused"], polled["waiting"], polled["updated"]) == (1, 1, 1, 2)
    assert run_json(sqlite_url, "wecom", "transfers", "-c", SLUG, env=env)["updated"] == 0
    done = query(sqlite_url, "SELECT client_id, takeover_time FROM wecom_transfer WHERE status = 1")
    assert len(done) == 1 and done[0][0] is not None and done[0][1] is not None

    # left the firm (roster says so): 离职继承; a contact gone on WeCom is reported per customer
    engine = open_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE advisor SET active = false WHERE code = 'A0005'"))
    engine.dispose()
    fake_wecom.remove_contact(users["A0005"], departed[1])
    table = run(
        sqlite_url, "reassign", "-c", SLUG, "--from", "A0005", "--no-workbooks", "--wecom", env=env
    )
    assert "1 of 2 customer(s) handed over with resigned/transfer_customer" in table
    assert "errcode 40096: 1 customer(s)" in table
    assert len(fake_wecom.requests_to("externalcontact/resigned/transfer_customer")) >= 1
    assert query(
        sqlite_url,
        "SELECT DISTINCT resigned FROM wecom_transfer WHERE handover = :u",
        u=users["A0005"],
    ) == [(1,)]

    # running it again hands over only what did not start
    again = run_json(sqlite_url, *args, "--wecom", env=env)
    assert again["wecom"]["customers"] == 0

    # --wecom checks the settings before anything moves
    result = CliRunner().invoke(
        app,
        ["reassign", "-c", SLUG, "--from", "A0002", "--to", "A0001", "--wecom", "--db", sqlite_url],
        env={"REACTIVATE_WECOM_CORPID": ""},
    )
    assert result.exit_code == 1 and "REACTIVATE_WECOM_CORPID" in result.output
    assert query(sqlite_url, "SELECT count(*) FROM member WHERE advisor_code = 'A0002'")[0][0] > 0

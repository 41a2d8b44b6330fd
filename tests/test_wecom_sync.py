"""`reactivate wecom sync` against the fake WeCom over real sockets, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fake_wecom import FakeWeCom, fake_wecom  # noqa: F401
from helpers import CAMPAIGN_FILE, ROOT, query
from sqlalchemy import text
from typer.testing import CliRunner

from reactivate.cli import app
from reactivate.db.engine import open_engine
from reactivate.wecom.client import WeComClient
from reactivate.wecom.contact_ways import create_ways, make_state
from reactivate.wecom.sync import normalize_mobile
from reactivate.wecom.tokens import DatabaseTokenStore

DATA = ROOT / "data"
SLUG = "2020h2-dormant"
ASSIGNED_AT = "2020-07-01T09:00:00"  # Shanghai: 01:00 UTC


def stamp(day: str) -> int:
    """Seconds since the epoch of an ISO date/time taken as UTC."""
    return int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp())


def run(db: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(app, [*args, "--db", db], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def execute(db: str, sql: str, **params: Any) -> None:
    engine = open_engine(db)
    with engine.begin() as conn:
        conn.execute(text(sql), params)
    engine.dispose()


def set_up(db: str) -> None:
    run(db, "campaign", "add", str(CAMPAIGN_FILE))
    run(db, "advisors", "load", str(DATA / "advisors.xlsx"))
    run(db, "load", str(DATA / "dormant_accounts.xlsx"), "-c", SLUG)
    run(db, "assign", "-c", SLUG, "--no-workbooks", "--assigned-at", ASSIGNED_AT)


def book(db: str, code: str) -> list[tuple[str, str]]:
    """(client id, mobile) of an advisor's clients, in client id order."""
    rows = query(
        db,
        "SELECT m.client_id, c.mobile FROM member m JOIN client c ON c.client_id = m.client_id"
        " WHERE m.advisor_code = :code ORDER BY m.client_id",
        code=code,
    )
    return [(str(a), str(b)) for a, b in rows]


def userids(db: str) -> dict[str, str]:
    return {str(c): str(u) for c, u in query(db, "SELECT code, wecom_userid FROM advisor")}


def sync_json(db: str, fake: FakeWeCom) -> dict[str, Any]:
    return json.loads(run(db, "wecom", "sync", "-c", SLUG, "-f", "json", env=fake.env()))  # type: ignore[no-any-return]


def test_sync_matches_by_state_then_mobile_is_idempotent_and_tracks_losses(
    db_url: str,
    fake_wecom: FakeWeCom,  # noqa: F811
) -> None:
    set_up(db_url)
    users = userids(db_url)
    for code, userid in users.items():
        fake_wecom.add_advisor(
            userid, visible=code != "A0003", licensed=code != "A0004", resigned=code == "A0010"
        )
    # per-client 「联系我」 ways: their states tie an add to one client
    engine = open_engine(db_url)
    with WeComClient(fake_wecom.settings(), DatabaseTokenStore(engine)) as wecom:
        made = create_ways(engine, wecom, SLUG, per_client=True, pace=0)
    engine.dispose()
    assert made.refused == {"A0003": 60011}
    mine = book(db_url, "A0001")
    (c0, _), (c1, m1), (c2, m2), (c3, _), (c4, m4) = mine[:5]
    state = query(db_url, "SELECT state FROM wecom_contact_way WHERE client_id = :c", c=c0)[0][0]
    assert len(state) <= 30 and state.isascii() and c0 not in state
    # a family sharing one mobile: c2 and c3 are both A0001's clients
    execute(db_url, "UPDATE client SET mobile = :m WHERE client_id = :c", m=m2, c=c3)
    a1, a2 = users["A0001"], users["A0002"]
    by_state = fake_wecom.add_contact(a1, state=state, createtime=stamp("2020-08-01T02:00"))
    by_mobile = fake_wecom.add_contact(
        a1,
        remark_mobiles=[f"+86 {m1[:3]}-{m1[3:7]}-{m1[7:]}"],
        add_way=2,
        createtime=stamp("2020-08-02T03:00"),
    )
    fake_wecom.add_contact(a1, remark_mobiles=[m2], add_way=2, createtime=stamp("2020-08-03"))
    preexisting = fake_wecom.add_contact(
        a1, remark_mobiles=[m4], add_way=2, createtime=stamp("2020-01-05")
    )
    fake_wecom.add_contact(
        a1, remark_mobiles=["13900000000"], add_way=2, createtime=stamp("2020-09-01")
    )
    client_name = query(db_url, "SELECT name FROM client WHERE client_id = :c", c=mine[5][0])
    fake_wecom.add_contact(a1, name=str(client_name[0][0]), createtime=stamp("2020-08-05"))
    fake_wecom.add_contact(a1, createtime=stamp("2019-03-01"))  # long before the campaign
    (c5, m5) = book(db_url, "A0002")[0]
    other = fake_wecom.add_contact(a2, remark_mobiles=[m5], createtime=stamp("2020-08-10"))
    for code in ("A0003", "A0004"):  # refused, unlicensed: never read
        (client, mobile) = book(db_url, code)[0]
        fake_wecom.add_contact(users[code], remark_mobiles=[mobile], createtime=stamp("2020-08-10"))

    first = sync_json(db_url, fake_wecom)
    expected = {
        "advisors": 11,
        "contacts": 8,
        "matched": 4,
        "events": 4,
        "unmatched": 2,  # the new stranger and the name-only contact
        "ambiguous": 1,
        "lost": 0,
    }
    assert {k: first[k] for k in expected} == expected
    assert first["preexisting"] == 1
    assert first["refused"] == [{"advisor": "A0003", "errcode": 60011}]
    assert first["unlicensed"] == ["A0004"]
    assert first["ambiguities"][0]["mobile"] == f"{m2[:3]}****{m2[-4:]}"
    assert m2 not in json.dumps(first)

    events = query(
        db_url,
        "SELECT client_id, stage, value, source, source_ref, advisor_code, occurred_at"
        " FROM event WHERE source = 'wecom' ORDER BY client_id",
    )
    assert [(e[0], e[1], e[2], e[4], e[5]) for e in events] == sorted(
        [
            (c0, "wecom_added", "state", by_state, "A0001"),
            (c1, "wecom_added", "mobile", by_mobile, "A0001"),
            (c4, "wecom_preexisting", "mobile", preexisting, "A0001"),
            (c5, "wecom_added", "mobile", other, "A0002"),
        ]
    )
    assert {str(e[6])[:16] for e in events if e[0] == c0} == {"2020-08-01 02:00"}
    stages = dict(
        query(
            db_url,
            "SELECT client_id, wecom_confirmed_at FROM client_stage"
            " WHERE client_id IN (:a, :b, :c)",
            a=c0,
            b=c1,
            c=c4,
        )
    )
    assert str(stages[c0])[:16] == "2020-08-01 02:00"
    assert str(stages[c1])[:16] == "2020-08-02 03:00"
    assert stages[c4] is None  # on WeCom before assignment: no campaign add

    second = sync_json(db_url, fake_wecom)
    assert {k: second[k] for k in expected} == {**expected, "events": 0}
    assert query(db_url, "SELECT count(*) FROM event WHERE source = 'wecom'")[0][0] == 4

    # c1 deletes A0001; A0002 leaves the app's visibility and loses a contact meanwhile
    fake_wecom.remove_contact(a1, by_mobile)
    fake_wecom.advisors[a2].visible = False
    fake_wecom.remove_contact(a2, other)
    third = sync_json(db_url, fake_wecom)
    assert (third["lost"], third["events"], third["contacts"]) == (1, 1, 6)
    assert {r["advisor"] for r in third["refused"]} == {"A0002", "A0003"}
    lost = query(
        db_url, "SELECT userid, external_userid FROM wecom_relation WHERE lost_at IS NOT NULL"
    )
    assert lost == [(a1, by_mobile)]
    assert query(db_url, "SELECT client_id FROM event WHERE stage = 'wecom_lost'") == [(c1,)]
    fourth = sync_json(db_url, fake_wecom)
    assert (fourth["lost"], fourth["events"]) == (0, 0)
    # the confirmed add stays: losing the contact later does not undo it
    assert query(
        db_url,
        "SELECT wecom_confirmed_at IS NOT NULL FROM client_stage WHERE client_id = :c",
        c=c1,
    ) == [(True,)]


def test_sync_table_names_refused_advisors_and_needs_the_environment(
    sqlite_url: str,
    fake_wecom: FakeWeCom,  # noqa: F811
) -> None:
    set_up(sqlite_url)
    for code, userid in userids(sqlite_url).items():
        fake_wecom.add_advisor(userid, visible=code != "A0003")
    out = run(sqlite_url, "wecom", "sync", "-c", SLUG, env=fake_wecom.env())
    assert "relations seen" in out
    assert "A0003: WeCom refused (errcode 60011)" in out
    assert fake_wecom.secret not in out
    result = CliRunner().invoke(
        app,
        ["wecom", "sync", "-c", SLUG, "--db", sqlite_url],
        env={"REACTIVATE_WECOM_CORPID": "", "REACTIVATE_WECOM_SECRET": ""},
    )
    assert result.exit_code == 1
    assert "REACTIVATE_WECOM_CORPID is not set" in result.output


def test_state_is_compact_stable_and_hides_the_client() -> None:
    secret = b"k" * 32
    state = make_state(secret, 1, "A0001", "000123456789")
    assert state == make_state(secret, 1, "A0001", "000123456789")
    assert state != make_state(secret, 1, "A0001", "000123456788")
    assert state != make_state(secret, 2, "A0001", "000123456789")
    assert len(state) <= 30 and state.isascii() and "123456789" not in state


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("0086 13800138000", "13800138000"),
        ("", None),
        ("n/a", None),
    ],
)
def test_remark_mobiles_are_compared_as_digits(typed: str, expected: str | None) -> None:
    assert normalize_mobile(typed) == expected

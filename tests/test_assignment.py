"""`reactivate assign`, `reassign` and `assignments export` on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
from helpers import CAMPAIGN_FILE, ROOT, query, record_call
from typer.testing import CliRunner

from reactivate.cli import app
from reactivate.db.engine import open_engine
from reactivate.db.meta import workbook_secret
from reactivate.sheets.workbook import CALL_SHEET, read_stamp, verify_stamp

DATA = ROOT / "data"
SLUG = "2020h2-dormant"


def run(db: str, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--db", db])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def loaded(db_url: str) -> str:
    run(db_url, "campaign", "add", str(CAMPAIGN_FILE))
    run(db_url, "advisors", "load", str(DATA / "advisors.xlsx"))
    run(db_url, "dnc", "load", str(DATA / "do_not_call.csv"))
    run(db_url, "load", str(DATA / "dormant_accounts.xlsx"), "-c", SLUG)
    return db_url


def assign_json(db: str, out: Path, *extra: str) -> dict[str, object]:
    if "--assigned-at" not in extra:  # inside the campaign's dates (today is after its end)
        extra = (*extra, "--assigned-at", "2020-07-01T09:00")
    return json.loads(run(db, "assign", "-c", SLUG, "--out", str(out), "-f", "json", *extra))  # type: ignore[no-any-return]


def test_assign_places_everyone_eligible_within_capacity(loaded: str, tmp_path: Path) -> None:
    summary = assign_json(
        loaded, tmp_path / "out", "--holdout", "0.1", "--assigned-at", "2020-07-01T09:00:00"
    )
    members = query(loaded, "SELECT count(*) FROM member")[0][0]
    dnc = query(loaded, "SELECT count(*) FROM member WHERE dnc")[0][0]
    eligible = int(members) - int(dnc)  # type: ignore[call-overload]
    assert dnc == 3
    assert summary["control"] == round(0.1 * eligible)
    assert summary["assigned"] + summary["control"] + summary["unassigned"] == eligible  # type: ignore[operator]
    # do-not-call and control clients are never assigned
    assert (
        query(
            loaded,
            "SELECT count(*) FROM member WHERE (dnc OR control) AND advisor_code IS NOT NULL",
        )[0][0]
        == 0
    )
    # nobody above capacity (roster capacity vs the campaign's max 400)
    over = query(
        loaded,
        "SELECT a.code FROM advisor a JOIN member m ON m.advisor_code = a.code "
        "GROUP BY a.code, a.capacity HAVING count(*) > min(a.capacity, 400)"
        if loaded.startswith("sqlite")
        else "SELECT a.code FROM advisor a JOIN member m ON m.advisor_code = a.code "
        "GROUP BY a.code, a.capacity HAVING count(*) > least(a.capacity, 400)",
    )
    assert over == []
    # inactive advisors take nobody, and every placement is an event at the effective time
    assert (
        query(
            loaded,
            "SELECT count(*) FROM member m JOIN advisor a ON a.code = m.advisor_code WHERE NOT a.active",
        )[0][0]
        == 0
    )
    events = query(
        loaded,
        "SELECT count(*), min(occurred_at), max(occurred_at) FROM event WHERE stage = 'assigned'",
    )[0]
    assert events[0] == summary["assigned"]
    assert str(events[1]).startswith("2020-07-01 01:00:00")  # 09:00 in Shanghai
    assert (
        query(loaded, "SELECT count(*) FROM event WHERE stage = 'control'")[0][0]
        == summary["control"]
    )
    assert (
        query(loaded, "SELECT count(*) FROM client_stage WHERE advisor_code IS NOT NULL")[0][0]
        == summary["assigned"]
    )


def test_workbooks_hold_only_the_advisors_clients_and_are_signed(
    loaded: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    summary = assign_json(loaded, out)
    paths = sorted(out.rglob("*.xlsx"))
    assert len(paths) == len([a for a in summary["advisors"] if a["new"]])  # type: ignore[union-attr,index]
    assert not list(out.glob(".issuing-*")), "scratch folder left behind"
    engine = open_engine(loaded)
    with engine.begin() as conn:
        secret = workbook_secret(conn)
    engine.dispose()
    books = dict(
        query(loaded, "SELECT client_id, advisor_code FROM member WHERE advisor_code IS NOT NULL")
    )
    mobiles = dict(query(loaded, "SELECT client_id, mobile FROM client"))
    for path in paths:
        stamp = read_stamp(path)
        assert stamp is not None and verify_stamp(stamp, secret)
        assert {books[c] for c in stamp.client_ids} == {stamp.advisor}
        book = openpyxl.load_workbook(path, read_only=True)
        rows = list(book[CALL_SHEET].iter_rows(min_row=2, values_only=True))
        book.close()
        ids = [r[0] for r in rows if r[0]]
        assert sorted(ids) == sorted(stamp.client_ids)
        assert all(r[2] == mobiles[r[0]] for r in rows if r[0])  # full mobile, as text
        assert (
            path.parent.name
            == query(loaded, f"SELECT branch FROM advisor WHERE code = '{stamp.advisor}'")[0][0]
        )
    recorded = [Path(str(r[0])) for r in query(loaded, "SELECT path FROM workbook_issue")]
    assert sorted(recorded) == paths  # where the files live, not the scratch folder


def test_same_seed_same_split(db_url: str, tmp_path: Path) -> None:
    splits = []
    for n in range(2):
        db = db_url if n == 0 else f"sqlite:///{tmp_path / 'second.db'}"
        run(db, "campaign", "add", str(CAMPAIGN_FILE))
        run(db, "advisors", "load", str(DATA / "advisors.xlsx"))
        run(db, "load", str(DATA / "dormant_accounts.xlsx"), "-c", SLUG)
        assign_json(db, tmp_path / f"out{n}", "--holdout", "0.2", "--seed", "7", "--no-workbooks")
        splits.append(
            query(db, "SELECT client_id, advisor_code, control FROM member ORDER BY client_id")
        )
    assert splits[0] == splits[1]


def test_dry_run_writes_nothing(loaded: str, tmp_path: Path) -> None:
    summary = assign_json(loaded, tmp_path / "out", "--dry-run", "--holdout", "0.1")
    assert summary["assigned"] > 0 and summary["dry_run"] is True  # type: ignore[operator]
    assert (
        query(loaded, "SELECT count(*) FROM member WHERE advisor_code IS NOT NULL OR control")[0][0]
        == 0
    )
    assert query(loaded, "SELECT count(*) FROM event")[0][0] == 0
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.xlsx"))


def test_incremental_run_moves_nobody_and_draws_holdout_from_new_clients(
    loaded: str, tmp_path: Path
) -> None:
    assign_json(loaded, tmp_path / "out", "--holdout", "0.1")
    before = query(loaded, "SELECT client_id, advisor_code, control FROM member ORDER BY client_id")
    later = tmp_path / "later.csv"
    rows = [
        f"00999{n:05d},新客{n},139{n:08d},上海浦东南路营业部,1000,2019-01-01,C3,2015-01-01,,正常"
        for n in range(40)
    ]
    later.write_text(
        "客户号,客户姓名,手机号码,所属营业部,总资产(元),最后交易日期,风险承受能力,开户日期,原客户经理,账户状态\n"
        + "\n".join(rows)
        + "\n",
        encoding="utf-8",
    )
    run(loaded, "load", str(later), "-c", SLUG)
    summary = assign_json(loaded, tmp_path / "out", "--holdout", "0.1")
    after = dict(
        (r[0], r[1:]) for r in query(loaded, "SELECT client_id, advisor_code, control FROM member")
    )
    assert all(after[c] == (a, ctl) for c, a, ctl in before)
    assert summary["control"] == 4 and summary["assigned"] == 36
    new_control = query(
        loaded, "SELECT count(*) FROM member WHERE control AND client_id LIKE '00999%'"
    )[0][0]
    assert new_control == 4
    # the second workbook of an advisor has issue number 2 and only the new clients
    second = [p for p in (tmp_path / "out").rglob("*-02.xlsx")]
    assert second and all(
        all(c.startswith("00999") for c in read_stamp(p).client_ids) for p in second
    )  # type: ignore[union-attr]


def test_reassign_to_a_colleague_keeps_history(loaded: str, tmp_path: Path) -> None:
    assign_json(loaded, tmp_path / "out", "--assigned-at", "2020-07-01T09:00:00")
    moved = [
        r[0] for r in query(loaded, "SELECT client_id FROM member WHERE advisor_code = 'A0001'")
    ]
    assert moved
    record_call(loaded, moved[0])
    summary = json.loads(
        run(
            loaded,
            "reassign",
            "-c",
            SLUG,
            "--from",
            "A0001",
            "--to",
            "A0002",
            "--out",
            str(tmp_path / "out"),
            "-f",
            "json",
        )
    )
    assert summary["assigned"] == len(moved)
    assert query(loaded, "SELECT count(*) FROM member WHERE advisor_code = 'A0001'")[0][0] == 0
    assert (
        query(loaded, f"SELECT advisor_code FROM member WHERE client_id = '{moved[0]}'")[0][0]
        == "A0002"
    )
    assert (
        query(
            loaded, f"SELECT count(*) FROM event WHERE client_id = '{moved[0]}' AND stage = 'call'"
        )[0][0]
        == 1
    )
    assert query(loaded, "SELECT count(*) FROM event WHERE source = 'reassign'")[0][0] == len(moved)
    workbook = next((tmp_path / "out").rglob("A0002-*-02.xlsx"))
    assert sorted(read_stamp(workbook).client_ids) == sorted(moved)  # type: ignore[union-attr]


def test_reassign_spreads_over_the_branch(loaded: str, tmp_path: Path) -> None:
    assign_json(loaded, tmp_path / "out", "--no-workbooks")
    moved = {
        r[0] for r in query(loaded, "SELECT client_id FROM member WHERE advisor_code = 'A0001'")
    }
    run(loaded, "reassign", "-c", SLUG, "--from", "A0001", "--no-workbooks")
    takers = query(
        loaded,
        "SELECT DISTINCT a.branch FROM member m JOIN advisor a ON a.code = m.advisor_code WHERE m.client_id IN ("
        + ",".join(f"'{c}'" for c in moved)
        + ")",
    )
    assert takers == query(loaded, "SELECT branch FROM advisor WHERE code = 'A0001'")
    assert (
        len(
            {
                r[0]
                for r in query(
                    loaded,
                    "SELECT DISTINCT advisor_code FROM member WHERE client_id IN ("
                    + ",".join(f"'{c}'" for c in moved)
                    + ")",
                )
            }
        )
        > 1
    )


def test_export_masks_personal_data(loaded: str, tmp_path: Path) -> None:
    assign_json(loaded, tmp_path / "out", "--holdout", "0.1", "--no-workbooks")
    raw = (
        CliRunner().invoke(app, ["assignments", "export", "-c", SLUG, "--db", loaded]).stdout_bytes
    )
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == query(loaded, "SELECT count(*) FROM member")[0][0]
    mobiles = {r[0] for r in query(loaded, "SELECT mobile FROM client")}
    assert not any(r["mobile"] in mobiles for r in rows)
    assert all("****" in r["mobile"] for r in rows)
    assert {r["stage"] for r in rows} <= {"assigned", "control", "unassigned"}
    assert any(r["control"] == "yes" and r["advisor_code"] == "" for r in rows)
    run(
        loaded,
        "assignments",
        "export",
        "-c",
        SLUG,
        "-f",
        "xlsx",
        "--out",
        str(tmp_path / "who.xlsx"),
    )
    book = openpyxl.load_workbook(tmp_path / "who.xlsx")
    sheet = book.active
    assert sheet is not None and sheet.max_row == len(rows) + 1
    book.close()


def test_table_output_names_the_workbook_folder(loaded: str, tmp_path: Path) -> None:
    out = run(
        loaded, "assign", "-c", SLUG, "--out", str(tmp_path / "out"), "--assigned-at", "2020-07-01"
    )
    assert "workbooks written under" in out and "Fairness: clients per advisor" in out
    assert "Method: branch first" in out


def refused(db: str, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--db", db])
    assert result.exit_code == 1, result.output
    return " ".join(result.stderr.split())


def test_assign_outside_the_campaigns_dates_is_refused_with_them(loaded: str) -> None:
    # today (the sample campaign ran in 2020) and moments either side of its dates
    for when in ((), ("--assigned-at", "2021-01-01T00:30"), ("--assigned-at", "2020-06-30T23:59")):
        message = refused(loaded, "assign", "-c", SLUG, "--no-workbooks", *when)
        assert "2020-07-01 to 2020-12-31" in message and "--assigned-at" in message
    assert query(loaded, "SELECT count(*) FROM member WHERE assigned_at IS NOT NULL")[0][0] == 0
    assert query(loaded, "SELECT count(*) FROM event")[0][0] == 0
    # the last evening of the campaign, Shanghai time, is inside it (UTC is still that day)
    run(loaded, "assign", "-c", SLUG, "--no-workbooks", "--assigned-at", "2020-12-31T23:00")


def test_reassign_from_an_advisor_without_clients_says_so(loaded: str, tmp_path: Path) -> None:
    assign_json(loaded, tmp_path / "out", "--assigned-at", "2020-07-01T09:00")
    before = query(loaded, "SELECT count(*) FROM event")
    out = run(loaded, "reassign", "-c", SLUG, "--from", "A0010", "--to", "A0011")
    assert "A0010 holds no clients" in " ".join(out.split()) and "no client to move" in out
    assert "Advisors' books" not in out  # not an empty table
    moved = json.loads(run(loaded, "reassign", "-c", SLUG, "--from", "A0010", "-f", "json"))
    assert moved["from_clients"] == 0 and moved["assigned"] == 0
    assert query(loaded, "SELECT count(*) FROM event") == before
    some = json.loads(run(loaded, "reassign", "-c", SLUG, "--from", "A0012", "-f", "json"))
    assert some["from_clients"] == some["assigned"] + some["unassigned"] > 0


def reference_split(db: str, holdout: float, seed: int, cross_branch: bool) -> dict[str, object]:
    """What the one-shot split (tests/split_reference.py) over every eligible member, read by
    independent SQL, gives for the campaign as it stands: client id -> advisor code, or
    "control" for the drawn control group."""
    from split_reference import split as one_shot

    from reactivate.registry import get
    from reactivate.rules import funnel
    from reactivate.rules.split import Candidate, Seat, SplitRules, draw_holdout

    engine = open_engine(db)
    config = get(engine, SLUG).config
    engine.dispose()
    eligible = query(
        db,
        """SELECT m.client_id, m.considered_at, c.branch, c.assets, c.previous_advisor
           FROM member m JOIN client c ON c.client_id = m.client_id
           WHERE m.advisor_code IS NULL AND NOT m.control AND NOT m.dnc
             AND m.client_id NOT IN (SELECT value FROM do_not_call WHERE kind = 'client_id')
             AND coalesce(c.mobile, '') NOT IN (SELECT value FROM do_not_call WHERE kind = 'mobile')""",
    )
    band = funnel.asset_bands(config.asset_edges)
    new = [(r[0], f"{r[2]}|{band(r[3])}") for r in eligible if r[1] is None]
    drawn = draw_holdout(new, holdout, seed) if holdout else frozenset()
    active = {r[0]: r for r in query(db, "SELECT code, branch, capacity FROM advisor WHERE active")}
    held = dict(query(db, "SELECT advisor_code, count(*) FROM member GROUP BY advisor_code"))
    held_assets = dict(
        query(
            db,
            """SELECT m.advisor_code, sum(c.assets) FROM member m
               JOIN client c ON c.client_id = m.client_id GROUP BY m.advisor_code""",
        )
    )
    most = config.assignment.max_per_advisor
    seats = [
        Seat(
            code,
            branch,
            min(c for c in (capacity, most) if c is not None),
            held.get(code, 0),
            held_assets.get(code) or 0.0,
        )
        for code, branch, capacity in active.values()
    ]
    candidates = [
        Candidate(r[0], r[2], r[3] or 0.0, r[4] if r[4] in active else None)
        for r in eligible
        if r[0] not in drawn
    ]
    result = one_shot(candidates, seats, SplitRules(cross_branch=cross_branch, seed=seed))
    return {**result.assignments, **dict.fromkeys(drawn, "control")}


@pytest.mark.parametrize("cross_branch", [False, True])
def test_assign_places_exactly_as_the_one_shot_split(
    loaded: str, tmp_path: Path, cross_branch: bool
) -> None:
    """`assign` reads the eligible members into columns and splits a branch at a time; it
    must place every client as the one-shot split over every member at once did, for the
    same members and seed (a first run, then a later run over newly loaded clients)."""
    spill = "--cross-branch" if cross_branch else "--no-cross-branch"
    run(loaded, "advisors", "load", str(DATA / "advisors.xlsx"))
    for n, holdout in enumerate(("0.1", "0.2")):
        expected = reference_split(loaded, float(holdout), 5, cross_branch)
        assign_json(loaded, tmp_path / f"out{n}", "--holdout", holdout, "--seed", "5", spill)
        placed = query(
            loaded,
            """SELECT client_id, CASE WHEN control THEN 'control' ELSE advisor_code END
               FROM member WHERE (control OR advisor_code IS NOT NULL)
                 AND considered_at = (SELECT max(considered_at) FROM member)""",
        )
        assert len(placed) > 50 and dict(placed) == expected
        if n == 0:  # a later load: new members for the second, incremental run
            run(loaded, "load", str(later_accounts(loaded, tmp_path)), "-c", SLUG)


def later_accounts(db: str, tmp_path: Path) -> Path:
    """120 new dormant clients over every branch with advisors, one without any and none,
    some of them with a previous advisor, assets tied and spread."""
    branches = [r[0] for r in query(db, "SELECT DISTINCT branch FROM advisor ORDER BY 1")]
    codes = [r[0] for r in query(db, "SELECT code FROM advisor ORDER BY 1")]
    places = [*branches, "无人营业部", ""]
    rows = [
        f"00998{n:05d},新客{n},138{n:08d},{places[n % len(places)]},{(n * 7919) % 5 * 20000},"
        f"2019-01-01,C3,2015-01-01,{codes[n % len(codes)] if n % 3 == 0 else ''},正常"
        for n in range(120)
    ]
    later = tmp_path / "later.csv"
    later.write_text(
        "客户号,客户姓名,手机号码,所属营业部,总资产(元),最后交易日期,风险承受能力,开户日期,原客户经理,账户状态\n"
        + "\n".join(rows)
        + "\n",
        encoding="utf-8",
    )
    return later


#: Ids that sort differently by code point and by a language's rules (case, accents,
#: punctuation, digits of other scripts, CJK, beyond the BMP).
AWKWARD_IDS = ["a", "B", "b", "é", "e", "z", "Z-1", "Z1", "z 1", "00１", "001", "中", "😀", "ﬀ", ""]


def test_the_default_order_is_pythons_where_the_dialect_says_so(db_url: str) -> None:
    """assign reads without `COLLATE "C"` only where the default collation sorts by code
    point; otherwise the `COLLATE "C"` order must be Python's."""
    from sqlalchemy import text

    from reactivate.db.dialect import is_postgresql, sorts_by_code_point

    engine = open_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMPORARY TABLE awkward (v VARCHAR)"))
        conn.execute(text("INSERT INTO awkward VALUES (:v)"), [{"v": v} for v in AWKWARD_IDS])
        collate = "" if sorts_by_code_point(conn) else ' COLLATE "C"'
        assert is_postgresql(conn) or not collate  # SQLite's BINARY is code point order
        ordered = conn.execute(text(f"SELECT v FROM awkward ORDER BY v{collate}")).scalars()
        assert list(ordered) == sorted(AWKWARD_IDS)
    engine.dispose()


def test_the_eligible_read_is_the_same_with_the_servers_sort(
    loaded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read in the primary key's order and the read sorted by `COLLATE "C"` (for
    databases of another collation) give the same columns."""
    from reactivate import assign as assignment
    from reactivate.registry import get

    if loaded.startswith("sqlite"):
        pytest.skip('SQLite has no COLLATE "C" and needs none (BINARY is code point order)')
    engine = open_engine(loaded)
    campaign = get(engine, SLUG)

    def read() -> tuple[list[str], bytes, list[object]]:
        with engine.begin() as conn:
            eligible = assignment._read_eligible(
                conn, campaign.id, assignment._active_advisors(conn)
            )
        columns = eligible.columns
        names = [columns.branches[b] if b >= 0 else None for b in columns.branch]
        owners = [columns.owners[o] if o >= 0 else None for o in columns.owner]
        ids = [eligible.ids[k] for k in range(len(eligible.ids))]
        return ids, bytes(eligible.new), [*names, *owners, *columns.assets]

    by_key = read()
    monkeypatch.setattr(assignment, "sorts_by_code_point", lambda conn: False)
    assert len(by_key[0]) > 50 and read() == by_key
    engine.dispose()

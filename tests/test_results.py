"""`reactivate results upload|undo|correct` on SQLite and PostgreSQL: every rule of issue 4.

The database is set up through the CLI (campaign, roster, accounts); clients are
assigned with plain SQL plus 'assigned' events; workbooks are written stamped with the
database's secret and filled with openpyxl, as an advisor would.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from helpers import CAMPAIGN_FILE, statements_seen
from typer.testing import CliRunner
from upload_campaign import (
    FULL,
    SH,
    SLUG,
    assign,
    aware,
    events,
    invoke,
    make_workbook,
    plain_csv,
    rows,
    scalar,
    setup_db,
    sh,
    stage_of,
    upload,
    utc,
)

from reactivate import upload as results
from reactivate.cli import app
from reactivate.db import bulk
from reactivate.db.engine import open_engine
from reactivate.rules import funnel
from reactivate.sheets import values
from reactivate.sheets.fields import RESULT_FIELDS
from reactivate.sheets.frames import open_frame
from reactivate.sheets.workbook import (
    STAMP_SHEET,
)
from reactivate.upload import disposition, find_product


@pytest.fixture
def db(db_url: str, tmp_path: Path) -> str:
    return setup_db(db_url, tmp_path)


def test_dispositions_and_products_by_any_name() -> None:
    assert disposition("未接") == funnel.NO_ANSWER
    assert disposition(" 勿扰 ") == funnel.DO_NOT_CALL
    assert disposition("do_not_call") == funnel.DO_NOT_CALL
    assert disposition("空号/错号") == funnel.WRONG_NUMBER
    assert disposition("") is None
    with pytest.raises(ValueError, match="not a call result"):
        disposition("打错了")
    from reactivate.rules.campaign import from_toml

    campaign = from_toml(CAMPAIGN_FILE.read_text(encoding="utf-8"), "test")
    for named in ("MMF01", "mmf01", "现金宝货币基金", "MMF01 现金宝货币基金"):
        product = find_product(campaign, named)
        assert product is not None and product.code == "MMF01"
    assert find_product(campaign, "XYZ") is None


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Australia/Lord_Howe"])
def test_wall_clock_times_become_utc_as_attaching_the_zone_does(zone: str) -> None:
    """`clock.to_utc`'s shortcut for wall-clock times (less the zone's offset) agrees with
    attaching the zone and converting, across daylight-saving changes (times that occur
    twice, or never, included)."""
    from reactivate.clock import to_utc

    tz = ZoneInfo(zone)
    start = dt.datetime(2020, 1, 1)
    moments = [start + dt.timedelta(minutes=7 * n) for n in range(366 * 24 * 60 // 7)]
    moments.append(dt.datetime(2020, 7, 1, 9, tzinfo=dt.UTC))  # an aware time too
    for moment in moments:
        expected = (moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(dt.UTC)
        assert to_utc(moment, tz) == expected, moment
        assert to_utc(moment, tz).tzinfo is dt.UTC


# ------------------------------------------------------------------------- applying


def test_workbook_rows_become_events_with_their_provenance(db: str, tmp_path: Path) -> None:
    book = make_workbook(db, tmp_path / "a001.xlsx", "A001", FULL)
    code, summary = upload(db, book)
    assert code == 0, summary
    # five clients issued, two filled: empty rows state nothing and stay unchanged
    assert {k: summary[k] for k in ("files", "rows", "applied", "unchanged", "rejected")} == {
        "files": 1,
        "rows": 5,
        "applied": 2,
        "unchanged": 3,
        "rejected": 0,
    }
    found = events(db, "0010000001")
    kinds = [(e.stage, e.value) for e in found]
    assert kinds == [
        ("call", "connected"),
        ("attempts", "2"),
        ("wecom_added", None),
        ("pushed", "ADV03"),
        ("converted", "ADV03"),
        ("note", "很感兴趣"),
    ]
    call = found[0]
    assert aware(call.occurred_at) == utc("2020-07-02 10:30")
    assert call.advisor_code == "A001" and call.source == "upload" and call.recorded_by
    assert call.source_file == str(book) and call.source_row >= 2
    import_id = summary["imports"][0]["import_id"]
    assert all(e.import_id == import_id for e in found)
    assert summary["events"] == 6 + 2
    first = stage_of(db, "0010000001")
    assert aware(first.reached_at) == utc("2020-07-02 10:30")
    assert aware(first.wecom_at) == utc("2020-07-02 11:00")
    assert aware(first.converted_at) == utc("2020-07-05 15:00")
    assert first.attempts == 2 and first.calls == 1
    second = stage_of(db, "0010000002")
    assert second.called_at is not None and second.reached_at is None
    record = rows(db, "SELECT * FROM import_record WHERE id = :i", i=import_id)[0]
    assert record.kind == "results" and record.status == "applied"
    assert json.loads(record.counts)["events"] == 8


def test_same_file_is_skipped_and_same_facts_count_once(db: str, tmp_path: Path) -> None:
    book = make_workbook(db, tmp_path / "a001.xlsx", "A001", FULL)
    assert upload(db, book)[0] == 0
    code, again = upload(db, book)
    assert code == 0 and again["events"] == 0 and again["skipped_files"] == 1
    assert again["imports"][0]["status"] == "skipped"
    before = len(events(db))
    # a corrected sheet: the same facts plus one new call time for 0010000002
    fills = {
        **FULL,
        "0010000002": {**FULL["0010000002"], "通话时间": sh("2020-07-04 09:00"), "拨打次数": 2},
    }
    corrected = make_workbook(db, tmp_path / "a001_v2.xlsx", "A001", fills)
    code, summary = upload(db, corrected)
    assert code == 0 and summary["events"] == 2 and summary["applied"] == 1
    assert len(events(db)) == before + 2
    second = stage_of(db, "0010000002")
    assert second.calls == 2 and second.attempts == 2
    statuses = [
        r.status
        for r in rows(db, "SELECT status FROM import_record WHERE kind = 'results' ORDER BY id")
    ]
    assert statuses == ["applied", "skipped", "applied"]


def test_untimed_call_is_timed_at_first_upload_and_counted_once(db: str, tmp_path: Path) -> None:
    header = ["客户号", "客户经理", "通话结果", "备注"]
    first = plain_csv(tmp_path / "one.csv", header, [["0010000001", "A001", "未接", ""]])
    second = plain_csv(tmp_path / "two.csv", header, [["0010000001", "A001", "未接", "再打"]])
    assert upload(db, first)[0] == 0
    code, summary = upload(db, second)
    assert code == 0 and summary["events"] == 1  # only the note is new
    calls = [e for e in events(db, "0010000001") if e.stage == "call"]
    assert len(calls) == 1 and calls[0].source_ref == "untimed"
    assert abs(aware(calls[0].occurred_at) - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


def test_attempts_alone_are_evidence_of_a_call(db: str, tmp_path: Path) -> None:
    """What counts as called: a call result, a call time or attempts >= 1."""
    header = ["客户号", "客户经理", "拨打次数"]
    sheet = plain_csv(tmp_path / "tries.csv", header, [["0010000001", "A001", "2"]])
    assert upload(db, sheet)[0] == 0
    summary = stage_of(db, "0010000001")
    assert summary.called_at is not None and summary.reached_at is None
    assert summary.attempts == 2
    assert (
        upload(db, plain_csv(tmp_path / "again.csv", header, [["0010000001", "A001", "2"]]))[1][
            "events"
        ]
        == 0
    )


def test_later_blank_or_no_never_moves_a_client_back(db: str, tmp_path: Path) -> None:
    assert upload(db, make_workbook(db, tmp_path / "a.xlsx", "A001", FULL))[0] == 0
    later = {
        "0010000001": {
            "是否添加企业微信": "否",
            "是否转化": "否",
            "通话时间": sh("2020-07-08 10:00"),
            "通话结果": "无人接听",
        }
    }
    code, summary = upload(db, make_workbook(db, tmp_path / "b.xlsx", "A001", later))
    assert code == 0 and summary["events"] == 1
    first = stage_of(db, "0010000001")
    assert first.converted_at is not None and first.wecom_at is not None and first.calls == 2


def test_folder_of_workbooks_uploads_at_once(db: str, tmp_path: Path) -> None:
    folder = tmp_path / "filled"
    make_workbook(db, folder / "a001.xlsx", "A001", FULL)
    make_workbook(
        db,
        folder / "a002.xlsx",
        "A002",
        {"0010000003": {"通话时间": sh("2020-07-02 16:00"), "通话结果": "拒绝"}},
    )
    (folder / "a001.xlsx.rejects.csv").write_text("ignored", encoding="utf-8")
    code, summary = upload(db, folder)
    assert code == 0 and summary["files"] == 2 and summary["applied"] == 3
    assert stage_of(db, "0010000003").reached_at is not None


def test_files_read_a_batch_at_a_time_come_to_what_one_batch_does(db: str, tmp_path: Path) -> None:
    """A batch boundary between files: rules across rows still see every file."""
    folder = tmp_path / "filled"
    make_workbook(db, folder / "a001.xlsx", "A001", FULL)
    third = {"0010000003": {"通话时间": sh("2020-07-02 16:00"), "通话结果": "拒绝"}}
    make_workbook(db, folder / "a002.xlsx", "A002", third)
    plain_csv(
        folder / "z.csv",
        ["客户号", "客户经理", "通话时间", "通话结果"],
        [
            # asked not to be called before a001's 14:00 call, two batches later
            ["0010000002", "A001", "2020-07-02 12:00", "勿扰"],
            ["0010000003", "A002", "2020-07-02 16:00", "拒绝"],  # a002's fact again
        ],
    )
    engine = open_engine(db)

    def dry_run(batch_rows: int) -> dict[str, object]:
        options = results.UploadOptions(dry_run=True, batch_rows=batch_rows)
        return results.upload(engine, SLUG, [folder], options).to_json()

    whole = dry_run(1_000_000)
    errors = whole["errors"]
    assert isinstance(errors, list) and len(errors) == 1
    assert Path(errors[0]["file"]).name == "a001.xlsx" and "0010000002" in errors[0]["reason"]
    assert dry_run(1) == whole
    options = results.UploadOptions(skip_invalid=True, batch_rows=1)
    applied = results.upload(engine, SLUG, [folder], options)
    engine.dispose()
    assert applied.applied and applied.totals()["rejected"] == 1
    calls = [e for e in events(db, "0010000003") if e.stage == funnel.EVENT_CALL]
    assert len(calls) == 1
    assert stage_of(db, "0010000002").do_not_call


def test_a_big_upload_checks_foreign_keys_once_and_keeps_them(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL, a role that may not skip the keys' triggers: from
    FOREIGN_KEYS_ONCE_FROM clients (here 1), event's and client_stage's keys are dropped
    for the insert and added back, checking every row."""
    monkeypatch.setattr(bulk, "FOREIGN_KEYS_ONCE_FROM", 1)
    monkeypatch.setattr(bulk, "_may_skip_triggers", lambda conn: False)
    book = make_workbook(db, tmp_path / "a001.xlsx", "A001", FULL)
    code, summary = upload(db, book)
    assert code == 0 and summary["applied"] == 2
    assert stage_of(db, "0010000001").converted_at is not None
    if db.startswith("postgresql"):
        keys = scalar(
            db,
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
            " AND conrelid IN ('event'::regclass, 'client_stage'::regclass)",
        )
        assert keys == 6


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("stray", [False, True])
def test_the_writes_keys_are_skipped_only_when_every_staged_client_exists(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stray: bool
) -> None:
    """PostgreSQL, a role that may set `session_replication_role`: the write's events,
    summary rows and tallies go in without their keys' triggers when every staged fact
    names a client in `client`; a fact naming one that is not (`stray`, slipped in among
    the staged facts) leaves the triggers on, and the key refuses the whole write."""
    from sqlalchemy import exc

    from reactivate.upload import write

    seen: list[str] = []
    insert_and_refresh = write._insert_and_refresh

    def spied(conn: Any, *args: Any) -> None:
        seen.append(conn.exec_driver_sql("SHOW session_replication_role").scalar())
        insert_and_refresh(conn, *args)

    original_insert = write._insert

    def with_stray(conn: Any, *args: Any) -> None:
        conn.exec_driver_sql(
            "INSERT INTO upload_event (client_id, stage, value, occurred_at, match_time,"
            " file_index, source_row) VALUES ('nobody', 'note', 'x', now(), 1, 0, 999)"
        )
        original_insert(conn, *args)

    monkeypatch.setattr(write, "_insert_and_refresh", spied)
    if stray:
        monkeypatch.setattr(write, "_insert", with_stray)
    book = make_workbook(db, tmp_path / "a001.xlsx", "A001", FULL)
    engine = open_engine(db)
    try:
        if stray:
            with pytest.raises(exc.IntegrityError, match="event_client_id_fkey"):
                results.upload(engine, SLUG, [book])
        else:
            assert results.upload(engine, SLUG, [book]).applied
    finally:
        engine.dispose()
    assert seen == ["origin" if stray else "replica"]
    assert (stage_of(db, "0010000001").converted_at is None) == stray
    uploaded = scalar(db, "SELECT count(*) FROM event WHERE source = 'upload'")
    assert (uploaded == 0) == stray and events(db, "nobody") == []


def test_an_upload_reports_each_file_read_then_the_writing(db: str, tmp_path: Path) -> None:
    folder = tmp_path / "filled"
    make_workbook(db, folder / "a001.xlsx", "A001", FULL)
    make_workbook(db, folder / "a002.xlsx", "A002", {})
    told: list[tuple[str, int, int]] = []
    engine = open_engine(db)
    summary = results.upload(engine, SLUG, [folder], progress=lambda *at: told.append(at))
    engine.dispose()
    assert summary.applied
    assert told == [
        (results.READING, 0, 2),
        (results.READING, 1, 2),
        (results.READING, 2, 2),
        (results.WRITING, 2, 2),
    ]


# ------------------------------------------------------------------------- rejecting

PLAIN_HEADER = ["客户号", "客户经理", "通话时间", "通话结果", "拨打次数", "推送产品", "推送时间"]
GOOD = ["0010000001", "A001", "2020-07-02 10:30", "接通", "1", "", ""]
BAD = [  # (row, reason fragment, column)
    (
        ["0000000999", "A001", "2020-07-02 10:30", "接通", "", "", ""],
        "no client 0000000999",
        "客户号",
    ),
    (["0099000001", "A001", "2020-07-02 10:30", "接通", "", "", ""], "not in campaign", "客户号"),
    (
        ["0010000003", "A001", "2020-07-02 10:30", "接通", "", "", ""],
        "assigned to A002",
        "客户经理",
    ),
    (["0010000005", "A001", "2020-07-02 10:30", "接通", "", "", ""], "control group", "客户号"),
    (
        ["0010000007", "A001", "2020-07-02 10:30", "打错了", "", "", ""],
        "not a call result",
        "通话结果",
    ),
    (["0010000007", "A001", "", "", "", "XYZ", "2020-07-03 10:00"], "not a product", "推送产品"),
    (
        ["0010000002", "A001", "", "", "", "EQ04", "2020-07-03 10:00"],
        "above the client's tolerance",
        "推送产品",
    ),
    (
        ["0010000004", "A001", "", "", "", "MMF01", "2020-07-03 10:00"],
        "risk tolerance is unknown",
        "推送产品",
    ),
    (["0010000007", "A001", "2099-01-01 10:00", "接通", "", "", ""], "in the future", "通话时间"),
    (
        ["0010000007", "A001", "2020-06-20 10:00", "接通", "", "", ""],
        "before the campaign started",
        "通话时间",
    ),
    (
        ["0010000006", "A001", "2020-07-02 10:00", "接通", "", "", ""],
        "do-not-call list",
        "通话结果",
    ),
    (["0010000007", "A009", "2020-07-02 10:00", "接通", "", "", ""], "not an advisor", "客户经理"),
    (
        ["0010000007", "A001", "2021-01-04 10:00", "接通", "", "", ""],
        "after the campaign ended",
        "通话时间",
    ),
    (
        ["0010000007", "A001", "", "", "", "MMF01", "2021-01-04 10:00"],
        "after the campaign ended",
        "推送时间",
    ),
    (
        ["0010000007", "A001", "", "", "", "", "2020-07-03 10:00"],
        "推送时间 is filled but 推送产品",
        "推送时间",
    ),
]


def test_every_bad_row_is_reported_and_nothing_is_written(db: str, tmp_path: Path) -> None:
    path = plain_csv(tmp_path / "plain.csv", PLAIN_HEADER, [GOOD] + [row for row, _, _ in BAD])
    code, summary = upload(db, path)
    assert code == 1
    assert summary["rows"] == 1 + len(BAD) and summary["rejected"] == len(BAD)
    assert summary["events"] == 0 and summary["applied"] == 0
    errors = summary["errors"]
    assert len(errors) == len(BAD)
    for error, (_row, reason, column), number in zip(errors, BAD, range(3, 100), strict=False):
        assert reason in error["reason"], error
        assert error["row"] == number and error["column"] == column and error["file"] == str(path)
    assert events(db) == []
    assert scalar(db, "SELECT status FROM import_record WHERE kind = 'results'") == "refused"


@pytest.mark.parametrize("lookups", [values.PADDED_LOOKUPS, 0])
def test_an_id_short_of_a_members_leading_zeros_is_refused_with_the_hint(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lookups: int
) -> None:
    """Found either way: a few unknown ids padded to every longer width, without reading
    the width of every member's id (a scan of the campaign); many (here, with no lookups
    allowed) padded to the widths that read finds."""
    monkeypatch.setattr(values, "PADDED_LOOKUPS", lookups)
    rows = [
        ["10000001", "A001", "2020-07-02 10:30", "接通", "1", "", ""],  # 0010000001 lost its zeros
        ["99000001", "A001", "2020-07-02 10:30", "接通", "1", "", ""],  # 0099000001: not a member
    ]
    with statements_seen() as seen:
        code, summary = upload(db, plain_csv(tmp_path / "plain.csv", PLAIN_HEADER, rows))
    widths_read = [s for s in seen if "length(client_id)" in s and "FROM member" in s]
    assert bool(widths_read) == (lookups == 0)
    assert code == 1 and summary["rejected"] == 2
    lost, foreign = summary["errors"]
    assert lost["row"] == 2 and lost["column"] == "客户号"
    assert "no client 10000001" in lost["reason"] and "0010000001 is in campaign" in lost["reason"]
    assert "leading zeros" in lost["reason"]
    assert foreign["reason"] == "no client 99000001 in the database"


def test_two_rows_giving_one_call_two_results_are_both_refused(db: str, tmp_path: Path) -> None:
    rows = [
        GOOD,
        ["0010000002", "A001", "2020-07-02 11:00", "接通", "1", "", ""],
        ["0010000001", "A001", "2020-07-02 10:30", "无人接听", "1", "", ""],
        ["0010000002", "A001", "2020-07-02 11:00", "接通", "1", "", ""],  # the same result again
    ]
    path = plain_csv(tmp_path / "plain.csv", PLAIN_HEADER, rows)
    code, summary = upload(db, path)
    assert code == 1 and summary["rejected"] == 2
    reason = (
        "rows 2 and 4 give the same call (client 0010000001, 2020-07-02 10:30) two results:"
        " 接通 and 无人接听"
    )
    assert [(e["row"], e["column"], e["reason"]) for e in summary["errors"]] == [
        (2, "通话结果", reason),
        (4, "通话结果", reason),
    ]
    code, summary = upload(db, path, extra=["--skip-invalid"])
    assert code == 0 and summary["applied"] == 1 and summary["rejected"] == 2
    calls = [e for e in events(db) if e.stage == funnel.EVENT_CALL]
    assert [(e.client_id, e.value) for e in calls] == [("0010000002", funnel.CONNECTED)]


def test_two_files_giving_one_call_two_results_are_both_refused(db: str, tmp_path: Path) -> None:
    first = plain_csv(tmp_path / "first.csv", PLAIN_HEADER, [GOOD])
    busy = ["0010000001", "A001", "2020-07-02 10:30", "忙线", "1", "", ""]
    second = plain_csv(tmp_path / "second.csv", PLAIN_HEADER, [GOOD, busy])
    code, summary = upload(db, first, second)
    assert code == 1 and summary["rejected"] == 3
    found = {(e["file"], e["row"]): e["reason"] for e in summary["errors"]}
    assert found == {
        (str(first), 2): f"row 2 of {first} and row 3 of {second} give the same call"
        " (client 0010000001, 2020-07-02 10:30) two results: 接通 and 忙线",
        (str(second), 2): "rows 2 and 3 give the same call (client 0010000001, 2020-07-02 10:30)"
        " two results: 接通 and 忙线",
        (str(second), 3): f"row 2 of {first} and row 3 of {second} give the same call"
        " (client 0010000001, 2020-07-02 10:30) two results: 接通 and 忙线",
    }


def test_error_line_names_file_row_and_column(db: str, tmp_path: Path) -> None:
    path = plain_csv(tmp_path / "plain.csv", PLAIN_HEADER, [BAD[4][0]])
    result = CliRunner().invoke(app, ["results", "upload", str(path), "-c", SLUG, "--db", db])
    assert result.exit_code == 1
    assert "Error:" in result.stderr and "row 2" in result.stderr and "通话结果" in result.stderr
    assert "Traceback" not in result.output


def test_one_bad_file_refuses_the_whole_invocation(db: str, tmp_path: Path) -> None:
    good = make_workbook(db, tmp_path / "good.xlsx", "A001", FULL)
    bad = plain_csv(tmp_path / "bad.csv", PLAIN_HEADER, [BAD[0][0]])
    code, summary = upload(db, good, bad)
    assert code == 1 and summary["events"] == 0
    assert events(db) == []
    statuses = {
        r.status for r in rows(db, "SELECT status FROM import_record WHERE kind = 'results'")
    }
    assert statuses == {"refused"}
    # fixed, the good file goes in: a refused upload of the same file does not count as done
    code, summary = upload(db, good)
    assert code == 0 and summary["events"] == 8


def test_skip_invalid_applies_good_rows_and_writes_rejects(db: str, tmp_path: Path) -> None:
    path = plain_csv(tmp_path / "plain.csv", PLAIN_HEADER, [GOOD, BAD[0][0], BAD[4][0]])
    code, summary = upload(db, path, extra=["--skip-invalid"])
    assert code == 0 and summary["applied"] == 1 and summary["rejected"] == 2
    rejects = tmp_path / "plain.csv.rejects.csv"
    assert summary["imports"][0]["rejects_file"] == str(rejects)
    lines = rejects.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 3 and "0000000999" in lines[1] and "打错了" in lines[2]
    assert len(events(db)) == 2  # call + attempts of the good row


def test_dry_run_counts_but_writes_nothing(db: str, tmp_path: Path) -> None:
    book = make_workbook(db, tmp_path / "a001.xlsx", "A001", FULL)
    code, summary = upload(db, book, extra=["--dry-run"])
    assert code == 0 and summary["events"] == 8 and summary["applied"] == 2
    assert events(db) == []
    assert scalar(db, "SELECT count(*) FROM import_record WHERE kind = 'results'") == 0
    assert stage_of(db, "0010000001").called_at is None


def test_calls_after_do_not_call_are_refused(db: str, tmp_path: Path) -> None:
    header = ["客户号", "客户经理", "通话时间", "通话结果"]
    first = plain_csv(
        tmp_path / "one.csv", header, [["0010000007", "A001", "2020-07-03 10:00", "勿扰"]]
    )
    assert upload(db, first)[0] == 0
    assert stage_of(db, "0010000007").do_not_call
    later = plain_csv(
        tmp_path / "two.csv",
        header,
        [
            ["0010000007", "A001", "2020-07-03 10:00", "勿扰"],  # the do-not-call call itself
            ["0010000007", "A001", "2020-07-02 10:00", "无人接听"],  # an earlier call
            ["0010000007", "A001", "2020-07-09 10:00", "接通"],  # after it: refused
        ],
    )
    code, summary = upload(db, later)
    assert code == 1 and [e["row"] for e in summary["errors"]] == [4]
    assert "asked not to be called" in summary["errors"][0]["reason"]
    # within one upload too
    same = plain_csv(
        tmp_path / "three.csv",
        header,
        [
            ["0010000001", "A001", "2020-07-03 10:00", "勿扰"],
            ["0010000001", "A001", "2020-07-04 10:00", "接通"],
        ],
    )
    code, summary = upload(db, same)
    assert code == 1 and [e["row"] for e in summary["errors"]] == [3]


def test_a_do_not_call_result_undone_refuses_no_later_call(db: str, tmp_path: Path) -> None:
    # the upload looks the result's time up only for clients whose summary row has one
    header = ["客户号", "客户经理", "通话时间", "通话结果"]
    first = plain_csv(
        tmp_path / "one.csv", header, [["0010000007", "A001", "2020-07-03 10:00", "勿扰"]]
    )
    code, summary = upload(db, first)
    assert code == 0
    later = [["0010000007", "A001", "2020-07-09 10:00", "接通"]]
    code, refused = upload(db, plain_csv(tmp_path / "two.csv", header, later))
    assert code == 1 and "asked not to be called" in refused["errors"][0]["reason"]
    undone = invoke("results", "undo", str(summary["imports"][0]["import_id"]), db=db)
    assert undone.exit_code == 0, undone.output
    assert not stage_of(db, "0010000007").do_not_call
    code, summary = upload(db, plain_csv(tmp_path / "three.csv", header, later))
    assert code == 0 and summary["applied"] == 1 and stage_of(db, "0010000007").reached_at


def test_times_before_assignment_are_refused(db: str, tmp_path: Path) -> None:
    assign(db, {"0010000007": "A001"}, at=dt.datetime(2020, 7, 10, 9, 0, tzinfo=SH))
    path = plain_csv(
        tmp_path / "p.csv",
        ["客户号", "通话时间", "通话结果"],
        [["0010000007", "2020-07-05 10:00", "接通"]],
    )
    code, summary = upload(db, path)
    assert code == 1 and "before the client was assigned" in summary["errors"][0]["reason"]


def test_plain_sheet_without_advisor_column(db: str, tmp_path: Path) -> None:
    header = ["资金账号", "通话时间", "通话结果"]
    path = plain_csv(
        tmp_path / "p.csv",
        header,
        [["0010000001", "2020-07-02 10:30", "接通"], ["0010000008", "2020-07-02 10:30", "接通"]],
    )
    code, summary = upload(db, path)
    # 01 has a current advisor (used); 08 is unassigned: no advisor for it
    assert code == 1 and summary["errors"][0]["row"] == 3
    assert "no advisor" in summary["errors"][0]["reason"]
    code, summary = upload(db, path, extra=["--advisor", "A001", "--skip-invalid"])
    assert code == 0 and summary["applied"] == 1 and summary["rejected"] == 1
    assert "assigned to nobody" in summary["errors"][0]["reason"]
    assert events(db, "0010000001")[0].advisor_code == "A001"


def test_foreign_rows_are_refused_unless_allowed(db: str, tmp_path: Path) -> None:
    fills = {"0010000003": {"通话时间": sh("2020-07-02 10:30"), "通话结果": "接通"}}
    # A001's workbook listing a client of A002 (a client moved since the issue)
    book = make_workbook(
        db, tmp_path / "a.xlsx", "A001", fills, clients=["0010000001", "0010000003"]
    )
    code, summary = upload(db, book)
    assert code == 1 and "assigned to A002, not A001" in summary["errors"][0]["reason"]
    code, summary = upload(db, book, extra=["--allow-foreign"])
    assert code == 0 and summary["applied"] == 1 and summary["foreign"] == 1
    assert events(db, "0010000003")[0].advisor_code == "A001"
    counts = json.loads(
        scalar(db, "SELECT counts FROM import_record WHERE kind = 'results' AND status = 'applied'")
    )
    assert counts["foreign"] == 1


def test_a_stamp_copied_onto_another_advisors_list_is_refused_whatever_the_flags(
    db: str, tmp_path: Path
) -> None:
    # A list of 01 and 03, both filled, carrying A001's genuine stamp, which lists 01 but
    # not 03: the file is refused whole, not credited to A001 (--allow-foreign did that).
    filled = {"通话时间": sh("2020-07-02 10:30"), "通话结果": "接通"}
    theirs = {"0010000001": filled, "0010000003": filled}
    clients = ["0010000001", "0010000003"]
    book = make_workbook(db, tmp_path / "b.xlsx", "A002", theirs, clients=clients)
    mine = openpyxl.load_workbook(make_workbook(db, tmp_path / "a.xlsx", "A001", FULL))
    workbook = openpyxl.load_workbook(book)
    stamp = workbook[STAMP_SHEET]
    for row in mine[STAMP_SHEET].iter_rows():
        for cell in row:
            stamp.cell(row=cell.row, column=cell.column, value=cell.value)
    workbook.save(book)
    for extra in ([], ["--allow-foreign"], ["--allow-foreign", "--skip-invalid"]):
        code, summary = upload(db, book, extra=extra)
        assert summary["applied"] == 0 and summary["rejected"] == 2, extra
        assert code == (0 if "--skip-invalid" in extra else 1)
        issued, stray = summary["errors"]
        assert (issued["row"], issued["column"]) == (2, None)
        assert (stray["row"], stray["column"]) == (3, "客户号")
        assert issued["reason"] == stray["reason"]
        assert "b.xlsx is not as issued" in stray["reason"]
        assert "did not list client 0010000003" in stray["reason"]
    assert events(db) == []


def test_tampered_or_foreign_campaign_stamp_rejects_every_row(db: str, tmp_path: Path) -> None:
    book = make_workbook(db, tmp_path / "a.xlsx", "A001", FULL)
    workbook = openpyxl.load_workbook(book)
    stamp = workbook[STAMP_SHEET]
    for row in stamp.iter_rows():
        if row[0].value == "advisor":
            row[1].value = "A002"  # claim the sheet is someone else's
    workbook.save(book)
    code, summary = upload(db, book)
    assert code == 1 and summary["rejected"] == 5
    assert "hidden stamp does not match" in summary["errors"][0]["reason"]
    other = make_workbook(db, tmp_path / "b.xlsx", "A001", FULL, campaign="other-campaign")
    code, summary = upload(db, other)
    assert code == 1 and "issued for campaign other-campaign" in summary["errors"][0]["reason"]
    assert events(db) == []


def test_an_issued_workbook_without_its_stamp_is_refused_not_read_as_plain(
    db: str, tmp_path: Path
) -> None:
    book = make_workbook(db, tmp_path / "a.xlsx", "A001", FULL)
    workbook = openpyxl.load_workbook(book)
    del workbook[STAMP_SHEET]  # one right-click in Excel
    workbook.save(book)
    for extra in ([], ["--allow-foreign", "--skip-invalid"]):
        code, summary = upload(db, book, extra=extra)
        assert summary["applied"] == 0 and summary["rejected"] == 5, extra
        assert code == (0 if extra else 1)
        reason = summary["errors"][0]["reason"]
        assert "a.xlsx is not as issued" in reason and STAMP_SHEET in reason
    assert events(db) == []


@pytest.mark.parametrize("state", ["hidden", "visible"])
def test_a_stamp_sheet_hidden_or_shown_uploads_as_very_hidden(
    db: str, tmp_path: Path, state: str
) -> None:
    book = make_workbook(db, tmp_path / "a.xlsx", "A001", FULL)
    workbook = openpyxl.load_workbook(book)
    workbook[STAMP_SHEET].sheet_state = state  # what a LibreOffice save or an unhide leaves
    workbook.save(book)
    code, summary = upload(db, book)
    assert code == 0 and summary["applied"] == 2 and summary["events"] == 8


def test_a_workbook_saved_by_libreoffice_uploads_and_one_stripped_is_refused(
    db: str, tmp_path: Path
) -> None:
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("LibreOffice (soffice) is not installed: cannot check uploads of its saves")
    book = make_workbook(db, tmp_path / "a.xlsx", "A001", FULL)
    stripped = make_workbook(db, tmp_path / "b.xlsx", "A001", FULL)
    workbook = openpyxl.load_workbook(stripped)
    del workbook[STAMP_SHEET]
    workbook.save(stripped)
    out = tmp_path / "saved"
    subprocess.run(
        [office, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/lo",
         "--convert-to", "xlsx", "--outdir", str(out), str(book), str(stripped)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    code, summary = upload(db, out / "b.xlsx")
    assert code == 1 and "b.xlsx is not as issued" in summary["errors"][0]["reason"]
    code, summary = upload(db, out / "a.xlsx")
    assert code == 0 and summary["applied"] == 2 and summary["events"] == 8


# ------------------------------------------------------------------------- voiding


def test_undo_voids_an_upload_once(db: str, tmp_path: Path) -> None:
    book = make_workbook(db, tmp_path / "a.xlsx", "A001", FULL)
    code, summary = upload(db, book)
    import_id = summary["imports"][0]["import_id"]
    result = invoke(
        "results", "undo", str(import_id), "--reason", "wrong sheet", "--format", "json", db=db
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["voided"] == 8
    assert events(db) == []
    voids = rows(db, "SELECT * FROM event WHERE stage = 'void'")
    assert len(voids) == 8 and {v.value for v in voids} == {"wrong sheet"}
    assert all(v.recorded_by and v.voids_event_id for v in voids)
    assert stage_of(db, "0010000001").called_at is None
    again = invoke("results", "undo", str(import_id), db=db)
    assert again.exit_code == 1 and "already undone" in again.stderr
    # the same file may be uploaded again once its upload was undone
    code, summary = upload(db, book)
    assert code == 0 and summary["events"] == 8


def test_undo_refuses_unknown_or_refused_imports(db: str, tmp_path: Path) -> None:
    assert "No import 99" in invoke("results", "undo", "99", db=db).stderr
    huge = invoke("results", "undo", "9" * 23, db=db)  # past what a database can bind
    assert huge.exit_code == 1 and "No import 999" in huge.stderr
    bad = plain_csv(tmp_path / "bad.csv", PLAIN_HEADER, [BAD[0][0]])
    code, summary = upload(db, bad)
    refused = invoke("results", "undo", str(summary["imports"][0]["import_id"]), db=db)
    assert refused.exit_code == 1 and "refused" in refused.stderr


def test_correct_voids_from_a_stage_on(db: str, tmp_path: Path) -> None:
    fills = {"0010000001": {**FULL["0010000001"]}}
    assert upload(db, make_workbook(db, tmp_path / "a.xlsx", "A001", fills))[0] == 0
    no_answer = plain_csv(
        tmp_path / "p.csv",
        ["客户号", "通话时间", "通话结果"],
        [["0010000001", "2020-07-01 18:00", "未接"]],
    )
    assert upload(db, no_answer)[0] == 0
    result = invoke(
        "results",
        "correct",
        "0010000001",
        "-c",
        SLUG,
        "--stage",
        "reached",
        "--reason",
        "was the wrong client",
        "--format",
        "json",
        db=db,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["voided"] == 4  # connected call, wecom, pushed, converted
    left = [(e.stage, e.value) for e in events(db, "0010000001")]
    assert left == [("attempts", "2"), ("note", "很感兴趣"), ("call", "no_answer")]
    summary = stage_of(db, "0010000001")
    assert summary.called_at is not None and summary.reached_at is None
    assert summary.wecom_at is None and summary.converted_at is None
    result = invoke(
        "results",
        "correct",
        "0010000001",
        "-c",
        SLUG,
        "--stage",
        "called",
        "--reason",
        "never called",
        db=db,
    )
    assert result.exit_code == 0, result.output
    assert stage_of(db, "0010000001").called_at is None
    bad = invoke(
        "results", "correct", "0010000001", "-c", SLUG, "--stage", "dialled", "--reason", "x", db=db
    )
    assert bad.exit_code == 1 and "not a stage" in bad.stderr


def _plain_xlsx(path: Path, header: Sequence[str], cells: Sequence[Sequence[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(header))
    for row in cells:
        sheet.append(list(row))
    book.save(path)
    return path


def _typed(row: Sequence[object]) -> list[object]:
    """A plain-sheet row as a spreadsheet holds it: times as dates, counts as numbers."""
    out: list[object] = []
    for cell in row:
        if isinstance(cell, str) and len(cell) == 16 and cell[4] == "-" and cell[13] == ":":
            out.append(dt.datetime.fromisoformat(cell))
        elif isinstance(cell, str) and cell.isdigit() and len(cell) < 4:
            out.append(int(cell))
        else:
            out.append(cell if cell != "" else None)
    return out


def test_every_reader_reaches_the_same_outcome(db: str, tmp_path: Path) -> None:
    """The same sheet as CSV (polars), as a typed workbook (fastexcel) and as a workbook
    whose 拨打次数 column mixes numbers and text (which only the row reader reads as it is):
    a column at a time or a row at a time, the same rows are counted, accepted and
    rejected, with the same reasons and the same facts."""
    label = ["合计", "", "", "", "", "", ""]
    no_id = ["", "A001", "2020-07-02 10:30", "接通", "", "", ""]
    sheet = [GOOD, *(row for row, _, _ in BAD), label, no_id]
    sheet.append(["0010000007", "A001", "2020-07-02 10:40", "无人接听", "2", "", ""])
    typed = [_typed(row) for row in sheet]
    mixed = [list(row) for row in typed]
    mixed[-1][4] = "2"  # text among numbers: the row reader's
    files = {
        "csv": plain_csv(tmp_path / "sheet.csv", PLAIN_HEADER, sheet),
        "typed": _plain_xlsx(tmp_path / "typed.xlsx", PLAIN_HEADER, typed),
        "mixed": _plain_xlsx(tmp_path / "mixed.xlsx", PLAIN_HEADER, mixed),
    }
    # the fast readers take the first two, the row reader the third
    assert [open_frame(path, RESULT_FIELDS)[1] is not None for path in files.values()] == [
        True,
        True,
        False,
    ]
    outcomes = {}
    for name, path in files.items():
        code, summary = upload(db, path, extra=["--skip-invalid", "--dry-run"])
        assert code == 0, summary
        errors = [(e["row"], e["column"], e["reason"]) for e in summary["errors"]]
        counts = {key: summary[key] for key in ("rows", "applied", "rejected", "events")}
        outcomes[name] = (counts, errors)
    assert outcomes["csv"][0] == {
        "rows": len(sheet) - 1,  # the 合计 row is a label, not a row
        "applied": 2,
        "rejected": len(BAD) + 1,
        "events": 4,  # a call and its attempts, twice
    }
    assert outcomes["typed"] == outcomes["csv"]
    assert outcomes["mixed"] == outcomes["csv"]


def test_whether_an_upload_names_most_members_is_asked_exactly(db: str) -> None:
    """`members_at_most` reads no more members than it is asked about, and is exact at
    the edge (an upload naming half the campaign takes the whole-campaign path)."""
    from reactivate.upload.members import members_at_most

    members = int(scalar(db, "SELECT COUNT(*) FROM member"))
    assert members > 1
    engine = open_engine(db)
    with engine.connect() as conn:
        campaign_id = int(scalar(db, "SELECT id FROM campaign"))
        assert members_at_most(conn, campaign_id, members)
        assert not members_at_most(conn, campaign_id, members - 1)
        assert not members_at_most(conn, campaign_id + 1000, -1)
        assert members_at_most(conn, campaign_id + 1000, 0)
    engine.dispose()


def test_a_lookup_of_most_members_reads_them_once_and_answers_as_one_by_one(db: str) -> None:
    """`members.Lookup`: an upload that at its first batch's pace names most members reads
    every member then, and takes each batch's clients from that frame. What it answers,
    for members, a client named again, a known non-member and an unknown id alike, is what
    looking those clients up alone answers; a small upload never reads every member. On
    SQLite only the small upload's connection reads the file through memory mapping (the
    whole campaign's pages would stay resident)."""
    import polars as pl

    from reactivate.db.dialect import MMAP_BYTES
    from reactivate.upload.members import Lookup, load_members

    members = [row[0] for row in rows(db, "SELECT client_id FROM member ORDER BY client_id")]
    campaign_id = int(scalar(db, "SELECT id FROM campaign"))
    first, second = members[:2], [*members[2:], members[0], "0099000001", "0000000999"]
    engine = open_engine(db)

    def same(found: pl.DataFrame, client_ids: list[str]) -> None:
        with engine.connect() as conn, conn.begin():
            alone = load_members(conn, campaign_id, client_ids)
        assert found.sort("client_id").to_dicts() == alone.sort("client_id").to_dicts()
        assert found.height == len(set(client_ids))

    with engine.connect() as conn, conn.begin():
        # two clients in the first of len(members) files: the upload names them all
        sqlite = conn.dialect.name == "sqlite"

        def mapped() -> int:
            return int(conn.exec_driver_sql("PRAGMA mmap_size").scalar_one())

        lookup = Lookup(campaign_id, len(members))
        batch = lookup.batch(conn, first, 1)
        assert lookup.every is not None and lookup.every.height == len(members)
        later = lookup(conn, second)
        assert not sqlite or mapped() == 0
        small = Lookup(campaign_id, 1)
        assert small.batch(conn, first, 1).height == 2 and small.every is None
        assert not sqlite or mapped() == MMAP_BYTES
    same(batch, first)
    same(later, second)
    engine.dispose()

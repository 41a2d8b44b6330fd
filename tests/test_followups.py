"""`reactivate followups`: each rule picks the right clients, with the right reason.

States are made the way advisors make them, by uploading sheets; `now` is pinned
inside the campaign so retry delays and call-back times are exact.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from upload_campaign import (
    SH,
    SLUG,
    assign,
    invoke,
    plain_csv,
    rows,
    setup_db,
    upload,
)

from reactivate.db.engine import open_engine
from reactivate.followups import followups
from reactivate.load import LoadOptions, load_accounts
from reactivate.messages import zh
from reactivate.sheets.workbook import CALL_SHEET, read_stamp

NOW = dt.datetime(2020, 8, 1, 0, 30, tzinfo=SH)
HEADER = [
    "客户号",
    "客户经理",
    "通话时间",
    "通话结果",
    "拨打次数",
    "预约回电时间",
    "是否添加企业微信",
    "推送产品",
]
#: client -> (row of the results sheet, expected reason or None)
STATES: dict[str, tuple[list[str], str | None]] = {
    # never called: no row at all
    "0010000001": (["0010000001", "A001", "2020-07-20 10:00", "未接", "1", "", "", ""], "retry"),
    "0010000002": (["0010000002", "A001", "2020-07-20 10:00", "忙线", "3", "", "", ""], None),
    "0010000003": (
        ["0010000003", "A002", "2020-07-20 10:00", "预约回电", "1", "2020-07-25 10:00", "", ""],
        "callback_due",
    ),
    "0010000007": (["0010000007", "A001", "2020-07-31 23:00", "无人接听", "1", "", "", ""], None),
    "0010000011": (
        ["0010000011", "A001", "2020-07-20 10:00", "接通", "1", "", "", ""],
        "reached_not_wecom",
    ),
    "0010000012": (
        ["0010000012", "A001", "2020-07-20 10:00", "接通", "1", "", "是", ""],
        "wecom_not_pushed",
    ),
    "0010000013": (
        ["0010000013", "A001", "2020-07-20 10:00", "接通", "1", "", "是", "MMF01"],
        None,
    ),
    "0010000014": (
        ["0010000014", "A001", "2020-07-20 10:00", "预约回电", "1", "2020-08-05 10:00", "", ""],
        None,
    ),
    "0010000015": (["0010000015", "A001", "2020-07-20 10:00", "勿扰", "1", "", "", ""], None),
}
NEVER_CALLED = "0010000004"


@pytest.fixture
def db(db_url: str, tmp_path: Path) -> str:
    setup_db(db_url, tmp_path)
    extra = tmp_path / "more.csv"
    extra.write_text(
        "客户号,客户姓名,手机号码,所属营业部,总资产(元),最后交易日期,风险承受能力\n"
        + "".join(
            f"00100000{n},客户{n},138000000{n},上海浦东南路营业部,20000,2019-06-01,C3\n"
            for n in range(11, 16)
        ),
        encoding="utf-8",
    )
    engine = open_engine(db_url)
    try:  # five clients added to eight: a top-up that needs saying yes to
        loaded = load_accounts(engine, SLUG, extra, LoadOptions(confirm_new=True))
    finally:
        engine.dispose()
    assert loaded.applied and loaded.loaded == 5
    assign(db_url, {f"00100000{n}": "A001" for n in range(11, 16)})
    sheet = plain_csv(tmp_path / "results.csv", HEADER, [row for row, _ in STATES.values()])
    code, summary = upload(db_url, sheet)
    assert code == 0, summary
    return db_url


def run(db: str, **options: Any) -> dict[str, Any]:
    engine = open_engine(db)
    try:
        report = followups(engine, SLUG, now=NOW.astimezone(dt.UTC), **options)
    finally:
        engine.dispose()
    return report.to_json()


def test_each_rule_picks_its_clients(db: str) -> None:
    report = run(db)
    found = {item["client_id"]: item["reason"] for item in report["followups"]}
    expected = {client: reason for client, (_, reason) in STATES.items() if reason}
    expected[NEVER_CALLED] = "never_called"
    # 05 is control, 06 is on the do-not-call list, 08 is unassigned: never listed
    assert found == expected
    assert report["by_reason"] == {
        "callback_due": 1,
        "retry": 1,
        "never_called": 1,
        "reached_not_wecom": 1,
        "wecom_not_pushed": 1,
    }
    retry = next(i for i in report["followups"] if i["reason"] == "retry")
    assert retry["attempts"] == 1 and retry["last_result"] == "no_answer"
    assert retry["due_at"] == "2020-07-20 14:00"
    callback = next(i for i in report["followups"] if i["reason"] == "callback_due")
    assert callback["due_at"] == "2020-07-25 10:00"


def test_retry_waits_for_the_delay(db: str) -> None:
    later = run(db)["followups"]
    assert "0010000007" not in {i["client_id"] for i in later}
    engine = open_engine(db)
    report = followups(engine, SLUG, now=dt.datetime(2020, 8, 1, 3, 0, tzinfo=SH))
    engine.dispose()
    assert "0010000007" in {i.client_id for i in report.items if i.reason == "retry"}


def test_names_and_mobiles_only_for_one_advisor(db: str) -> None:
    everyone = run(db)["followups"]
    assert all("****" in i["mobile"] and i["name"].endswith("*") for i in everyone)
    own = run(db, advisor="A001")["followups"]
    assert {i["advisor"] for i in own} == {"A001"}
    assert any(i["mobile"] == "13810000004" and i["name"] == "赵六" for i in own)


def test_cli_formats(db: str) -> None:
    result = invoke("followups", "-c", SLUG, "--format", "json", db=db)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["count"] >= 5
    result = invoke("followups", "-c", SLUG, "--format", "csv", "--advisor", "A002", db=db)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("client_id,advisor,name,mobile,reason")
    assert len(lines) == 2 and "0010000003" in lines[1] and "王五" in lines[1]
    result = invoke("followups", "-c", SLUG, db=db)
    assert result.exit_code == 0 and "never called" in result.stdout
    unknown = invoke("followups", "-c", SLUG, "--advisor", "Z999", db=db)
    assert unknown.exit_code == 1 and "Z999" in unknown.stderr


def test_idle_advisors(db: str, tmp_path: Path) -> None:
    report = run(db, idle_days=3)
    # A001 and A002 uploaded (just now, after the pinned 'now'): nobody idle
    assert report["idle_advisors"] == []
    engine = open_engine(db)
    later = followups(engine, SLUG, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=5))
    engine.dispose()
    assert {a.code for a in later.idle} == {"A001", "A002"}
    assert all(a.days >= 4 for a in later.idle)


def test_workbooks_for_the_next_round_upload_like_the_first(db: str, tmp_path: Path) -> None:
    out = tmp_path / "round2"
    report = run(db, workbooks=out)
    assert len(report["workbooks"]) == 2
    issued = rows(
        db, "SELECT advisor_code, issue, clients FROM workbook_issue ORDER BY advisor_code"
    )
    assert [(r.advisor_code, r.issue) for r in issued] == [("A001", 1), ("A002", 1)]
    a001 = Path(next(p for p in report["workbooks"] if "A001" in p))
    stamp = read_stamp(a001)
    assert stamp is not None and stamp.advisor == "A001"
    expected = {i["client_id"] for i in report["followups"] if i["advisor"] == "A001"}
    assert set(stamp.client_ids) == expected
    # full names in the advisor's own workbook; fill one row and upload it
    book = openpyxl.load_workbook(a001)
    sheet = book[CALL_SHEET]
    names = {sheet.cell(r, 1).value: sheet.cell(r, 2).value for r in range(2, sheet.max_row + 1)}
    assert names[NEVER_CALLED] == "赵六"
    column = {cell.value: cell.column for cell in sheet[1]}
    listed = {sheet.cell(r, 1).value: r for r in range(2, sheet.max_row + 1)}
    # why each client is listed, the last call and when, and 拨打次数 from the count so far
    retry = listed["0010000001"]
    assert sheet.cell(retry, column["跟进原因"]).value == zh.TEXTS["followup.retry"]
    assert sheet.cell(retry, column["上次通话结果"]).value == "无人接听"
    assert sheet.cell(retry, column["上次通话时间"]).value == dt.datetime(2020, 7, 20, 10, 0)
    assert sheet.cell(retry, column["上次通话时间"]).number_format == "yyyy-mm-dd hh:mm"
    assert sheet.cell(retry, column["拨打次数"]).value == 1
    a002 = openpyxl.load_workbook(next(p for p in report["workbooks"] if "A002" in p))[CALL_SHEET]
    (callback,) = a002.iter_rows(min_row=2, values_only=True)
    assert callback[0] == "0010000003"
    assert callback[column["跟进原因"] - 1] == zh.TEXTS["followup.callback_due"]
    assert callback[column["应跟进时间"] - 1] == dt.datetime(2020, 7, 25, 10, 0)
    assert sheet.cell(listed[NEVER_CALLED], column["拨打次数"]).value == 0
    row = listed[NEVER_CALLED]
    sheet.cell(row, column["通话时间"]).value = dt.datetime(2020, 7, 28, 10, 0)
    sheet.cell(row, column["通话结果"]).value = "接通"
    sheet.cell(row, column["拨打次数"]).value = 1
    book.save(a001)
    code, summary = upload(db, a001)
    # the rows left as issued (拨打次数 at the calls so far) are no new call
    assert code == 0 and summary["applied"] == 1, summary
    assert (
        rows(db, "SELECT COUNT(*) FROM event WHERE client_id = '0010000001' AND stage = 'call'")[0][
            0
        ]
        == 1
    )
    # a second round is a new issue
    run(db, workbooks=out)
    issues = rows(db, "SELECT MAX(issue) FROM workbook_issue WHERE advisor_code = 'A001'")
    assert issues[0][0] == 2

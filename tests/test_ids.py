"""Ids are ids: every loader refuses an id with a space, a control or invisible character,
or one too long, naming its row and column, and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import CAMPAIGN_FILE, query
from typer.testing import CliRunner
from upload_campaign import SLUG, plain_csv, setup_db, upload

from reactivate.cli import app
from reactivate.sheets.values import MAX_ID_LENGTH

ACCOUNTS_HEADER = "客户号,客户姓名,手机号码,所属营业部,总资产(元),最后交易日期,风险承受能力"
# (id as the file spells it, what the reason says); rows 3 to 8 of the file below
LOOK_ALIKES = [
    ("0099 000001", "has a space"),
    ("0099\u200b000001", "U+200B"),
    ("0099\x00000001", "U+0000"),
    ("\u202e0099000001", "U+202E"),
    ("0099000001\ufeff", "U+FEFF"),
    ("0" * (MAX_ID_LENGTH + 1), f"at most {MAX_ID_LENGTH}"),
]


def invoke(db: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--db", db])
    return result.exit_code, result.output


@pytest.fixture
def campaign(db_url: str) -> str:
    code, output = invoke(db_url, "campaign", "add", str(CAMPAIGN_FILE))
    assert code == 0, output
    return db_url


def account_line(client_id: str, n: int) -> str:
    return f"{client_id},客户{n},1380000{n:04d},上海浦东南路营业部,20000,2019-06-01,C3"


def test_load_refuses_look_alike_ids_and_writes_nothing(campaign: str, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    lines = [ACCOUNTS_HEADER, account_line("0099000001", 0)]
    lines += [account_line(cid, n) for n, (cid, _) in enumerate(LOOK_ALIKES, 1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, output = invoke(campaign, "load", str(path), "-c", SLUG, "--format", "json")
    assert code == 1
    summary = json.loads(output[: output.rindex("}") + 1])
    assert summary["rejected"] == len(LOOK_ALIKES)
    found = [(e["row"], e["column"], e["reason"]) for e in summary["errors"]]
    for (row, column, reason), (_, expected) in zip(found, LOOK_ALIKES, strict=True):
        assert column == "客户号" and expected in reason, (row, reason)
    assert [row for row, _, _ in found] == list(range(3, 3 + len(LOOK_ALIKES)))
    assert query(campaign, "SELECT client_id FROM client") == []


def test_full_width_ids_are_the_same_client(campaign: str, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    lines = [
        ACCOUNTS_HEADER,
        account_line("0099000001", 1),
        account_line("００９９０００００１", 1),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, output = invoke(campaign, "load", str(path), "-c", SLUG, "--format", "json")
    assert code == 0, output
    assert json.loads(output)["duplicates"] == 1
    assert query(campaign, "SELECT client_id FROM client") == [("0099000001",)]


def test_roster_refuses_an_advisor_code_with_an_invisible_character(
    db_url: str, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "工号,姓名,营业部,营业部代码\nA001,王芳,上海浦东南路营业部,0101\n"
        "A001\u200d,李强,上海浦东南路营业部,0101\nA003,张伟,上海浦东南路营业部,01 01\n",
        encoding="utf-8",
    )
    assert invoke(db_url, "init")[0] == 0
    code, output = invoke(db_url, "advisors", "load", str(roster))
    assert code == 1
    assert "2 row(s) rejected" in output and "row 3, column 工号" in output
    assert "U+200D" in output
    assert query(db_url, "SELECT code FROM advisor") == []


def test_do_not_call_list_refuses_a_cell_that_swallowed_the_file(
    db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "dnc.csv"
    # an unclosed quote: the reader takes the rest of the file as one cell
    path.write_text(
        '客户号,原因\n"unterminated,' + "a" * 2000 + "\n0010000001,投诉\n", encoding="utf-8"
    )
    assert invoke(db_url, "init")[0] == 0
    code, output = invoke(db_url, "dnc", "load", str(path))
    assert code == 1
    assert "row 2, column 客户号" in output and f"at most {MAX_ID_LENGTH}" in output
    assert query(db_url, "SELECT value FROM do_not_call") == []


def test_activity_refuses_a_text_direction_mark(campaign: str, tmp_path: Path) -> None:
    path = tmp_path / "activity.csv"
    path.write_text(
        "客户号,最后交易日期\n0010000001,2020-08-01\n0010000002\u200f,2020-08-01\n",
        encoding="utf-8",
    )
    code, output = invoke(campaign, "activity", "load", str(path))
    assert code == 1
    assert "row 3, column 客户号" in output and "U+200F" in output


def test_results_upload_says_why_an_id_is_not_one(db_url: str, tmp_path: Path) -> None:
    db = setup_db(db_url, tmp_path)
    path = plain_csv(
        tmp_path / "results.csv",
        ["客户号", "客户经理", "通话时间", "通话结果"],
        [["0010000001\u2060", "A001", "2020-07-02 10:30", "接通"]],
    )
    code, summary = upload(db, path)
    assert code == 1
    (error,) = summary["errors"]
    assert (error["row"], error["column"]) == (2, "客户号")
    assert "U+2060" in error["reason"]

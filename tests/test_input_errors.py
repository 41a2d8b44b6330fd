"""Inputs that used to end in a traceback: each is now one line, `Error: ...`, and exit 1
(or, where the input is fine, accepted)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from helpers import CAMPAIGN_FILE
from typer.testing import CliRunner, Result
from upload_campaign import SLUG, plain_csv, setup_db

from reactivate.cli import app


def invoke(db: str, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--db", db])


def assert_one_error(result: Result, *words: str) -> None:
    """Exit 1 with `Error: ...`, not an exception the CLI let through."""
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.output.startswith("Error: "), result.output
    text = " ".join(result.output.split())
    for word in words:
        assert word in text, text


def campaign_with(tmp_path: Path, old: str, new: str) -> Path:
    text = CAMPAIGN_FILE.read_text(encoding="utf-8")
    changed = re.sub(old, new, text, count=1, flags=re.MULTILINE)
    assert changed != text
    path = tmp_path / "campaign.toml"
    path.write_text(changed, encoding="utf-8")
    return path


def test_a_campaign_saved_with_a_byte_order_mark_is_accepted(
    sqlite_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + CAMPAIGN_FILE.read_bytes())
    result = invoke(sqlite_url, "campaign", "add", str(path))
    assert result.exit_code == 0, result.output
    assert "registered" in result.output


def test_a_deeply_nested_campaign_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    result = invoke(sqlite_url, "campaign", "add", str(path))
    assert_one_error(result, "deep.toml", "nested too deeply")


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (r"^asset_bands = .*$", 'asset_bands = ["a", "b"]', "asset_bands"),
        (r"^asset_bands = .*$", "asset_bands = [10000, 1e400]", "asset_bands"),
        (r"^asset_bands = .*$", "asset_bands = [nan]", "asset_bands"),
        (r"^min_days = 180", "min_days = 100000000000000000000", "dormancy.min_days"),
        (r"^retry_delay_hours = 4", "retry_delay_hours = 1e308", "followup.retry_delay_hours"),
        (r"^reached = 0.49", "reached = nan", "targets.reached"),
        (r"^seed = 0", "seed = " + "1" * 5000, "not valid TOML"),
    ],
)
def test_a_campaign_value_out_of_range_is_refused_with_its_key(
    old: str, new: str, key: str, sqlite_url: str, tmp_path: Path
) -> None:
    result = invoke(sqlite_url, "campaign", "add", str(campaign_with(tmp_path, old, new)))
    assert_one_error(result, "campaign.toml", key)


@pytest.mark.parametrize("capacity", ["100000000000000000000", "10000000000"])
def test_a_roster_capacity_too_large_for_the_database_is_rejected(
    capacity: str, db_url: str, tmp_path: Path
) -> None:
    """10^20 fits no integer column; 10^10 fits SQLite's but not PostgreSQL's INTEGER."""
    roster = tmp_path / "roster.csv"
    roster.write_text(
        f"工号,姓名,营业部,企业微信账号,容量,状态\nA001,王芳,上海浦东南路营业部,wangfang,{capacity},在职\n",
        encoding="utf-8",
    )
    assert invoke(db_url, "init").exit_code == 0
    result = invoke(db_url, "advisors", "load", str(roster))
    assert_one_error(result, "row 2", "容量", "too large: at most 2,147,483,647")


def upload_json(db: str, *paths: Path) -> tuple[int, dict[str, Any]]:
    result = invoke(db, "results", "upload", *map(str, paths), "-c", SLUG, "--format", "json")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.stdout)


def test_a_header_only_workbook_uploads_as_no_rows(sqlite_url: str, tmp_path: Path) -> None:
    db = setup_db(sqlite_url, tmp_path)
    path = tmp_path / "empty.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    workbook.add_worksheet().write_row(0, 0, ["客户号", "通话时间", "通话结果", "拨打次数"])
    workbook.close()
    code, summary = upload_json(db, path)
    assert code == 0, summary
    assert (summary["rows"], summary["applied"], summary["rejected"]) == (0, 0, 0)


def test_a_workbook_whose_id_column_is_blank_is_rejected_row_by_row(
    sqlite_url: str, tmp_path: Path
) -> None:
    db = setup_db(sqlite_url, tmp_path)
    path = tmp_path / "no_ids.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["客户号", "通话时间", "通话结果"])
    sheet.write_row(1, 1, ["2020-07-02 10:30", "接通"])  # two cells: not a label row
    sheet.write_row(2, 1, ["2020-07-02 10:40", "忙线"])
    workbook.close()
    code, summary = upload_json(db, path)
    assert code == 1 and summary["rejected"] == 2, summary


def test_call_attempts_too_large_to_store_are_rejected(sqlite_url: str, tmp_path: Path) -> None:
    db = setup_db(sqlite_url, tmp_path)
    sheet = plain_csv(
        tmp_path / "calls.csv",
        ["客户号", "客户经理", "通话时间", "通话结果", "拨打次数"],
        [["0010000001", "A001", "2020-07-02 10:30", "接通", "100000000000000000000"]],
    )
    code, summary = upload_json(db, sheet)
    assert code == 1 and summary["rejected"] == 1, summary
    assert "too large" in json.dumps(summary, ensure_ascii=False)

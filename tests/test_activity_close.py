"""Reactivation from a later export, and closing a campaign (with the personal-data purge)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import CAMPAIGN_FILE, ROOT, query
from typer.testing import CliRunner

from reactivate.cli import app

SLUG = "2020h2-dormant"


def run(db: str, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, [*args, "--db", db])
    assert result.exit_code == code, result.output
    return result.stdout if code == 0 else result.stderr


@pytest.fixture
def assigned(db_url: str, tmp_path: Path) -> str:
    run(db_url, "campaign", "add", str(CAMPAIGN_FILE))
    run(db_url, "advisors", "load", str(ROOT / "data" / "advisors.xlsx"))
    run(db_url, "load", str(ROOT / "data" / "dormant_accounts.xlsx"), "-c", SLUG)
    run(
        db_url,
        "assign",
        "-c",
        SLUG,
        "--holdout",
        "0.2",
        "--no-workbooks",
        "--assigned-at",
        "2020-07-01T09:00",
    )
    return db_url


def activity_file(tmp_path: Path, rows: list[tuple[str, str]]) -> Path:
    path = tmp_path / "activity.csv"
    path.write_text(
        "客户号,最后交易日期,总资产\n" + "".join(f"{c},{d},1000\n" for c, d in rows),
        encoding="utf-8",
    )
    return path


def test_trades_on_or_after_the_start_reactivate(assigned: str, tmp_path: Path) -> None:
    treated = [
        r[0]
        for r in query(
            assigned, "SELECT client_id FROM member WHERE NOT control ORDER BY client_id"
        )
    ]
    control = [
        r[0]
        for r in query(assigned, "SELECT client_id FROM member WHERE control ORDER BY client_id")
    ]
    rows = [
        (treated[0], "2020-07-01"),  # the start day counts
        (treated[1], "2020-06-30"),  # before the start: not reactivated
        (treated[2], "2020-09-15"),
        (control[0], "2020-08-01"),
        ("9999999999", "2020-08-01"),  # not a client we know
    ]
    path = activity_file(tmp_path, rows)
    summary = json.loads(run(assigned, "activity", "load", str(path), "-f", "json"))
    assert summary == {"rows": 5, "clients": 4, "unknown": 1, "reactivated": 3, "events": 3}
    got = query(
        assigned,
        "SELECT client_id, reactivated_at FROM client_stage WHERE reactivated_at IS NOT NULL",
    )
    assert sorted(c for c, _ in got) == sorted([treated[0], treated[2], control[0]])
    # dated the trade day at midnight in Shanghai = 16:00 UTC the day before
    first = dict(got)[treated[0]]
    assert str(first).startswith("2020-06-30 16:00")
    assert (
        query(assigned, f"SELECT last_trade_date FROM client WHERE client_id = '{treated[1]}'")[0][
            0
        ]
        is not None
    )
    again = json.loads(run(assigned, "activity", "load", str(path), "-f", "json"))
    assert again["events"] == 0
    assert query(assigned, "SELECT count(*) FROM event WHERE stage = 'reactivated'")[0][0] == 3


def test_bad_activity_row_writes_nothing(assigned: str, tmp_path: Path) -> None:
    path = activity_file(tmp_path, [("0000000001", "2020-13-01")])
    message = run(assigned, "activity", "load", str(path), code=1)
    assert "row 2" in message and "最后交易日期" in message
    assert query(assigned, "SELECT count(*) FROM event WHERE stage = 'reactivated'")[0][0] == 0


def test_a_trade_after_today_is_refused_and_one_after_the_end_counts(
    assigned: str, tmp_path: Path
) -> None:
    treated = query(assigned, "SELECT client_id FROM member WHERE NOT control ORDER BY client_id")
    # a year after the campaign's end (2020-12-31): later than the campaign, not the future
    later = [(treated[0][0], "2021-12-31")]
    path = activity_file(tmp_path, [*later, (treated[1][0], "9999-12-31")])
    message = run(assigned, "activity", "load", str(path), code=1)
    assert "row 3" in message and "最后交易日期" in message and "9999-12-31" in message
    assert "in the future (Asia/Shanghai)" in message
    assert query(assigned, "SELECT count(*) FROM event WHERE stage = 'reactivated'")[0][0] == 0
    summary = json.loads(
        run(assigned, "activity", "load", str(activity_file(tmp_path, later)), "-f", "json")
    )
    assert summary["reactivated"] == 1


def test_close_freezes_and_purges_only_what_no_open_campaign_needs(
    assigned: str, tmp_path: Path
) -> None:
    other = tmp_path / "other.toml"
    other.write_text(
        CAMPAIGN_FILE.read_text(encoding="utf-8").replace(f'slug = "{SLUG}"', 'slug = "other"'),
        encoding="utf-8",
    )
    run(assigned, "campaign", "add", str(other))
    shared = query(assigned, "SELECT client_id FROM member ORDER BY client_id LIMIT 1")[0][0]
    accounts = tmp_path / "shared.csv"
    row = query(
        assigned, f"SELECT client_id, name, mobile, branch FROM client WHERE client_id = '{shared}'"
    )[0]
    accounts.write_text(
        "客户号,客户姓名,手机号码,所属营业部,最后交易日期\n"
        + f"{row[0]},{row[1]},{row[2]},{row[3]},2019-01-01\n",
        encoding="utf-8",
    )
    run(assigned, "load", str(accounts), "-c", "other", "--allow-overlap")
    before = query(assigned, "SELECT count(*) FROM member WHERE campaign_id = 1")[0][0]
    out = run(assigned, "campaign", "close", SLUG, "--purge-personal-data")
    assert "closed" in out and f"{int(before) - 1} clients" in out  # type: ignore[call-overload]
    assert (
        query(assigned, f"SELECT mobile FROM client WHERE client_id = '{shared}'")[0][0] == row[2]
    )
    assert (
        query(assigned, "SELECT count(*) FROM client WHERE mobile IS NULL")[0][0] == int(before) - 1
    )  # type: ignore[call-overload]
    # figures still work from ids and events; new work is refused
    assert (
        query(assigned, "SELECT count(*) FROM client_stage WHERE campaign_id = 1")[0][0] == before
    )
    message = run(assigned, "assign", "-c", SLUG, code=1)
    assert "closed" in message
    message = run(
        assigned, "load", str(ROOT / "data" / "dormant_accounts.xlsx"), "-c", SLUG, code=1
    )
    assert "closed" in message

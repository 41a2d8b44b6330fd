"""One count, one meaning: every command that counts the same thing prints the same figure.

On the README's own steps (roster, do-not-call list, load, assign), and again when the
do-not-call list grows after the load, `load`, `dnc load`, `report` and
`assignments export` agree on who is on the do-not-call list and who is a member.
"""

from __future__ import annotations

import json
from pathlib import Path

from helpers import CAMPAIGN_FILE, ROOT, scalar
from typer.testing import CliRunner

from reactivate.cli import app

SLUG = "2020h2-dormant"


def _json(db: str, *args: str) -> object:
    result = CliRunner().invoke(app, [*args, "--db", db, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _run(db: str, *args: str) -> None:
    result = CliRunner().invoke(app, [*args, "--db", db])
    assert result.exit_code == 0, result.output


def _report_dnc(db: str) -> int:
    report = _json(db, "report", "-c", SLUG)
    assert isinstance(report, dict)
    return int(report["data_quality"]["dnc_members"])


def _exported(db: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(
        app, ["assignments", "export", "-c", SLUG, "-f", "json", "--db", db]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert isinstance(rows, list)
    return rows


def test_do_not_call_counts_agree_everywhere(db_url: str, tmp_path: Path) -> None:
    _run(db_url, "campaign", "add", str(CAMPAIGN_FILE))
    _run(db_url, "advisors", "load", str(ROOT / "data" / "advisors.xlsx"))
    _json(db_url, "dnc", "load", str(ROOT / "data" / "do_not_call.csv"))
    loaded = _json(db_url, "load", str(ROOT / "data" / "dormant_accounts.xlsx"), "-c", SLUG)
    assert isinstance(loaded, dict)
    _run(db_url, "assign", "-c", SLUG, "--holdout", "0.1", "--assigned-at", "2020-07-01T09:00",
         "--out", str(tmp_path / "books"))  # fmt: skip
    on_list = scalar(db_url, "SELECT COUNT(*) FROM member WHERE dnc")
    assert loaded["dnc_members"] == on_list == _report_dnc(db_url) > 0
    exported = _exported(db_url)
    assert len(exported) == loaded["loaded"]
    assert sum(1 for row in exported if row["dnc"]) == on_list

    # the list grows after the load: the flag reaches the report at once
    member = scalar(
        db_url, "SELECT client_id FROM member WHERE NOT dnc AND advisor_code IS NOT NULL LIMIT 1"
    )
    more = tmp_path / "more_dnc.csv"
    more.write_text(f"客户号,原因\n{member},投诉\n", encoding="utf-8")
    flagged = _json(db_url, "dnc", "load", str(more))
    assert isinstance(flagged, dict) and flagged["members_flagged"] == 1
    assert _report_dnc(db_url) == on_list + 1
    assert sum(1 for row in _exported(db_url) if row["dnc"]) == on_list + 1

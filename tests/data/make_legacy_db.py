"""Write a database as the last release before schema revisions left it, with its reports.

    .venv/bin/python tests/data/make_legacy_db.py

Takes that release's code from git (`RELEASE`, whose schema is `meta.schema_version` 2
and has no alembic_version table), runs its demo on the first 120 sample accounts in a
scratch folder, and writes beside this script:
- legacy_v2.sql: the database as SQL text (sqlite3's dump), which the tests load;
- legacy_v2_reports.json: that release's `reactivate report --format json` of it, whole
  and by advisor, branch and week, for the tests to compare an upgraded database with.
Run it from a clone that holds `RELEASE`; it needs nothing but this repository's
environment. The demo's simulation is seeded; only record times differ between runs.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
RELEASE = "2f985e4"
ACCOUNTS = 120
SLUG = "2020h2-dormant"
BREAKDOWNS = (None, "advisor", "branch", "week")

DEMO = """
from pathlib import Path
from reactivate.db.engine import open_engine
from reactivate.demo.run import DemoInputs, run_demo

run_demo(open_engine("legacy.db"), Path("out"), DemoInputs(accounts=Path("accounts.csv")))
"""


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="legacy-db-") as folder:
        scratch = Path(folder)
        archive = subprocess.run(
            ["git", "archive", RELEASE], cwd=ROOT, check=True, capture_output=True
        ).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(scratch, filter="data")
        write_accounts(scratch / "accounts.csv")
        # relative paths throughout, so no scratch folder is named in what is recorded
        env = {**os.environ, "PYTHONPATH": str(scratch), "REACTIVATE_LANG": "en"}
        env.pop("REACTIVATE_DB", None)
        subprocess.run([sys.executable, "-c", DEMO], cwd=scratch, env=env, check=True)
        reports = {}
        for by in BREAKDOWNS:
            command = [sys.executable, "-m", "reactivate", "report", "-c", SLUG, "-f", "json"]
            command += ["--db", "legacy.db"] + (["--by", by] if by else [])
            done = subprocess.run(
                command, cwd=scratch, env=env, check=True, capture_output=True, text=True
            )
            reports[by or "campaign"] = json.loads(done.stdout)
        with sqlite3.connect(scratch / "legacy.db") as conn:
            dump = "\n".join(conn.iterdump()) + "\n"
    (HERE / "legacy_v2.sql").write_text(dump, encoding="utf-8")
    (HERE / "legacy_v2_reports.json").write_text(
        json.dumps(reports, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )


def write_accounts(path: Path) -> None:
    """The sample export's header and its first `ACCOUNTS` accounts, as CSV."""
    book = openpyxl.load_workbook(ROOT / "data" / "dormant_accounts.xlsx", read_only=True)
    rows = book.active.iter_rows(values_only=True)
    while (header := next(rows))[0] != "序号":
        pass
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for _, row in zip(range(ACCOUNTS), rows, strict=False):
            writer.writerow("" if cell is None else cell for cell in row)
    book.close()


if __name__ == "__main__":
    main()

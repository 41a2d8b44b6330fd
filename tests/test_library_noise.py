"""What the libraries we call say to themselves never reaches the user's terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from upload_campaign import FULL, SLUG, make_workbook, setup_db


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a process of its own: a library's warnings go to its real stderr."""
    env = {**os.environ, "REACTIVATE_LANG": "en", "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-m", "reactivate", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_an_upload_of_workbooks_with_blank_columns_prints_nothing_on_stderr(
    sqlite_url: str, tmp_path: Path
) -> None:
    """fastexcel logs "Could not determine dtype for column N" for each blank column of an
    issued workbook (most of them, before the advisor fills them in)."""
    db = setup_db(sqlite_url, tmp_path)
    filled = make_workbook(db, tmp_path / "a001.xlsx", "A001", FULL)
    untouched = make_workbook(db, tmp_path / "a002.xlsx", "A002", {})
    result = run_cli(
        "results", "upload", str(filled), str(untouched), "-c", SLUG, "--db", db, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "applied" in result.stdout
    assert result.stderr == ""

"""Uploads from real processes at the same moment, and a process killed mid-upload.

Each test runs on SQLite and PostgreSQL. A held upload (tests/held_upload.py) sleeps
inside the write transaction after every event is inserted, which makes two uploads
overlap for sure, and gives a moment to kill one.
"""

from __future__ import annotations

import datetime as dt
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from held_upload import HOLDING
from helpers import ROOT
from upload_campaign import FULL, SLUG, events, make_workbook, rows, setup_db, sh, stage_of

HELD_UPLOAD = Path(__file__).with_name("held_upload.py")


def _start(db: str, *paths: Path, hold: float | None = None) -> subprocess.Popen[str]:
    """`reactivate results upload` in a process of its own; with `hold`, one that sleeps
    that long before it commits."""
    command = ["-m", "reactivate"] if hold is None else [str(HELD_UPLOAD), str(hold)]
    return subprocess.Popen(
        [
            sys.executable,
            *command,
            "results",
            "upload",
            *map(str, paths),
            "-c",
            SLUG,
            "--format",
            "json",
            "--db",
            db,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out


def test_two_processes_uploading_the_same_facts_count_them_once(
    db_url: str, tmp_path: Path
) -> None:
    db = setup_db(db_url, tmp_path)
    book = make_workbook(db, tmp_path / "a001.xlsx", "A001", FULL)
    copy = tmp_path / "copy_of_a001.xlsx"
    shutil.copy(book, copy)  # the same file under another name: same SHA-256
    other = make_workbook(  # another file stating the same facts plus one more call
        db,
        tmp_path / "a001_v2.xlsx",
        "A001",
        {**FULL, "0010000007": {"通话时间": sh("2020-07-06 10:00"), "通话结果": "忙线"}},
    )
    processes = [_start(db, path, hold=1.0) for path in (book, copy, other)]
    for process in processes:
        _finish(process)
    found = events(db)
    facts = [(e.client_id, e.stage, e.value, str(e.occurred_at)) for e in found]
    assert len(facts) == len(set(facts)) == 8 + 1
    statuses = sorted(
        r.status for r in rows(db, "SELECT status FROM import_record WHERE kind = 'results'")
    )
    assert statuses == ["applied", "applied", "skipped"]
    assert stage_of(db, "0010000001").calls == 1
    assert stage_of(db, "0010000007").calls == 1


def test_a_process_killed_mid_upload_leaves_nothing(db_url: str, tmp_path: Path) -> None:
    db = setup_db(db_url, tmp_path)
    book = make_workbook(db, tmp_path / "a001.xlsx", "A001", FULL)
    before = stage_of(db, "0010000001")
    process = _start(db, book, hold=60)
    assert process.stderr is not None
    deadline = dt.datetime.now() + dt.timedelta(seconds=60)
    while HOLDING not in process.stderr.readline():  # events are written, not committed
        assert dt.datetime.now() < deadline and process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)  # reaps it and closes the pipes
    assert events(db) == []
    assert rows(db, "SELECT * FROM import_record WHERE kind = 'results'") == []
    assert stage_of(db, "0010000001") == before
    # and the lock is gone: the same upload now goes through
    out = _finish(_start(db, book))
    assert '"events": 8' in out
    assert len(events(db)) == 8

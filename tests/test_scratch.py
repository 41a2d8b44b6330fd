"""Scratch files of bulk work hold clients' data: private, and never left behind.

A load stages its rows in a SQLite scratch file; a killed load leaves it, so the next
bulk operation removes it.
"""

from __future__ import annotations

import os
import random
import re
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from helpers import CAMPAIGN_FILE
from typer.testing import CliRunner

from reactivate.cli import app
from reactivate.db import scratch
from reactivate.demo import synthetic

SLUG = "2020h2-dormant"
MOBILE = re.compile(rb"1[3-9][0-9]{9}")


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return " ".join((result.stdout if code == 0 else result.stderr).split())


@pytest.fixture
def temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary folder of the test's own, for this process and the ones it starts."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))
    return folder


def accounts(tmp_path: Path, rows: int) -> tuple[Path, Path, set[bytes]]:
    """A roster and an accounts CSV of `rows` made-up clients, and their mobiles."""
    advisors = synthetic.advisors(20, synthetic.branches(4))
    roster, path = tmp_path / f"roster-{rows}.xlsx", tmp_path / f"accounts-{rows}.csv"
    synthetic.write_roster_xlsx(roster, advisors)
    synthetic.write_accounts_csv(path, synthetic.accounts(rows, advisors))
    return roster, path, set(MOBILE.findall(path.read_bytes()))


def set_up(db: str, roster: Path) -> None:
    run("campaign", "add", str(CAMPAIGN_FILE), "--db", db)
    run("advisors", "load", str(roster), "--db", db)


def personal_data_in(folder: Path, mobiles: set[bytes]) -> list[str]:
    """Files under `folder` holding any of `mobiles`."""
    return [
        str(file)
        for file in folder.rglob("*")
        if file.is_file() and not mobiles.isdisjoint(MOBILE.findall(file.read_bytes()))
    ]


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def plant(pid: int, label: str, age: float = 0.0) -> Path:
    """A scratch folder as a run of process `pid` leaves it, `age` seconds old."""
    folder = scratch.root() / f"stage-{pid}-{label}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stage.db").write_bytes(b"13800138000")
    if age:
        moment = time.time() - age
        os.utime(folder, (moment, moment))
    return folder


def test_a_load_sweeps_what_runs_now_over_left(temp: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    roster, path, _ = accounts(tmp_path, 50)
    set_up(db, roster)
    scratch.root().mkdir(mode=0o700)
    killed = plant(dead_pid(), "killed")
    running = plant(os.getppid(), "running")  # a live process: its run may still be going
    forgotten = plant(os.getppid(), "forgotten", age=scratch.STALE_AFTER + 60)  # pid reused
    run("load", str(path), "-c", SLUG, "--db", db)
    assert not killed.exists() and not forgotten.exists()
    assert running.exists()
    assert stat.S_IMODE(scratch.root().stat().st_mode) == 0o700


def test_scratch_refuses_a_folder_that_is_not_the_user_s(temp: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    roster, path, _ = accounts(tmp_path, 50)
    set_up(db, roster)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    scratch.root().symlink_to(elsewhere)  # planted by someone else, in a shared /tmp
    err = run("load", str(path), "-c", SLUG, "--db", db, code=1)
    assert "is not a folder of your own" in err
    assert list(elsewhere.iterdir()) == []


def test_a_killed_load_leaves_no_personal_data_after_the_next_command(
    temp: Path, tmp_path: Path
) -> None:
    db = str(tmp_path / "t.db")
    roster, path, mobiles = accounts(tmp_path, 100_000)
    set_up(db, roster)
    command = [sys.executable, "-m", "reactivate", "load", str(path), "-c", SLUG, "--db", db]
    load = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # wait for the scratch file to be written, then kill at a random moment soon after
    deadline = time.monotonic() + 120
    while load.poll() is None and time.monotonic() < deadline:
        if scratch.root().is_dir() and any(scratch.root().glob("stage-*/stage.db")):
            break
        time.sleep(0.005)
    time.sleep(random.uniform(0, 0.3))
    load.send_signal(signal.SIGKILL)
    load.wait()
    _, small, _ = accounts(tmp_path, 20)
    subprocess.run(
        [sys.executable, "-m", "reactivate", "load", str(small), "-c", SLUG, "--db", db],
        check=True,
        capture_output=True,
    )
    assert personal_data_in(temp, mobiles) == []

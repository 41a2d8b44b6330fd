"""`load` and `results upload` killed, interrupted and run eight at once, on real processes.

Each test builds a campaign from generated files (a roster and tens of thousands of
accounts from `reactivate.demo.synthetic`; for the upload, every advisor's issued workbook
filled with the demo's seeded simulation), times one uninterrupted run, then many times
over: puts the database back as it was before the command, starts the command, and after
a seeded random delay across that run time sends it SIGKILL, SIGINT or SIGTERM. After
each: SQLite's `PRAGMA integrity_check`, a rerun to completion, and the figures (clients,
members, events, stage rows, the report's funnel) exactly those of the uninterrupted run.
An interrupted command says one line, whether its commit had begun or not, and exits
130 (SIGINT) or 143 (SIGTERM), with no traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import CAMPAIGN_FILE, ROOT
from sqlalchemy import text
from typer.testing import CliRunner

from reactivate import registry
from reactivate.assign import AssignOptions, assign
from reactivate.cli import app
from reactivate.db.engine import open_engine
from reactivate.db.models import MEMBERS
from reactivate.demo import synthetic
from reactivate.demo.run import simulate_workbooks
from reactivate.load import load_accounts
from reactivate.messages import t
from reactivate.roster import load_roster

pytestmark = pytest.mark.slow

SLUG = "2020h2-dormant"
SEED = 7
ADVISORS = 20  # 19 active: a workbook each, a few hundred clients in each
#: accounts in the generated file: PostgreSQL's runs cost more, so its file is smaller
ROWS = {"sqlite": 50_000, "postgresql": 15_000}
#: signals per command and database: 25 kills and 25 interrupts of each command in all
KILLS = {"sqlite": 13, "postgresql": 12}
INTERRUPTS = {"sqlite": 13, "postgresql": 12}
TERMS = 1
CONCURRENT = 8
LINES = {"Error: " + t("error.interrupted"), "Error: " + t("error.interrupted_saved")}


@dataclass
class Campaign:
    db: str
    backend: str
    accounts: Path
    workbooks: list[Path]
    restore: Callable[[], None]


def _backend(db: str) -> str:
    return "sqlite" if db.startswith("sqlite") else "postgresql"


def _sqlite_path(db: str) -> Path:
    return Path(db.removeprefix("sqlite:///"))


def _snapshot(db: str, folder: Path) -> Callable[[], None]:
    """A function that puts `db` back as it is now."""
    if _backend(db) == "sqlite":
        saved = folder / "pristine.db"
        with sqlite3.connect(_sqlite_path(db)) as source, sqlite3.connect(saved) as copy:
            source.backup(copy)

        def restore_sqlite() -> None:
            # through SQLite, which first recovers what a killed writer left in the WAL
            with sqlite3.connect(saved) as copy, sqlite3.connect(_sqlite_path(db)) as target:
                copy.backup(target)

        return restore_sqlite
    tables = [table.name for table in MEMBERS.metadata.sorted_tables]
    engine = open_engine(db)
    with engine.begin() as conn:
        for name in tables:
            conn.execute(text(f"CREATE TABLE saved_{name} AS SELECT * FROM {name}"))
    engine.dispose()

    def restore_postgresql() -> None:
        engine = open_engine(db)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(tables)}"))
            for name in tables:
                conn.execute(text(f"INSERT INTO {name} SELECT * FROM saved_{name}"))
        engine.dispose()

    return restore_postgresql


def _build(db: str, folder: Path, *, assigned: bool) -> Campaign:
    """The campaign before `load` (registered, roster loaded) or, `assigned`, before
    `results upload` (accounts loaded, assigned, workbooks filled)."""
    backend = _backend(db)
    advisors = synthetic.advisors(ADVISORS, synthetic.branches(2), seed=SEED)
    roster, accounts = folder / "roster.xlsx", folder / "accounts.csv"
    synthetic.write_roster_xlsx(roster, advisors)
    synthetic.write_accounts_csv(accounts, synthetic.accounts(ROWS[backend], advisors, seed=SEED))
    engine = open_engine(db)
    campaign, _ = registry.register(engine, CAMPAIGN_FILE)
    load_roster(engine, roster)
    workbooks: list[Path] = []
    if assigned:
        assert load_accounts(engine, SLUG, accounts).applied
        options = AssignOptions(
            holdout=0.1, assigned_at=dt.datetime(2020, 7, 1, 9), out_dir=folder / "out", seed=SEED
        )
        workbooks = assign(engine, SLUG, options).workbooks
        assert simulate_workbooks(engine, campaign, workbooks, seed=SEED) > 1000
    engine.dispose()
    return Campaign(db, backend, accounts, workbooks, _snapshot(db, folder))


def _args(campaign: Campaign, command: str, paths: Sequence[Path] = ()) -> list[str]:
    if command == "load":
        return ["load", str(campaign.accounts), "-c", SLUG, "--format", "json"]
    files = [str(path) for path in paths or campaign.workbooks]
    return ["results", "upload", *files, "-c", SLUG, "--format", "json"]


def _start(campaign: Campaign, args: Sequence[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reactivate", *args, "--db", campaign.db],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _rerun(campaign: Campaign, args: Sequence[str]) -> None:
    result = CliRunner().invoke(app, [*args, "--db", campaign.db])
    assert result.exit_code == 0, result.output


def _figures(campaign: Campaign) -> dict[str, Any]:
    db = campaign.db
    if campaign.backend == "sqlite":
        with sqlite3.connect(_sqlite_path(db)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    report = CliRunner().invoke(app, ["report", "-c", SLUG, "--format", "json", "--db", db])
    assert report.exit_code == 0, report.output
    funnel = json.loads(report.stdout)
    engine = open_engine(db)
    with engine.connect() as conn:
        counts = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("client", "member", "event", "client_stage")
        }
    engine.dispose()
    return {**counts, "funnel": {key: funnel[key] for key in ("assigned", "control", "stages")}}


def _interpreter_start() -> float:
    """Seconds for this Python to start and import the interrupt handlers, then exit: the
    slowest of three, as a loaded machine starts a process late (a signal 0.071 s after
    the start once found it still in runpy, at load 4.8, where a start takes 0.02-0.03 s
    on a quiet machine)."""
    starts = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "import reactivate.db.interrupts"], check=True, cwd=ROOT
        )
        starts.append(time.perf_counter() - started)
    return max(starts)


def _before_reactivate(signum: int, returncode: int, err: str) -> bool:
    """The signal came before reactivate's first line ran: the interpreter, with its own
    handling of signals, was still starting (running site and the installation's .pth
    files, an editable install's path finder among them). Then SIGTERM, and SIGINT before
    Python set its handler, kill by their default action with nothing said; a SIGINT
    during site raises Python's own KeyboardInterrupt there, far from reactivate's code."""
    if returncode == -signum and err == "":
        return True
    ours = str(ROOT / "reactivate")
    return signum == signal.SIGINT and err.endswith("KeyboardInterrupt\n") and ours not in err


def _signal_loop(
    campaign: Campaign, args: list[str], expected: dict[str, Any], signals: list[int]
) -> None:
    """Each of `signals` sent to a fresh run after a random delay; checks every outcome."""
    campaign.restore()
    started = time.perf_counter()
    first = _start(campaign, args)
    out, err = first.communicate(timeout=300)
    run_time = time.perf_counter() - started
    assert first.returncode == 0 and err == "", err
    assert _figures(campaign) == expected
    early = 3 * _interpreter_start()
    rng = random.Random(f"{SEED}:{campaign.backend}:{args[0]}")
    outcomes: dict[str, int] = {}
    for signum in signals:
        campaign.restore()
        delay = rng.uniform(0, run_time)
        process = _start(campaign, args)
        time.sleep(delay)
        process.send_signal(signum)
        out, err = process.communicate(timeout=300)
        code = process.returncode
        where = f"{signal.Signals(signum).name} after {delay:.3f} s: exit {code}, stderr {err!r}"
        if code == 0:  # it finished before the signal came
            assert err == "" and json.loads(out), where
            outcome = "finished"
        elif signum == signal.SIGKILL:
            assert code == -signal.SIGKILL, where
            outcome = "killed"
        elif _before_reactivate(signum, code, err):
            assert delay < early, where
            outcome = "before start"
        else:
            assert "Traceback" not in err, where
            assert err.endswith("\n") and err.removesuffix("\n") in LINES, where
            assert code == 128 + signum, where
            outcome = "interrupted"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        _rerun(campaign, args)
        assert _figures(campaign) == expected, where
    # the delays are spread over the whole run, so most signals land while it works
    assert outcomes.get("killed", 0) + outcomes.get("interrupted", 0) > len(signals) // 2, outcomes


def _signals(backend: str) -> list[int]:
    return (
        [signal.SIGKILL] * KILLS[backend]
        + [signal.SIGINT] * INTERRUPTS[backend]
        + [signal.SIGTERM] * TERMS
    )


def _uninterrupted(campaign: Campaign, args: list[str]) -> dict[str, Any]:
    campaign.restore()
    _rerun(campaign, args)
    return _figures(campaign)


def test_killed_or_interrupted_loads_leave_all_or_nothing(db_url: str, tmp_path: Path) -> None:
    campaign = _build(db_url, tmp_path, assigned=False)
    args = _args(campaign, "load")
    expected = _uninterrupted(campaign, args)
    assert expected["member"] > 10_000
    _signal_loop(campaign, args, expected, _signals(campaign.backend))


def test_killed_or_interrupted_uploads_leave_all_or_nothing(db_url: str, tmp_path: Path) -> None:
    campaign = _build(db_url, tmp_path, assigned=True)
    args = _args(campaign, "upload")
    expected = _uninterrupted(campaign, args)
    assert expected["event"] > expected["member"] // 10
    _signal_loop(campaign, args, expected, _signals(campaign.backend))


def test_eight_processes_uploading_at_once_count_as_one_after_another(
    db_url: str, tmp_path: Path
) -> None:
    campaign = _build(db_url, tmp_path, assigned=True)
    shares = [campaign.workbooks[i::CONCURRENT] for i in range(CONCURRENT)]
    campaign.restore()
    for share in shares:
        _rerun(campaign, _args(campaign, "upload", share))
    sequential = _figures(campaign)
    campaign.restore()
    processes = [_start(campaign, _args(campaign, "upload", share)) for share in shares]
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert "locked" not in out + err, err
        assert process.returncode == 0 and err == "", err
    assert _figures(campaign) == sequential


def test_a_rollback_that_fails_over_an_interrupt_is_told_as_the_interrupt(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """When the rollback an interrupt set off fails itself (a statement the interrupt left
    half-sent), the command says it was interrupted and nothing saved, and exits as the
    signal does: the rollback's error, raised while the interrupt was handled, is no
    traceback."""
    import reactivate.report as report_module
    from reactivate.db import interrupts
    from reactivate.db.interrupts import Interrupted

    def interrupted(*_: Any, **__: Any) -> None:
        try:
            raise Interrupted(signal.SIGINT)
        except Interrupted:
            raise RuntimeError("another command is already in progress") from None

    monkeypatch.setattr(report_module, "build_report", interrupted)
    monkeypatch.setattr(interrupts, "commits", lambda: 0)  # other tests' commits, this process
    db = str(tmp_path / "campaign.db")
    engine = open_engine(db)
    registry.register(engine, CAMPAIGN_FILE)
    engine.dispose()
    result = CliRunner().invoke(app, ["report", "-c", SLUG, "--db", db])
    assert result.exit_code == 128 + signal.SIGINT, result.output
    assert t("error.interrupted") in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)

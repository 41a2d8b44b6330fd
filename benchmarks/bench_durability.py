"""What durable commits cost on SQLite: `synchronous=NORMAL` against `FULL` in WAL mode.

With NORMAL a commit is in the write-ahead log but not yet synced to disk: a process
crash loses nothing, a power cut (or an OS crash) can lose the last commits. FULL syncs
the log at every commit, so a commit that returned survives both. The price is one
fsync per commit; this measures it where users feel it:

- commits: 200 one-row transactions through the engine (the per-commit cost alone);
- upload: `results upload` of one 5,000-row workbook (bench_results' sheet);
- load: `load` of a generated accounts CSV (100,000 rows by default).

    .venv/bin/python benchmarks/bench_durability.py                 # ~2 min
    .venv/bin/python benchmarks/bench_durability.py --repeat 5 --load-rows 1000000

Each run is a fresh process on a fresh copy of the set-up database under --work (the disk
the database lives on is what is measured: keep --work on the disk real databases use),
timed from the first statement to the engine's disposal, which checkpoints the log.
The mode is set by a connect hook after the engine's own pragmas. Prints medians of
wall and CPU time per mode and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CAMPAIGN = ROOT / "campaigns" / "2020h2-dormant.toml"
SLUG = "2020h2-dormant"
MODES = ("NORMAL", "FULL")
COMMITS = 200


def engine_in_mode(url: str, mode: str) -> Any:
    """The library's engine, with every connection then switched to `mode`."""
    from sqlalchemy import event

    from reactivate.db.engine import open_engine

    engine = open_engine(url)

    def synchronous(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA synchronous={mode}")

    event.listen(engine, "connect", synchronous)
    return engine


def child(what: str, mode: str, url: str, inputs: str) -> None:
    """One timed run in this fresh process; prints its figures as JSON."""
    import adbc_driver_sqlite.dbapi  # noqa: F401  (imports are not what is compared)
    import fastexcel  # noqa: F401
    import polars  # noqa: F401
    from reactivate.upload.core import UploadOptions, upload
    from sqlalchemy import text

    from reactivate.load import LoadOptions, load_accounts

    engine = engine_in_mode(url, mode)
    with engine.connect() as conn:
        found = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    assert found == {"NORMAL": 1, "FULL": 2}[mode], found
    wall, cpu = time.perf_counter(), time.process_time()
    if what == "commits":
        for n in range(COMMITS):
            with engine.begin() as conn:
                conn.execute(
                    text("INSERT INTO meta (key, value) VALUES (:k, 'x')"), {"k": f"bench-{n}"}
                )
    elif what == "upload":
        summary = upload(engine, SLUG, [Path(inputs)], UploadOptions())
        assert summary.totals()["applied"], summary.totals()
    else:
        loaded = load_accounts(engine, SLUG, Path(inputs), LoadOptions())
        assert loaded.applied, loaded.counts()
    engine.dispose()
    print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))


def set_up(work: Path, load_rows: int) -> dict[str, tuple[Path, str]]:
    """A pristine database and the input of each case: {case: (database, input)}."""
    import bench_results

    from reactivate import registry
    from reactivate.db.engine import open_engine
    from reactivate.db.meta import workbook_secret
    from reactivate.demo import synthetic
    from reactivate.roster import load_roster

    cases: dict[str, tuple[Path, str]] = {}
    folder = work / "upload"
    folder.mkdir(parents=True)
    url, per = bench_results.make_database(folder, 5_000, 1)
    engine = open_engine(url)
    with engine.begin() as conn:
        secret = workbook_secret(conn)
    engine.dispose()
    sheet = folder / "A0000.xlsx"
    bench_results.write_filled(sheet, "A0000", per[0], secret, random.Random(0))
    cases["commits"] = (folder / "bench.db", "")
    cases["upload"] = (folder / "bench.db", str(sheet))

    folder = work / "load"
    folder.mkdir()
    advisors = synthetic.advisors(200, synthetic.branches(40), seed=0)
    roster, accounts = folder / "roster.xlsx", folder / "accounts.csv"
    synthetic.write_roster_xlsx(roster, advisors)
    synthetic.write_accounts_csv(accounts, synthetic.accounts(load_rows, advisors, seed=0))
    engine = open_engine(str(folder / "bench.db"))
    registry.register(engine, CAMPAIGN)
    load_roster(engine, roster)
    engine.dispose()
    cases["load"] = (folder / "bench.db", str(accounts))
    return cases


def measure(what: str, mode: str, pristine: Path, inputs: str) -> dict[str, float]:
    run = pristine.with_name("run.db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{run}{suffix}").unlink(missing_ok=True)
    shutil.copy(pristine, run)
    done = subprocess.run(
        [sys.executable, __file__, "--child", what, mode, f"sqlite:///{run}", inputs],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per case and mode")
    parser.add_argument("--load-rows", type=int, default=100_000, help="accounts in the load")
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "work" / "durability")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    shutil.rmtree(args.work, ignore_errors=True)
    cases = set_up(args.work, args.load_rows)
    print(f"{'case':<26} {'mode':<7} {'wall s (median)':>16} {'CPU s':>8}  runs (wall s)")
    medians: dict[tuple[str, str], float] = {}
    for what, (pristine, inputs) in cases.items():
        runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
        for _ in range(args.repeat):
            for mode in MODES:  # interleaved, so both modes see the same machine load
                runs[mode].append(measure(what, mode, pristine, inputs))
        label = {
            "commits": f"{COMMITS} one-row commits",
            "upload": "upload, 5,000 rows",
            "load": f"load, {args.load_rows:,} rows (CSV)",
        }[what]
        for mode in MODES:
            walls = [r["wall"] for r in runs[mode]]
            medians[what, mode] = statistics.median(walls)
            cpu = statistics.median(r["cpu"] for r in runs[mode])
            listed = ", ".join(f"{w:.3f}" for w in walls)
            print(f"{label:<26} {mode:<7} {medians[what, mode]:>16.3f} {cpu:>8.3f}  {listed}")
    print()
    for what in cases:
        extra = medians[what, "FULL"] - medians[what, "NORMAL"]
        share = extra / medians[what, "NORMAL"]
        per = f" ({extra / COMMITS * 1000:.2f} ms a commit)" if what == "commits" else ""
        print(f"FULL costs {what}: {extra:+.3f} s, {share:+.1%}{per}")


if __name__ == "__main__":
    main()

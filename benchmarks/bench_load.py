"""Benchmark of `reactivate load` against a plain pandas script and against the floor.

Issue 2's targets on a 2-core machine, at 1,000,000 accounts: the xlsx load at least 5x
faster than a plain `pandas.read_excel(engine="openpyxl")` + `DataFrame.to_sql` script,
and within 1.5x of its floor (the fastest reader alone plus a bare sqlite3 `executemany`
of the same raw rows: python-calamine `iter_rows`, or fastexcel, which the load reads
with, into polars rows); the CSV load within 2x of its floor (the fastest of the csv
module, `pandas.read_csv` and `polars.read_csv`, plus the same executemany); peak memory
under 1.5 GB. The report compares each load with the fastest floor measured.

Each floor is measured twice, and both ratios are printed:
- no key: the raw rows into a plain table without any key (a heap append, the cheapest
  write SQLite has);
- keyed: the same rows into a table shaped like `client`, `client_id TEXT PRIMARY KEY`,
  with the page cache the load's bulk transaction uses (docs/performance.md).
  The load must store rows by client id, so this is the floor for that job; it is the
  larger of the two, so the no-key ratio is the stricter one.

    .venv/bin/python benchmarks/bench_load.py                      # 1,000,000 rows, minutes
    .venv/bin/python benchmarks/bench_load.py --rows 100000 --repeat 3 --skip-plain

The accounts are generated once from a seed (an xlsx with a title row, as core systems
export it, and a UTF-8 CSV with BOM) and cached under --work by row count. Each
measurement runs in a fresh subprocess, so its peak RSS (VmHWM) is its own; only the
measured work is timed (imports, database creation, registering the campaign and loading
the roster are not). Prints measured figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CAMPAIGN = ROOT / "campaigns" / "2020h2-dormant.toml"
SLUG = "2020h2-dormant"
SEED = 0
ADVISORS, BRANCHES = 200, 40
# The synthetic xlsx has a title row and a blank row above the header.
XLSX_HEADER_ROW = 2  # 0-based, as pandas counts
# Columns pandas must keep as text (ids keep leading zeros, mobiles stay digits).
TEXT_COLUMNS = (
    "客户号",
    "客户姓名",
    "手机号码",
    "所属营业部",
    "营业部代码",
    "风险承受能力",
    "原客户经理",
    "账户状态",
)
RAW_COLUMNS = 12

# Issue 2's targets.
PLAIN_SPEEDUP = 5.0
XLSX_FLOOR_RATIO = 1.5
CSV_FLOOR_RATIO = 2.0
PEAK_MB = 1.5 * 1024

# method -> what it measures (order of the table)
METHODS = {
    "load_xlsx": "reactivate load_accounts, xlsx -> SQLite",
    "load_csv": "reactivate load_accounts, CSV -> SQLite",
    "plain_xlsx": "pandas.read_excel(openpyxl) + DataFrame.to_sql",
    "floor_xlsx": "calamine iter_rows + executemany, no key",
    "floor_xlsx_keyed": "calamine iter_rows + executemany, client_id PRIMARY KEY",
    "floor_xlsx_fastexcel": "fastexcel -> polars rows + executemany, no key",
    "floor_xlsx_fastexcel_keyed": "fastexcel -> polars rows + executemany, client_id PRIMARY KEY",
    "floor_csv_module": "csv.reader + executemany, no key",
    "floor_csv_module_keyed": "csv.reader + executemany, client_id PRIMARY KEY",
    "floor_csv_pandas": "pandas.read_csv + executemany, no key",
    "floor_csv_polars": "polars.read_csv rows + executemany, no key",
}
# The keyed table: the raw columns, the id (second column, after the row number) as the key.
KEYED_COLUMNS = (
    "row_number, client_id TEXT PRIMARY KEY, name, mobile, branch, branch_code, assets,"
    " last_trade_date, risk, opened_at, previous_advisor, status"
)
# The page cache `reactivate.db.bulk.sqlite_bulk_cache` gives the load's transaction.
BULK_CACHE_PRAGMA = "PRAGMA cache_size=-262144"


# ----------------------------------------------------------------------- input files


def input_files(work: Path, rows: int) -> tuple[Path, Path, Path]:
    """(xlsx, csv, roster) for `rows` accounts, generated unless already cached."""
    from reactivate.demo import synthetic

    work.mkdir(parents=True, exist_ok=True)
    xlsx = work / f"accounts-{rows}.xlsx"
    csv_path = work / f"accounts-{rows}.csv"
    roster = work / "roster.xlsx"
    advisors = synthetic.advisors(ADVISORS, synthetic.branches(BRANCHES), seed=SEED)

    def accounts() -> Iterator[synthetic.SyntheticAccount]:
        return synthetic.accounts(rows, advisors, seed=SEED)

    writers: list[tuple[Path, Callable[[Path], object]]] = [
        (roster, lambda p: synthetic.write_roster_xlsx(p, advisors)),
        (xlsx, lambda p: synthetic.write_accounts_xlsx(p, accounts())),
        (csv_path, lambda p: synthetic.write_accounts_csv(p, accounts())),
    ]
    for path, write in writers:
        if path.exists():
            continue
        print(f"generating {path} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        partial = path.with_name("partial-" + path.name)  # a killed run leaves no half file
        write(partial)
        partial.replace(path)
        print(f"  {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return xlsx, csv_path, roster


# --------------------------------------------------------------------- measurements


@dataclass
class Stopwatch:
    """Wall and CPU time (this process, user + system) since `start()`.

    CPU time is reported beside wall time: on a shared machine the wall clock also counts
    other processes' turns, while the CPU time of a single-threaded load barely moves.
    """

    wall: float
    cpu: float

    @classmethod
    def start(cls) -> Stopwatch:
        return cls(time.perf_counter(), time.process_time())

    def stop(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


Measured = tuple[tuple[float, float], dict[str, int]]  # ((wall s, CPU s), counts)


def fresh_db(work: Path, method: str) -> Path:
    db = work / f"{method}.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return db


def run_load(path: Path, roster: Path, db: Path) -> Measured:
    from reactivate import registry
    from reactivate.db.engine import open_engine
    from reactivate.load import LoadOptions, load_accounts
    from reactivate.roster import load_roster

    engine = open_engine(str(db))
    registry.register(engine, CAMPAIGN)
    load_roster(engine, roster)
    started = Stopwatch.start()
    summary = load_accounts(engine, SLUG, path, LoadOptions())
    elapsed = started.stop()
    engine.dispose()
    if not summary.applied:
        raise SystemExit(f"load was not applied: {summary.counts()} {summary.errors[:3]}")
    return elapsed, summary.counts()


def run_plain(path: Path, db: Path) -> Measured:
    import pandas as pd

    started = Stopwatch.start()
    frame = pd.read_excel(
        path, engine="openpyxl", header=XLSX_HEADER_ROW, dtype=dict.fromkeys(TEXT_COLUMNS, str)
    )
    conn = sqlite3.connect(db)
    frame.to_sql("client", conn, if_exists="append", index=False)
    conn.commit()
    conn.close()
    return started.stop(), {"rows": len(frame)}


def bare_insert(db: Path, rows: object, *, keyed: bool = False) -> int:
    """The same rows with a bare executemany, one transaction: into a plain table, or
    (`keyed`) into one stored by client id with the load's page cache."""
    conn = sqlite3.connect(db)
    if keyed:
        conn.execute(BULK_CACHE_PRAGMA)
        conn.execute(f"CREATE TABLE raw ({KEYED_COLUMNS})")
    else:
        columns = ", ".join(f"c{i}" for i in range(RAW_COLUMNS))
        conn.execute(f"CREATE TABLE raw ({columns})")
    with conn:
        conn.executemany(f"INSERT INTO raw VALUES ({', '.join('?' * RAW_COLUMNS)})", rows)  # type: ignore[arg-type]
    count: int = conn.execute("SELECT count(*) FROM raw").fetchone()[0]
    conn.close()
    return count


def run_floor_xlsx(path: Path, db: Path, *, keyed: bool = False) -> Measured:
    import itertools

    from python_calamine import CalamineWorkbook

    started = Stopwatch.start()
    with CalamineWorkbook.from_path(str(path)) as workbook:
        sheet = workbook.get_sheet_by_name(workbook.sheet_names[0])
        rows = itertools.islice(sheet.iter_rows(), XLSX_HEADER_ROW + 1, None)
        count = bare_insert(db, map(tuple, rows), keyed=keyed)
    return started.stop(), {"rows": count}


def run_floor_xlsx_fastexcel(path: Path, db: Path, *, keyed: bool = False) -> Measured:
    import fastexcel
    import polars as pl

    started = Stopwatch.start()
    sheet = fastexcel.read_excel(str(path)).load_sheet(0, header_row=XLSX_HEADER_ROW)
    frame = sheet.to_polars()
    # date cells as ISO text, as the raw rows of the other floors hold them bound
    frame = frame.with_columns(pl.col(pl.Datetime).dt.to_string("%Y-%m-%d %H:%M:%S"))
    count = bare_insert(db, frame.iter_rows(), keyed=keyed)
    return started.stop(), {"rows": count}


def run_floor_csv_polars(path: Path, db: Path) -> Measured:
    import polars as pl

    started = Stopwatch.start()
    frame = pl.read_csv(path, infer_schema=False)
    count = bare_insert(db, frame.iter_rows())
    return started.stop(), {"rows": count}


def run_floor_csv_module(path: Path, db: Path, *, keyed: bool = False) -> Measured:
    import csv

    started = Stopwatch.start()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)  # the header
        count = bare_insert(db, map(tuple, reader), keyed=keyed)
    return started.stop(), {"rows": count}


def run_floor_csv_pandas(path: Path, db: Path) -> Measured:
    import pandas as pd

    started = Stopwatch.start()
    frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    count = bare_insert(db, frame.itertuples(index=False, name=None))
    return started.stop(), {"rows": count}


def peak_mb() -> float:
    """This process's peak resident set (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(method: str, work: Path, rows: int) -> None:
    """One measurement in this (fresh) process; prints a JSON line for the parent."""
    xlsx = work / f"accounts-{rows}.xlsx"
    csv_path = work / f"accounts-{rows}.csv"
    roster = work / "roster.xlsx"
    db = fresh_db(work, method)
    methods: dict[str, Callable[[], Measured]] = {
        "load_xlsx": lambda: run_load(xlsx, roster, db),
        "load_csv": lambda: run_load(csv_path, roster, db),
        "plain_xlsx": lambda: run_plain(xlsx, db),
        "floor_xlsx": lambda: run_floor_xlsx(xlsx, db),
        "floor_xlsx_keyed": lambda: run_floor_xlsx(xlsx, db, keyed=True),
        "floor_xlsx_fastexcel": lambda: run_floor_xlsx_fastexcel(xlsx, db),
        "floor_xlsx_fastexcel_keyed": lambda: run_floor_xlsx_fastexcel(xlsx, db, keyed=True),
        "floor_csv_polars": lambda: run_floor_csv_polars(csv_path, db),
        "floor_csv_module": lambda: run_floor_csv_module(csv_path, db),
        "floor_csv_module_keyed": lambda: run_floor_csv_module(csv_path, db, keyed=True),
        "floor_csv_pandas": lambda: run_floor_csv_pandas(csv_path, db),
    }
    if method not in methods:
        raise SystemExit(f"unknown method {method}")
    timing, counts = methods[method]()
    fresh_db(work, method)  # leave no large database behind
    wall, cpu = timing
    print(json.dumps({"seconds": wall, "cpu": cpu, "peak_mb": peak_mb(), "counts": counts}))


@dataclass
class Run:
    seconds: float
    cpu: float
    peak_mb: float
    counts: dict[str, int]


def measure(method: str, work: Path, rows: int) -> Run:
    done = subprocess.run(
        [sys.executable, __file__, "--child", method, "--work", str(work), "--rows", str(rows)],
        check=True,
        capture_output=True,
        text=True,
    )
    return Run(**json.loads(done.stdout.strip().splitlines()[-1]))


# ------------------------------------------------------------------------- reporting


def machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"nproc {cores}; Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; "
        f"python-calamine {version('python-calamine')}; fastexcel {version('fastexcel')}; "
        f"polars {version('polars')}; adbc-driver-sqlite {version('adbc-driver-sqlite')}; "
        f"pandas {version('pandas')}; "
        f"openpyxl {version('openpyxl')}; {platform.machine()} {platform.system()}"
    )


def target(label: str, figure: str, goal: str, ok: bool) -> str:
    return f"- {label}: {figure} (target {goal}): {'met' if ok else 'missed'}"


def report(rows: int, results: dict[str, list[Run]]) -> None:
    seconds = {m: statistics.median(r.seconds for r in runs) for m, runs in results.items()}
    cpus = {m: statistics.median(r.cpu for r in runs) for m, runs in results.items()}
    peaks = {m: max(r.peak_mb for r in runs) for m, runs in results.items()}
    runs = max(len(r) for r in results.values())
    print(f"\n{rows:,} accounts; median of {runs} run(s), each in a fresh process\n")
    print("| method | what | s | rows/s | CPU s | peak RSS MB |\n|---|---|---|---|---|---|")
    for method, what in METHODS.items():
        if method in seconds:
            s = seconds[method]
            print(
                f"| {method} | {what} | {s:.2f} | {rows / s:,.0f} | {cpus[method]:.2f} "
                f"| {peaks[method]:,.0f} |"
            )
    for method in ("load_xlsx", "load_csv"):
        if method in results:
            print(f"{method} counts: {results[method][0].counts}")

    print("\nTargets (issue 2):")
    if "plain_xlsx" in seconds and "load_xlsx" in seconds:
        speedup = seconds["plain_xlsx"] / seconds["load_xlsx"]
        goal = f">= {PLAIN_SPEEDUP:g}x"
        print(
            target(
                "xlsx load vs plain script",
                f"{speedup:.1f}x faster",
                goal,
                speedup >= PLAIN_SPEEDUP,
            )
        )
    else:
        print("- xlsx load vs plain script: not measured (--skip-plain)")
    # (load, label, goal, no-key floor methods, keyed floor methods): the floor is the
    # fastest reader's, so with several readers the smallest median counts.
    floors = [
        (
            "load_xlsx",
            "xlsx",
            XLSX_FLOOR_RATIO,
            ["floor_xlsx", "floor_xlsx_fastexcel"],
            ["floor_xlsx_keyed", "floor_xlsx_fastexcel_keyed"],
        ),
        (
            "load_csv",
            "CSV",
            CSV_FLOOR_RATIO,
            ["floor_csv_module", "floor_csv_pandas", "floor_csv_polars"],
            ["floor_csv_module_keyed"],
        ),
    ]
    for load, label, goal_ratio, plain_floors, keyed_floors in floors:
        for kind, methods in (("no key", plain_floors), ("keyed by client_id", keyed_floors)):
            measured = [m for m in methods if m in seconds]
            if load not in seconds or not measured:
                print(f"- {label} load / {label} floor, {kind}: not measured")
                continue
            fastest = min(measured, key=seconds.__getitem__)
            floor = seconds[fastest]
            ratio = seconds[load] / floor
            cpu_ratio = cpus[load] / cpus[fastest]
            print(
                target(
                    f"{label} load / {label} floor, {kind} ({fastest}, {floor:.2f} s)",
                    f"{ratio:.2f}x (CPU time {cpu_ratio:.2f}x)",
                    f"<= {goal_ratio:g}x",
                    ratio <= goal_ratio,
                )
            )
    load_peaks = [peaks[m] for m in ("load_xlsx", "load_csv") if m in peaks]
    if load_peaks:
        peak = max(load_peaks)
        goal = f"< {PEAK_MB:,.0f} MB" + ("" if rows == 1_000_000 else ", set for 1,000,000 rows")
        print(target("load peak memory", f"{peak:,.0f} MB", goal, peak < PEAK_MB))
    print(f"\nMachine: {machine()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--rows", type=int, default=1_000_000, help="accounts to generate (default 1,000,000)")
    add("--repeat", type=int, default=1, help="runs per method; the median is reported")
    add("--skip-plain", action="store_true", help="skip the slow pandas + openpyxl script")
    add("--methods", nargs="+", choices=list(METHODS), help="measure only these methods")
    add("--work", type=Path, default=ROOT / "benchmarks" / "work", help="cache and scratch dir")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = args.work.resolve()
    if args.child:
        child(args.child, work, args.rows)
        return

    input_files(work, args.rows)
    methods = [m for m in METHODS if not (args.skip_plain and m == "plain_xlsx")]
    if args.methods:
        methods = [m for m in methods if m in args.methods]
    results: dict[str, list[Run]] = {m: [] for m in methods}
    for run in range(args.repeat):
        for method in methods:
            result = measure(method, work, args.rows)
            results[method].append(result)
            progress = (
                f"run {run + 1} {method}: {result.seconds:.2f} s, CPU {result.cpu:.2f} s, "
                f"{result.peak_mb:,.0f} MB"
            )
            print(progress, file=sys.stderr, flush=True)
    report(args.rows, results)


if __name__ == "__main__":
    main()

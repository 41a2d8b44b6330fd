"""Benchmark `reactivate load` at a broker's size (issue 18), on PostgreSQL and SQLite.

Each method runs in a fresh subprocess and prints one line: wall and CPU time (the
process's user + system), on PostgreSQL the server's CPU time for the method's database
(its backends', their parallel workers' and autovacuum workers' user + system, sampled
from /proc: `ServerCpu`),
peak RSS (VmHWM) and the load average beside it, since the machine is shared. With
`--statements`, each method's slowest SQL statements follow its line. Asserts nothing.

| method | what it times |
| --- | --- |
| load_csv_pg / load_csv_sqlite | `load_accounts` of the one big CSV into a fresh database |
| reload_csv_pg / reload_csv_sqlite | the same file loaded again into that database (changes nothing) |
| load_xlsx_pg | `load_accounts` of the folder of ten workbooks, one load |
| floor_csv_pg | polars `read_csv` of the same file + COPY (CSV written by polars) of its |
|  | rows into a table keyed and indexed as `client` (id primary key, branch index) |
| floor_xlsx_pg | fastexcel of each workbook + the same COPY |
| floor_csv_sqlite | polars `read_csv` + sqlite3 `executemany` into the same keyed table |
| assign_pg | `reactivate assign` (with its workbooks) of the campaign `--pg` holds, loaded and |
|  | unassigned, on a copy made from it (`CREATE DATABASE ... TEMPLATE`, not timed): the |
|  | eligible members' read and the split, the workbooks' writing beside bare xlsxwriter |
|  | writing each one's cells right after it (`bench_workbooks.write_bare`, its time not |
|  | in the wall), peak RSS of the command before the floor's first file |

    .venv/bin/python benchmarks/scale_inputs.py --rows 1000000        # the inputs, once
    .venv/bin/python benchmarks/bench_scale.py --rows 1000000
    nohup .venv/bin/python benchmarks/bench_scale.py --rows 10000000 --statements > scale.log &
    .venv/bin/python benchmarks/bench_scale.py --rows 10000000 --methods load_csv_pg --pg bench_assign
    .venv/bin/python benchmarks/bench_scale.py --rows 10000000 --methods assign_pg --pg bench_assign

PostgreSQL: a database of its own (`--pg`, default `bench_scale` on the local server) is
dropped and created before each fresh load (not timed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import scale_inputs  # noqa: E402

CAMPAIGN = ROOT / "campaigns" / "2020h2-dormant.toml"
SLUG = "2020h2-dormant"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
METHODS = (
    "floor_csv_pg",
    "load_csv_pg",
    "reload_csv_pg",
    "floor_xlsx_pg",
    "load_xlsx_pg",
    "floor_csv_sqlite",
    "load_csv_sqlite",
    "reload_csv_sqlite",
    "assign_pg",
)
#: A table shaped like `client`: the floor writes the file's rows into it.
FLOOR_TABLE = """CREATE TABLE floor_client (
    row_number TEXT, client_id TEXT PRIMARY KEY, name TEXT, mobile TEXT, branch TEXT,
    branch_code TEXT, assets TEXT, last_trade_date TEXT, risk TEXT, opened_at TEXT,
    previous_advisor TEXT, status TEXT)"""
FLOOR_INDEX = "CREATE INDEX ix_floor_branch ON floor_client (branch)"


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class ServerCpu:
    """CPU time of the PostgreSQL server processes working for `database`: each backend's
    (and autovacuum worker's) process title names its database, so /proc is sampled for
    them while a method runs, keeping each one's highest user + system time (a backend's
    last half second before it exits is missed). A parallel worker's title names only its
    leader's process id ("parallel worker for PID N"), not the database: such workers of
    the backends found are counted too (`workers()` their share), and polled every 50 ms
    while they live, since most live a few seconds (a parallel index build's)."""

    def __init__(self, database: str) -> None:
        import threading

        self.marker = f" {database} ".encode()
        self.seen: dict[int, float] = {}
        self.tick = os.sysconf("SC_CLK_TCK")
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> ServerCpu:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()

    def seconds(self) -> float:
        return sum(self.seen.values())

    def workers(self) -> float:
        """The parallel workers' share of `seconds()`."""
        return sum(used for pid, used in self.seen.items() if pid in self.parallel)

    def _used(self, pid: int) -> float | None:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / self.tick

    @staticmethod
    def _still_worker(pid: int) -> bool:
        try:
            return b"parallel worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False

    def _sample(self) -> None:
        self.parallel: set[int] = set()
        leader = re.compile(rb"parallel worker for PID (\d+)")
        while True:
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    title = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if not title.startswith(b"postgres: "):
                    continue
                pid = int(entry.name)
                if self.marker not in title + b" ":
                    worker = leader.search(title)
                    if worker is None or int(worker.group(1)) not in self.seen:
                        continue
                    self.parallel.add(pid)
                used = self._used(pid)
                if used is not None:
                    self.seen[pid] = max(self.seen.get(pid, 0.0), used)
            # the live parallel workers polled often until the next scan of /proc
            for _ in range(10):
                alive = [pid for pid in self.parallel if self._still_worker(pid)]
                if not alive:
                    break
                for pid in alive:
                    used = self._used(pid)
                    if used is not None:
                        self.seen[pid] = max(self.seen[pid], used)
                if self.done.wait(0.05):
                    return
            if self.done.wait(0.5 if not alive else 0.0):
                return


class StatementTimes:
    """Wall time per SQL statement run through SQLAlchemy (COPY, run on the driver's
    cursor, is not among them), for `--statements`."""

    def __init__(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        self.times: list[tuple[float, str]] = []
        self.started: list[float] = []
        event.listen(Engine, "before_cursor_execute", self._before)
        event.listen(Engine, "after_cursor_execute", self._after)

    def _before(self, *args: object) -> None:
        self.started.append(time.perf_counter())

    def _after(self, conn: object, cursor: object, statement: str, *args: object) -> None:
        self.times.append((time.perf_counter() - self.started.pop(), " ".join(statement.split())))

    def slowest(self, count: int = 12) -> list[tuple[float, str]]:
        return sorted(self.times, reverse=True)[:count]


def fresh_pg(database: str) -> str:
    from sqlalchemy import create_engine

    admin = create_engine(f"postgresql+psycopg://{PG_SERVER.split('://')[1]}/postgres")
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        conn.exec_driver_sql(f"CREATE DATABASE {database}")
    admin.dispose()
    return f"{PG_SERVER}/{database}"


def fresh_sqlite(work: Path, rows: int) -> str:
    db = work / f"scale-{rows}.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return f"sqlite:///{db}"


def set_up(url: str, work: Path) -> None:
    from reactivate import registry
    from reactivate.db.engine import open_engine
    from reactivate.roster import load_roster

    engine = open_engine(url)
    registry.register(engine, CAMPAIGN)
    load_roster(engine, scale_inputs.roster_path(work))
    engine.dispose()


def run_load(url: str, inputs: list[Path], timed: StatementTimes | None) -> dict[str, object]:
    from reactivate.db.engine import open_engine
    from reactivate.load import LoadOptions, load_accounts

    engine = open_engine(url)
    if timed is not None:
        timed.times.clear()  # the set-up's statements are not the load's
    started, cpu = time.perf_counter(), time.process_time()
    summary = load_accounts(engine, SLUG, inputs, LoadOptions(confirm_new=True))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    engine.dispose()
    if not summary.applied:
        raise SystemExit(f"load not applied: {summary.counts()} {summary.errors[:3]}")
    return {"wall": wall, "cpu": cpu, "counts": summary.counts()}


def _copy_floor(url: str, frames: object) -> int:
    """COPY each frame's rows (as CSV written by polars) into the floor's keyed table."""
    import io

    import psycopg

    count = 0
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(FLOOR_TABLE)
        cursor.execute(FLOOR_INDEX)
        with cursor.copy("COPY floor_client FROM STDIN (FORMAT csv)") as copy:
            for frame in frames:  # type: ignore[attr-defined]
                for start in range(0, frame.height, 100_000):
                    text = io.BytesIO()
                    frame.slice(start, 100_000).write_csv(text, include_header=False)
                    copy.write(text.getbuffer())
                count += frame.height
    return count


def floor_csv_pg(url: str, path: Path) -> dict[str, object]:
    import polars as pl

    started, cpu = time.perf_counter(), time.process_time()
    frame = pl.read_csv(path, infer_schema=False)
    count = _copy_floor(url, [frame])
    return {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu, "rows": count}


def floor_xlsx_pg(url: str, folder: Path) -> dict[str, object]:
    import fastexcel
    import polars as pl

    def frames() -> object:
        for path in sorted(folder.glob("part-*.xlsx")):
            sheet = fastexcel.read_excel(str(path)).load_sheet(0, header_row=2)
            frame = sheet.to_polars()
            yield frame.with_columns(pl.all().cast(pl.String))

    started, cpu = time.perf_counter(), time.process_time()
    count = _copy_floor(url, frames())
    return {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu, "rows": count}


def floor_csv_sqlite(url: str, path: Path) -> dict[str, object]:
    import polars as pl

    started, cpu = time.perf_counter(), time.process_time()
    frame = pl.read_csv(path, infer_schema=False)
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    conn.execute("PRAGMA cache_size=-262144")  # the load's bulk page cache
    conn.execute(FLOOR_TABLE)
    conn.execute(FLOOR_INDEX)
    with conn:
        for start in range(0, frame.height, 1_000_000):
            part = frame.slice(start, 1_000_000)
            columns = [part[c].to_list() for c in part.columns]
            conn.executemany(
                f"INSERT INTO floor_client VALUES ({', '.join('?' * len(columns))})",
                zip(*columns, strict=True),
            )
    conn.close()
    return {
        "wall": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "rows": frame.height,
    }


def copy_pg(template: str) -> str:
    """A fresh copy of the loaded database `template` for one assign run; its name."""
    from sqlalchemy import create_engine

    copy = f"{template}_assign"
    admin = create_engine(f"postgresql+psycopg://{PG_SERVER.split('://')[1]}/postgres")
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {copy} WITH (FORCE)")
        conn.exec_driver_sql(f"CREATE DATABASE {copy} TEMPLATE {template}")
    admin.dispose()
    return copy


def run_assign(url: str, out: Path) -> dict[str, object]:
    """`assign` with its workbooks, timed by part; bare xlsxwriter writes each workbook's
    cells right after it (not counted in the wall)."""
    import datetime as dt
    import shutil

    from bench_workbooks import write_bare

    import reactivate.assign as assignment
    from reactivate.db.engine import open_engine

    seconds = dict.fromkeys(
        ("read", "split", "issue", "write", "bare", "bare_in_memory", "bare_cpu"), 0.0
    )
    peak_before_bare = [0.0]

    def timing(name: str, function: object) -> object:
        def timed(*args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            result = function(*args, **kwargs)  # type: ignore[operator]
            seconds[name] += time.perf_counter() - started
            return result

        return timed

    real_write = assignment.write_advisor_workbook
    bare_dir = out.with_name(out.name + "-bare")

    def write_both(path: Path, spec: object, secret: bytes, **options: bool) -> None:
        started = time.perf_counter()
        real_write(path, spec, secret, **options)  # type: ignore[arg-type]
        seconds["write"] += time.perf_counter() - started
        peak_before_bare[0] = max(peak_before_bare[0], peak_mb())
        for key, in_memory in (("bare", False), ("bare_in_memory", True)):
            started, cpu = time.perf_counter(), time.process_time()
            write_bare(bare_dir / path.name, spec, in_memory=in_memory)  # type: ignore[arg-type]
            seconds[key] += time.perf_counter() - started
            seconds["bare_cpu"] += time.process_time() - cpu
            (bare_dir / path.name).unlink()

    assignment.write_advisor_workbook = write_both  # type: ignore[assignment]
    assignment._read_eligible = timing("read", assignment._read_eligible)  # type: ignore[assignment]
    assignment.split_columns = timing("split", assignment.split_columns)  # type: ignore[assignment]
    assignment._issue_staged = timing("issue", assignment._issue_staged)  # type: ignore[assignment]
    shutil.rmtree(out, ignore_errors=True)
    bare_dir.mkdir(parents=True, exist_ok=True)
    engine = open_engine(url)
    options = assignment.AssignOptions(  # at the campaign's start: assign refuses other days
        out_dir=out, assigned_at=dt.datetime(2020, 7, 1, 9)
    )
    started, cpu = time.perf_counter(), time.process_time()
    summary = assignment.assign(engine, SLUG, options)
    floors = seconds["bare"] + seconds["bare_in_memory"]
    seconds["issue"] -= floors
    wall = time.perf_counter() - started - floors
    cpu = time.process_time() - cpu - seconds["bare_cpu"]
    engine.dispose()
    result: dict[str, object] = {
        "wall": wall,
        "cpu": cpu,
        **seconds,
        "peak_before_bare": max(peak_before_bare[0], peak_mb()),
        "counts": {
            "eligible": summary.assigned + summary.unassigned + summary.control,
            "assigned": summary.assigned,
            "kept": summary.kept,
            "unassigned": summary.unassigned,
            "workbooks": len(summary.workbooks),
            "rows": sum(b.new for b in summary.advisors),
        },
    }
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(bare_dir, ignore_errors=True)
    return result


def child(method: str, work: Path, rows: int, pg: str, statements: bool) -> None:
    timed = StatementTimes() if statements else None
    server = ServerCpu(pg) if method.endswith("_pg") else None
    with server or contextlib.nullcontext():
        result = _run(method, work, rows, pg, timed)
    if server is not None:
        result["server_cpu"] = server.seconds()
        result["server_cpu_parallel_workers"] = server.workers()
    if timed is not None:
        result["statements"] = timed.slowest()
    result["peak_mb"] = peak_mb()
    result["load_average"] = os.getloadavg()
    print(json.dumps(result))


def _run(
    method: str, work: Path, rows: int, pg: str, timed: StatementTimes | None
) -> dict[str, object]:
    csv_path = scale_inputs.csv_path(work, rows)
    folder = scale_inputs.xlsx_folder(work, rows)
    if method == "assign_pg":
        # not under --work: the inputs' folder may be a shared, read-only cache
        return run_assign(f"{PG_SERVER}/{pg}", ROOT / "benchmarks" / "work" / f"assign-out-{rows}")
    if method.startswith("floor"):
        url = fresh_pg(pg) if method.endswith("_pg") else fresh_sqlite(work, rows)
        if method == "floor_csv_pg":
            result = floor_csv_pg(url.replace("postgresql://", "postgresql://", 1), csv_path)
        elif method == "floor_xlsx_pg":
            result = floor_xlsx_pg(url, folder)
        else:
            result = floor_csv_sqlite(url, csv_path)
    else:
        if method.endswith("_pg"):
            url = f"{PG_SERVER}/{pg}" if method.startswith("reload") else fresh_pg(pg)
        else:
            db = work / f"scale-{rows}.db"
            url = f"sqlite:///{db}" if method.startswith("reload") else fresh_sqlite(work, rows)
        if method.startswith("load"):
            set_up(url, work)
        inputs = [folder] if "xlsx" in method else [csv_path]
        result = run_load(url, inputs, timed)
    return result


def print_assign(result: dict[str, object]) -> None:
    """The parts of an assign run and its verdicts."""
    part = {k: float(v) for k, v in result.items() if isinstance(v, int | float)}
    print(f"    read the eligible members into columns {part['read']:8.2f} s")
    print(f"    split (pure, on the columns)           {part['split']:8.2f} s")
    print(f"    issuing the workbooks                  {part['issue']:8.2f} s")
    print(f"      of which writing them                {part['write']:8.2f} s")
    print(f"    bare xlsxwriter, same cells            {part['bare']:8.2f} s  (constant_memory)")
    print(f"    bare xlsxwriter in memory, same cells  {part['bare_in_memory']:8.2f} s")
    print(f"    peak RSS before the floor's files      {part['peak_before_bare']:8,.0f} MB")
    split = part["read"] + part["split"]
    verdict = "met" if split < 60 else "missed"
    print(f"split (read + split) under 60 s: {split:.1f} s, {verdict}")
    for label, key in (("writing", "write"), ("issuing", "issue")):
        for floor in ("bare", "bare_in_memory"):
            ratio = part[key] / part[floor]
            verdict = "met" if ratio <= 1.3 else "missed"
            print(f"workbooks {label} vs {floor}: {ratio:.2f}x (target 1.3x: {verdict})")
    peak = part["peak_before_bare"]
    print(f"peak RSS at most 2 GB: {peak:,.0f} MB, {'met' if peak <= 2048 else 'missed'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=scale_inputs.WORK)
    parser.add_argument("--pg", default="bench_scale", help="PostgreSQL database to use")
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=METHODS)
    parser.add_argument(
        "--statements", action="store_true", help="print each method's slowest SQL statements"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.work, args.rows, args.pg, args.statements)
        return
    scale_inputs.ensure(
        args.work,
        args.rows,
        xlsx=any("xlsx" in m for m in args.methods),
        csv=any("csv" in m for m in args.methods),
    )
    print(f"rows {args.rows:,}; nproc {os.cpu_count()}; Python {platform.python_version()}")
    results: dict[str, dict[str, object]] = {}
    for method in args.methods:
        database = copy_pg(args.pg) if method == "assign_pg" else args.pg
        done = subprocess.run(
            [sys.executable, __file__, "--child", method, "--work", str(args.work)]
            + ["--rows", str(args.rows), "--pg", database]
            + (["--statements"] if args.statements else []),
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            print(f"{method}: failed\n{done.stderr[-3000:]}", flush=True)
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        results[method] = result
        load = ", ".join(f"{x:.1f}" for x in result["load_average"])
        server = ""
        if "server_cpu" in result:
            server = f"  server CPU {result['server_cpu']:8.2f} s"
            server += f" ({result.get('server_cpu_parallel_workers', 0.0):.2f} s parallel workers)"
        print(
            f"{method:18} wall {result['wall']:8.2f} s  CPU {result['cpu']:8.2f} s{server}  "
            f"peak {result['peak_mb']:7,.0f} MB  load average {load}  "
            f"{result.get('counts', result.get('rows'))}",
            flush=True,
        )
        for seconds, statement in result.get("statements", []):
            print(f"    {seconds:8.2f} s  {statement[:150]}", flush=True)
        if method == "assign_pg":
            print_assign(result)
    for load, floor, target in (
        ("load_csv_pg", "floor_csv_pg", 1.5),
        ("load_xlsx_pg", "floor_xlsx_pg", 1.5),
        ("load_csv_sqlite", "floor_csv_sqlite", 2.0),
        ("reload_csv_pg", "load_csv_pg", 1.5),
        ("reload_csv_sqlite", "load_csv_sqlite", 1.5),
    ):
        if load in results and floor in results:
            ratio = float(results[load]["wall"]) / float(results[floor]["wall"])  # type: ignore[arg-type]
            verdict = "met" if ratio <= target else "missed"
            # the CPU beside the wall (on PostgreSQL the server's too): the machine is shared
            cpu = [
                float(results[m]["cpu"]) + float(results[m].get("server_cpu", 0.0))  # type: ignore[arg-type]
                for m in (load, floor)
            ]
            print(
                f"{load} / {floor}: {ratio:.2f}x wall (target {target}x: {verdict}),"
                f" {cpu[0] / cpu[1]:.2f}x CPU ({cpu[0]:.1f} s vs {cpu[1]:.1f} s)"
            )


if __name__ == "__main__":
    main()

"""Where one PostgreSQL load of `bench_scale.py`'s CSV spends its wall time, in order.

Loads the cached CSV of `--rows` accounts into a fresh database (`--pg`, dropped and
created first) and prints, for each SQL statement and each COPY (which runs on the
driver's cursor, so `bench_scale.py --statements` misses it) that took over 50 ms: when
it began and ended (seconds from the load's start), the CPU its backend spent on it
(/proc, the backend alone: an index build's parallel workers are not in it) and the
process's own CPU meanwhile; then the process's CPU second by second. What comes before
the first COPY is the reading and cleaning, the server idle; between the COPYs, the
selection of each batch. Asserts nothing.

    .venv/bin/python benchmarks/load_timeline.py --rows 2000000 --pg NAME_timeline
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from pathlib import Path
from typing import Any

import bench_scale
import scale_inputs
from bench_results_pg import _process_cpu


def backend_cpu(pid: int | None) -> float:
    """Seconds of CPU (user + system) backend `pid` has spent."""
    return 0.0 if pid is None else _process_cpu(pid)


def backend_of(conn: Any) -> int | None:
    driver = conn.connection.driver_connection
    return driver.info.backend_pid if driver is not None else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--work", type=Path, default=scale_inputs.WORK)
    parser.add_argument("--pg", default="bench_timeline", help="PostgreSQL database to use")
    args = parser.parse_args()
    scale_inputs.ensure(args.work, args.rows, xlsx=False, csv=True)
    url = bench_scale.fresh_pg(args.pg)
    bench_scale.set_up(url, args.work)

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from reactivate.db import bulk
    from reactivate.db.engine import open_engine
    from reactivate.load import LoadOptions, load_accounts

    started = time.perf_counter()
    steps: list[tuple[float, float, float, float, str]] = []

    def begin(conn: Any) -> tuple[float, float, float]:
        return time.perf_counter(), backend_cpu(backend_of(conn)), time.process_time()

    def end(conn: Any, began: tuple[float, float, float], what: str) -> None:
        at, server, own = began
        steps.append(
            (
                at - started,
                time.perf_counter() - started,
                backend_cpu(backend_of(conn)) - server,
                time.process_time() - own,
                " ".join(what.split())[:110],
            )
        )

    def timed(conn: Any, what: str, run: Any) -> Any:
        began = begin(conn)
        try:
            return run()
        finally:
            end(conn, began, what)

    def before(conn: Any, *args: Any) -> None:
        conn.info["began"] = begin(conn)

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        end(conn, conn.info.pop("began"), statement)

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    copy_frame = bulk.copy_frame

    def copied(conn: Any, name: str, frame: Any, types: Any = None) -> int:
        return timed(
            conn,
            f"COPY {name} ({frame.height:,} rows)",
            lambda: copy_frame(conn, name, frame, types),
        )

    bulk.copy_frame = copied  # type: ignore[assignment]
    engine = open_engine(url)
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(1.0):
            samples.append((time.perf_counter() - started, time.process_time() - cpu))

    started, cpu = time.perf_counter(), time.process_time()
    threading.Thread(target=sample, daemon=True).start()
    path = scale_inputs.csv_path(args.work, args.rows)
    summary = load_accounts(engine, bench_scale.SLUG, [path], LoadOptions(confirm_new=True))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    done.set()
    engine.dispose()
    load = os.getloadavg()[0]
    print(f"rows {args.rows:,}: wall {wall:.2f} s, CPU {cpu:.2f} s, load average {load:.1f}")
    if not summary.applied:
        raise SystemExit(f"load not applied: {summary.counts()}")
    print("  began   ended  wall s  backend CPU s  process CPU s")
    for began, ended, server, own, what in steps:
        if ended - began > 0.05 or server > 0.05:
            print(
                f"{began:7.2f} {ended:7.2f} {ended - began:7.2f} {server:14.2f} {own:14.2f}  {what}"
            )
    print(
        "process CPU so far, by second:", " ".join(f"{at:.0f}:{used:.1f}" for at, used in samples)
    )


if __name__ == "__main__":
    main()

"""Issue 17's second yardstick: `report --by advisor` from our database against a pandas
script that reads the 500 advisors' result sheets themselves and pivots them per advisor.

    .venv/bin/python benchmarks/bench_sheets.py                      # ~1 min once the inputs exist
    .venv/bin/python benchmarks/bench_sheets.py --rows 100000 --workbooks 50   # quicker

The sheets are the ones `bench_results.py` uploads for the same campaign size: 1,000,000
clients dealt over 500 advisors, each advisor's workbook stamped and filled as an advisor
fills it (seeded; written once and kept under --data, where `bench_results.py` finds and
reuses them, and this script theirs). Our side is `bench_report.py`'s cached database (1M
assigned clients, 500 advisors, 3M events; built here if it is missing) and its
measurement: `build_report(..., by='advisor')` in a fresh process, imports not timed.

What the pandas script computes, honestly: it reads each workbook's call sheet with
pandas' fastest reader (`read_excel(engine='calamine')`), tags the rows with the advisor
(the file's name), and per advisor counts the rows, those called, reached (a connected,
refused, call-back or do-not-call result), WeCom added, pushed and converted, the rows of
each call result (a crosstab), and the median whole days from assignment (one date the
script knows) to the call. That is the sheets' final state: no history of several uploads,
no voided or corrected rows, no confirmed WeCom adds, no control group, no intervals or
ranking, and medians of the call only, where `report --by advisor` has all of them from
the events. Its figures are not compared with ours (the two inputs are generated apart);
the comparison is of time. It runs in a fresh process with pandas imported before its
clock starts. Prints seconds, CPU, the load average, the ratio and whether the issue's
5x is met; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HERE = Path(__file__).resolve().parent
#: Issue 17: a breakdown from our database at least 5x faster than pandas over the sheets.
SPEEDUP = 5.0
#: The results `reached` counts (bench_results fills these labels).
REACHED = ("接通", "拒绝", "预约回电", "勿扰")


def sheets(data: Path, rows: int, workbooks: int, seed: int) -> Path:
    """The filled workbooks, as `bench_results.py`'s `case('many', ...)` writes them: the
    same ids dealt the same way, the same seeded fill, the same folder and marker."""
    from bench_results import BENCH_SECRET, write_filled

    folder = data / f"many-{rows}-{workbooks}-{seed}"
    marker = folder / "secret.hex"
    if marker.exists() and marker.read_text() == BENCH_SECRET.hex():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    per: list[list[str]] = [[] for _ in range(workbooks)]
    for n in range(rows):
        per[n % workbooks].append(f"{n:010d}")
    rng = random.Random(seed)
    began = time.perf_counter()
    for index, ids in enumerate(per):
        code = f"A{index:04d}"
        write_filled(folder / f"{code}.xlsx", code, ids, BENCH_SECRET, rng)
    marker.write_text(BENCH_SECRET.hex())
    print(f"wrote {workbooks} workbooks ({rows:,} rows) in {time.perf_counter() - began:.0f} s")
    return folder


def pandas_pivot(folder: Path) -> object:
    """The analyst's script: every sheet read, the rows tagged by advisor, pivoted."""
    import pandas as pd
    from bench_results import ASSIGNED

    from reactivate.sheets import workbook as wb

    frames = []
    for path in sorted(folder.glob("A*.xlsx")):
        sheet = pd.read_excel(
            path,
            sheet_name=wb.CALL_SHEET,
            engine="calamine",
            usecols=["客户号", "通话时间", "通话结果", "是否添加企业微信", "推送产品", "是否转化"],
            dtype={"客户号": str},
        )
        sheet["advisor"] = path.stem
        frames.append(sheet)
    rows = pd.concat(frames, ignore_index=True)
    called_at = pd.to_datetime(rows["通话时间"])
    flags = pd.DataFrame(
        {
            "advisor": rows["advisor"],
            "clients": 1,
            "called": called_at.notna(),
            "reached": rows["通话结果"].isin(REACHED),
            "wecom": rows["是否添加企业微信"].eq("是"),
            "pushed": rows["推送产品"].notna(),
            "converted": rows["是否转化"].eq("是"),
            "days_to_call": (called_at - pd.Timestamp(ASSIGNED.replace(tzinfo=None))).dt.days,
        }
    )
    per_advisor = flags.groupby("advisor").agg(
        clients=("clients", "sum"),
        called=("called", "sum"),
        reached=("reached", "sum"),
        wecom=("wecom", "sum"),
        pushed=("pushed", "sum"),
        converted=("converted", "sum"),
        median_days_to_call=("days_to_call", "median"),
    )
    results = pd.crosstab(rows["advisor"], rows["通话结果"])
    return per_advisor.join(results)


def _child(folder: Path) -> None:
    import pandas  # noqa: F401  (imported before the clock, as bench_report's script is)

    wall, cpu = time.perf_counter(), time.process_time()
    found = pandas_pivot(folder)
    print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))
    print(f"{len(found)} advisors, {int(found['clients'].sum()):,} rows", file=sys.stderr)


def measure_pandas(folder: Path, runs: int) -> tuple[float, float, float]:
    walls, cpus, loads = [], [], []
    for _ in range(runs):
        loads.append(os.getloadavg()[0])
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(folder)],
            check=True,
            capture_output=True,
            text=True,
        )
        loads.append(os.getloadavg()[0])
        timing = json.loads(done.stdout.strip().splitlines()[-1])
        walls.append(timing["wall"])
        cpus.append(timing["cpu"])
        print(f"  pandas: {timing['wall']:.2f} s ({done.stderr.strip()})", flush=True)
    return statistics.median(walls), statistics.median(cpus), statistics.mean(loads)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows over all sheets")
    parser.add_argument("--workbooks", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=HERE / "work" / "results")
    parser.add_argument("--clients", type=int, default=1_000_000, help="bench_report's database")
    parser.add_argument("--events", type=int, default=3_000_000, help="bench_report's database")
    parser.add_argument("--runs", type=int, default=3, help="fresh processes of our report")
    parser.add_argument("--pandas-runs", type=int, default=3, help="fresh processes of pandas")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        _child(args.child)
        return

    import bench_report

    folder = sheets(args.data, args.rows, args.workbooks, args.seed)
    db = bench_report.WORK / f"report_{args.clients}_{args.events}.db"
    if not db.exists():
        bench_report.WORK.mkdir(exist_ok=True)
        bench_report.build(db, args.clients, args.events)
        bench_report.measure("refresh", db, {}, 1)
    print(f"machine: {os.cpu_count()} CPUs; load average now {os.getloadavg()[0]:.1f}")
    theirs, theirs_cpu, theirs_load = measure_pandas(folder, args.pandas_runs)
    ours, ours_cpu, ours_load = bench_report.measure("report", db, {"by": "advisor"}, args.runs)
    ratio = theirs / ours
    print(f"medians of {args.runs} (reactivate) and {args.pandas_runs} (pandas) fresh processes")
    print(
        f"pandas over {args.workbooks} sheets ({args.rows:,} rows), pivoted per advisor:"
        f" {theirs:.2f} s, CPU {theirs_cpu:.2f} s, load {theirs_load:.1f}"
    )
    print(
        f"report --by advisor from our database ({args.clients:,} clients, {args.events:,}"
        f" events): {ours:.3f} s, CPU {ours_cpu:.2f} s, load {ours_load:.1f}"
    )
    verdict = "met   " if ratio >= SPEEDUP else "MISSED"
    print(
        f"  {verdict} report --by advisor >= {SPEEDUP:.0f}x pandas over the sheets: {ratio:.1f}x"
        f" (CPU {theirs_cpu / ours_cpu:.1f}x)"
    )


if __name__ == "__main__":
    main()

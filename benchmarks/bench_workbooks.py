"""Benchmark: writing advisors' call workbooks vs. bare xlsxwriter writing the same cells.

Issue 3's target: writing 500 workbooks holding 1,000,000 client rows within 1.3x of
xlsxwriter (constant_memory) writing the same cells into the same number of files.

    .venv/bin/python benchmarks/bench_workbooks.py                     # 1,000,000 / 500
    .venv/bin/python benchmarks/bench_workbooks.py --clients 100000    # quicker
    .venv/bin/python benchmarks/bench_workbooks.py --clients 233000 --advisors 1000 \
        --in-memory --in-place        # books of assign's size at 10M, against the faster floor

Each advisor's spec is generated from the seed just before it is written (so memory
reflects the writers, not a million client objects held at once); generation is not
timed. `--in-memory` makes the floor bare xlsxwriter's faster mode (no temporary file
per part); `--in-place` writes each book where it goes, as assign does in its scratch
folder, instead of through a temporary file and a rename. For every spec the bare loop
and `write_advisor_workbook` run back to back, in alternating order, so drift in a noisy
machine hits both alike. Wall time and this process's CPU time (user + system) are both
reported: on a shared machine the CPU ratio is the steadier one. Prints measured figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from reactivate.rules.funnel import DISPOSITIONS
from reactivate.sheets.workbook import (
    CLIENT_HEADERS,
    HEADERS,
    PRODUCT_SEPARATOR,
    WorkbookClient,
    WorkbookProduct,
    WorkbookSpec,
    write_advisor_workbook,
)

SECRET = b"benchmark-secret"
BRANCHES = ("上海分公司", "北京分公司", "深圳营业部", "杭州营业部", "成都营业部", "武汉营业部")
BANDS = ("<10k", "10k-50k", "50k-100k", "100k-500k", "500k+")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
PRODUCTS = (
    WorkbookProduct("F001", "货币基金", 1),
    WorkbookProduct("F002", "短债基金", 2),
    WorkbookProduct("F003", "稳健理财", 2),
    WorkbookProduct("F004", "平衡混合", 3),
    WorkbookProduct("F005", "成长股票", 4),
    WorkbookProduct("F006", "行业主题", 5),
)


def specs(clients: int, advisors: int, seed: int) -> Iterator[WorkbookSpec]:
    """One spec per advisor, clients dealt as evenly as possible, reproducible by seed."""
    issued = datetime(2024, 3, 1, 1, 0, tzinfo=UTC)
    base, extra = divmod(clients, advisors)
    next_id = 0
    for index in range(advisors):
        rng = random.Random(seed * 1_000_003 + index)
        count = base + (1 if index < extra else 0)
        rows = []
        for _ in range(count):
            risk = rng.randint(1, 5)
            rows.append(
                WorkbookClient(
                    client_id=f"{next_id:010d}",
                    name=rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2))),
                    mobile=f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
                    branch=rng.choice(BRANCHES),
                    asset_band=rng.choice(BANDS),
                    days_dormant=rng.randint(180, 2000),
                    risk=risk,
                    suitable_products=tuple(p.code for p in PRODUCTS if p.risk <= risk),
                )
            )
            next_id += 1
        yield WorkbookSpec(
            campaign_slug="bench",
            campaign_name="基准测试活动",
            advisor_code=f"A{index:04d}",
            advisor_name=f"顾问{index}",
            branch=BRANCHES[index % len(BRANCHES)],
            issue=1,
            issued_at=issued,
            timezone="Asia/Shanghai",
            dispositions=DISPOSITIONS,
            products=PRODUCTS,
            clients=tuple(rows),
        )


def write_bare(path: Path, spec: WorkbookSpec, *, in_memory: bool = False) -> None:
    """The floor: xlsxwriter (constant_memory; or `in_memory`, no temporary file per part)
    writing the same header and client cells."""
    import xlsxwriter

    options = {"in_memory": True} if in_memory else {"constant_memory": True}
    book = xlsxwriter.Workbook(str(path), options)
    ws = book.add_worksheet()
    for col, header in enumerate(HEADERS):
        ws.write_string(0, col, header)
    write_string = ws.write_string
    write_number = ws.write_number
    join = PRODUCT_SEPARATOR.join
    for row, c in enumerate(spec.clients, start=1):
        write_string(row, 0, c.client_id)
        if c.name:
            write_string(row, 1, c.name)
        if c.mobile:
            write_string(row, 2, c.mobile)
        if c.branch:
            write_string(row, 3, c.branch)
        if c.asset_band:
            write_string(row, 4, c.asset_band)
        if c.days_dormant is not None:
            write_number(row, 5, c.days_dormant)
        if c.risk is not None:
            write_string(row, 6, f"C{c.risk}")
        if c.suitable_products:
            write_string(row, 7, join(c.suitable_products))
    book.close()


def peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1_000_000, help="client rows in total")
    parser.add_argument("--advisors", type=int, default=500, help="workbooks (one per advisor)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated clients")
    parser.add_argument("--out", type=Path, help="folder for the files (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the written files")
    parser.add_argument("--in-memory", action="store_true", help="the floor in memory")
    parser.add_argument("--in-place", action="store_true", help="no temporary file a book")
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="bench_workbooks_"))
    (out / "bare").mkdir(parents=True, exist_ok=True)
    (out / "workbook").mkdir(parents=True, exist_ok=True)
    in_place = {"atomic": False} if args.in_place else {}
    times = dict.fromkeys(("bare", "bare_cpu", "workbook", "workbook_cpu"), 0.0)
    bare_bytes = workbook_bytes = 0
    try:
        for index, spec in enumerate(specs(args.clients, args.advisors, args.seed)):
            bare_path = out / "bare" / f"{spec.advisor_code}.xlsx"
            workbook_path = out / "workbook" / f"{spec.advisor_code}.xlsx"

            def run_bare(spec: WorkbookSpec = spec, path: Path = bare_path) -> None:
                start, cpu = time.perf_counter(), time.process_time()
                write_bare(path, spec, in_memory=args.in_memory)
                times["bare"] += time.perf_counter() - start
                times["bare_cpu"] += time.process_time() - cpu

            def run_workbook(spec: WorkbookSpec = spec, path: Path = workbook_path) -> None:
                start, cpu = time.perf_counter(), time.process_time()
                write_advisor_workbook(path, spec, SECRET, **in_place)
                times["workbook"] += time.perf_counter() - start
                times["workbook_cpu"] += time.process_time() - cpu

            first, second = (run_bare, run_workbook) if index % 2 == 0 else (run_workbook, run_bare)
            first()
            second()
            bare_bytes += bare_path.stat().st_size
            workbook_bytes += workbook_path.stat().st_size
            if not args.keep:
                bare_path.unlink()
                workbook_path.unlink()
    finally:
        if not args.keep and args.out is None:
            shutil.rmtree(out, ignore_errors=True)

    n = args.clients
    floor = "in memory" if args.in_memory else "constant_memory"
    print(f"clients {n:,} over {args.advisors} workbooks ({len(CLIENT_HEADERS)} client columns)")
    print(f"{'':36} {'wall s':>8} {'rows/s':>9} {'cpu s':>8} {'MB':>7}")
    for label, key, size in (
        (f"bare xlsxwriter ({floor})", "bare", bare_bytes),
        ("write_advisor_workbook", "workbook", workbook_bytes),
    ):
        wall, cpu = times[key], times[f"{key}_cpu"]
        print(f"{label:36} {wall:8.2f} {n / wall:9,.0f} {cpu:8.2f} {size / 1e6:7.1f}")
    wall_ratio = times["workbook"] / times["bare"]
    cpu_ratio = times["workbook_cpu"] / times["bare_cpu"]
    print(f"ratio workbook / bare: wall {wall_ratio:.3f}, cpu {cpu_ratio:.3f}")
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
    if args.keep:
        print(f"files kept in {out}")


if __name__ == "__main__":
    main()

"""Benchmark: uploading filled advisor workbooks vs. the floor (issue 4's Speed section).

Two cases, each beside its floor:

- many: 500 filled workbooks holding 1,000,000 rows, uploaded at once (one invocation);
- single: one 5,000-row sheet.

The floor is reading the same files with the fastest reader plus a bare sqlite3
executemany of the events the upload produced into an empty database with the same
schema (indexes included), in one transaction. Two readers are measured, each reading the
call sheet and the stamp of every file in one thread: python-calamine (every row as
Python values) and fastexcel (the sheet into Arrow columns, no Python value per cell);
the one with the lower median read time makes the floor. Targets: the single sheet within
2x of its floor; the whole campaign's workbooks within 1.5x.

    .venv/bin/python benchmarks/bench_results.py                       # 1,000,000 / 500 and 5,000
    .venv/bin/python benchmarks/bench_results.py --rows 100000 --workbooks 50   # quicker

The database is SQLite in a temporary folder; clients, members and assignments are
inserted directly (set-up is not timed), then each advisor's workbook is written stamped
with the database's secret and filled as an advisor would (call time and result on
nearly every row, attempts, some call-backs, WeCom adds, pushes and conversions).
Generated workbooks are kept under --data (default benchmarks/work/results) and
reused when the sizes match.

Each upload runs in a fresh process (`--child`, on a fresh copy of the set-up
database), which reports its own wall and CPU time and peak RSS: the set-up and the
floor's own buffers stay out of the upload's figures. The floor runs in a fresh process
too (`--floor-child`), so both start cold, with their reader imported before the clock
starts, and both clocks run until the database connection is closed (closing the last
connection checkpoints the WAL into the file). `--repeat N` runs the upload
and the floor N times each and reports medians (the machine is shared and noisy:
compare CPU time as well as wall time). Prints measured figures and asserts nothing:
a closing table gives per case the upload's wall and CPU time, the floor's, the
ratios, the upload's peak RSS, and whether the wall ratio met its case's target.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

from reactivate import registry
from reactivate.db import stages
from reactivate.db.engine import open_engine
from reactivate.db.meta import workbook_secret
from reactivate.sheets import workbook as wb
from reactivate.upload import UploadOptions, upload

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN_FILE = ROOT / "campaigns" / "2020h2-dormant.toml"
SH = ZoneInfo("Asia/Shanghai")
ASSIGNED = dt.datetime(2020, 7, 1, 9, 0, tzinfo=SH)
PRODUCT_LABELS = ("MMF01 现金宝货币基金", "BOND02 稳健债券基金", "ADV03 投顾组合服务")
RESULTS = ("接通", "无人接听", "忙线", "空号/错号", "拒绝", "预约回电", "勿扰")
RESULT_WEIGHTS = (45, 25, 10, 5, 8, 5, 2)
BENCH_SECRET = b"reactivate-benchmark-secret-0001"


def _sqlite_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def make_database(folder: Path, rows: int, advisors: int) -> tuple[str, list[list[str]]]:
    """A campaign with `rows` clients dealt over `advisors`; returns (url, ids per advisor)."""
    path = folder / "bench.db"
    url = f"sqlite:///{path}"
    engine = open_engine(url)
    registry.register(engine, CAMPAIGN_FILE)
    campaign_id = registry.get(engine, "2020h2-dormant").id
    with engine.begin() as conn:
        # A fixed secret, so the generated (stamped) workbooks can be reused across runs.
        conn.execute(
            text("INSERT INTO meta (key, value) VALUES ('workbook_secret', :v)"),
            {"v": BENCH_SECRET.hex()},
        )
    engine.dispose()
    now = _sqlite_time(dt.datetime.now(dt.UTC))
    assigned = _sqlite_time(ASSIGNED)
    codes = [f"A{i:04d}" for i in range(advisors)]
    per: list[list[str]] = [[] for _ in codes]
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("INSERT INTO branch (name) VALUES ('上海分公司')")
        raw.executemany(
            "INSERT INTO advisor (code, name, branch, active, updated_at) VALUES (?, ?, ?, 1, ?)",
            [(code, f"顾问{code}", "上海分公司", now) for code in codes],
        )
        clients, members = [], []
        for n in range(rows):
            client_id = f"{n:010d}"
            code_index = n % advisors
            per[code_index].append(client_id)
            clients.append(
                (client_id, f"客户{n}", f"138{n:08d}", "上海分公司", 20000.0, "2019-06-01", 3, now)
            )
            members.append((campaign_id, client_id, now, codes[code_index], assigned))
        raw.executemany(
            "INSERT INTO client (client_id, name, mobile, branch, assets, last_trade_date, risk,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            clients,
        )
        raw.executemany(
            "INSERT INTO member (campaign_id, client_id, joined_at, dnc, control, advisor_code,"
            " assigned_at) VALUES (?, ?, ?, 0, 0, ?, ?)",
            members,
        )
    raw.close()
    engine = open_engine(url)
    with engine.begin() as conn:
        stages.refresh(conn, campaign_id)
    engine.dispose()
    return url, per


def _fill(rng: random.Random) -> list[object]:
    """The input cells of one worked row, as an advisor fills them (wall-clock times)."""
    called = ASSIGNED.replace(tzinfo=None) + dt.timedelta(minutes=rng.randrange(60, 60 * 24 * 60))
    result = rng.choices(RESULTS, RESULT_WEIGHTS)[0]
    cells: list[object] = [
        called,
        result,
        rng.randint(1, 3),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ]
    if result == "预约回电":
        cells[3] = called + dt.timedelta(days=2)
    if result == "接通" and rng.random() < 0.3:
        cells[4], cells[5] = "是", called + dt.timedelta(hours=1)
        if rng.random() < 0.8:
            cells[6], cells[7] = rng.choice(PRODUCT_LABELS), called + dt.timedelta(days=1)
            if rng.random() < 0.6:
                cells[8], cells[9] = "是", called + dt.timedelta(days=3)
    if rng.random() < 0.05:
        cells[10] = "客户说下个月再看"
    return cells


def write_filled(path: Path, code: str, ids: list[str], secret: bytes, rng: random.Random) -> None:
    """A workbook as `assign` issues it (same sheets, headers and stamp), then filled.

    Written in one pass with xlsxwriter: filling 1,000,000 rows through openpyxl would
    take longer than the benchmark itself.
    """
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    calls = book.add_worksheet(wb.CALL_SHEET)
    stamp = book.add_worksheet(wb.STAMP_SHEET)
    stamp.very_hidden()
    datetime_format = book.add_format({"num_format": wb.DATETIME_FORMAT})
    for col, header in enumerate(wb.HEADERS):
        calls.write_string(0, col, header)
    input_start = len(wb.CLIENT_HEADERS)
    for row, client_id in enumerate(ids, start=1):
        calls.write_string(row, 0, client_id)
        calls.write_string(row, 1, f"客户{int(client_id)}")
        calls.write_string(row, 2, f"138{int(client_id):08d}")
        calls.write_string(row, 3, "上海分公司")
        calls.write_string(row, 4, "10k-50k")
        calls.write_number(row, 5, 395)
        calls.write_string(row, 6, "C3")
        calls.write_string(row, 7, "MMF01、BOND02、ADV03")
        if rng.random() < 0.97:  # a few rows left unworked
            for offset, value in enumerate(_fill(rng)):
                col = input_start + offset
                if value is None:
                    continue
                if isinstance(value, dt.datetime):
                    calls.write_datetime(row, col, value, datetime_format)
                elif isinstance(value, int):
                    calls.write_number(row, col, value)
                else:
                    calls.write_string(row, col, str(value))
    digest = wb.stamp_digest(secret, "2020h2-dormant", code, 1, ids)
    text_ids = json.dumps(ids, separators=(",", ":"))
    pairs = [
        ("format", wb._STAMP_FORMAT),
        ("version", wb._STAMP_VERSION),
        ("campaign", "2020h2-dormant"),
        ("advisor", code),
        ("issue", "1"),
        ("issued_at", ASSIGNED.isoformat()),
        ("clients", str(len(ids))),
        ("digest", digest),
    ] + [("client_ids", text_ids[i : i + 32_000]) for i in range(0, len(text_ids), 32_000)]
    for row, (key, value) in enumerate(pairs):
        stamp.write_string(row, 0, key)
        stamp.write_string(row, 1, value)
    book.close()


@dataclass
class Timed:
    wall: float
    cpu: float
    count: int  # rows read or events inserted


def floor_read(paths: list[Path]) -> Timed:
    """python-calamine: every row of the call sheet as Python values, and the stamp."""
    from python_calamine import CalamineWorkbook

    cpu0 = time.process_time()
    start = time.perf_counter()
    count = 0
    for path in paths:
        with CalamineWorkbook.from_path(str(path)) as book:
            for _row in book.get_sheet_by_name(wb.CALL_SHEET).iter_rows():
                count += 1
            book.get_sheet_by_name(wb.STAMP_SHEET).to_python()
    return Timed(time.perf_counter() - start, time.process_time() - cpu0, count)


def floor_read_columns(paths: list[Path]) -> Timed:
    """fastexcel: the call sheet into Arrow columns, handed to polars (one thread), and the
    stamp."""
    import fastexcel

    cpu0 = time.process_time()
    start = time.perf_counter()
    count = 0
    for path in paths:
        book = fastexcel.read_excel(str(path))
        count += book.load_sheet(wb.CALL_SHEET).to_polars().height + 1  # and the header
        book.load_sheet(wb.STAMP_SHEET, header_row=None).to_polars()
    return Timed(time.perf_counter() - start, time.process_time() - cpu0, count)


def floor_insert(url: str, folder: Path) -> Timed:
    """A bare executemany of the events the upload wrote, into an empty same-schema database."""
    source = sqlite3.connect(url.removeprefix("sqlite:///"))
    columns = (
        "campaign_id, client_id, stage, value, occurred_at, advisor_code, source,"
        " import_id, source_file, source_row, source_ref, recorded_by, recorded_at"
    )
    events = source.execute(f"SELECT {columns} FROM event WHERE source = 'upload'").fetchall()
    source.close()
    empty = folder / "floor.db"
    empty.unlink(missing_ok=True)
    engine = open_engine(f"sqlite:///{empty}")
    engine.dispose()
    target = sqlite3.connect(empty)
    target.execute("PRAGMA journal_mode=WAL")
    target.execute("PRAGMA synchronous=NORMAL")
    target.execute("PRAGMA foreign_keys=OFF")
    cpu0 = time.process_time()
    start = time.perf_counter()
    with target:
        target.executemany(f"INSERT INTO event ({columns}) VALUES ({', '.join('?' * 13)})", events)
    # Closing the last connection checkpoints the WAL into the database file: the upload
    # pays that when its connection closes, so the floor's clock runs until it is done too.
    target.close()
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    return Timed(elapsed, cpu, len(events))


#: Each case's target: the whole upload within this many times its floor (the issue's 2x;
#: the report-speed work's 1.5x for the whole campaign's workbooks).
TARGETS = {"single": 2.0, "many": 1.5}


def child(url: str, files: Path) -> None:
    """Run one upload in this (fresh) process and print its figures as JSON."""
    # The libraries the upload reads and stages with are imported before the clock starts,
    # as the floor's reader (python-calamine) and writer (sqlite3) are.
    import adbc_driver_sqlite.dbapi  # noqa: F401
    import fastexcel  # noqa: F401
    import polars  # noqa: F401
    import python_calamine  # noqa: F401

    engine = open_engine(url)
    cpu0 = time.process_time()
    start = time.perf_counter()
    summary = upload(engine, "2020h2-dormant", [files], UploadOptions())
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_mb": peak, "totals": summary.totals()}))


@dataclass
class Upload:
    """One upload's own figures, as its process measured them."""

    wall: float
    cpu: float
    peak_mb: float
    totals: dict[str, int]


@dataclass
class Result:
    case: str
    rows: int
    wall: float  # medians over the runs
    cpu: float
    floor: float
    floor_cpu: float
    peak_mb: float  # the highest of the runs


def floor_child(url: str, files: Path, work: Path, reader: str) -> None:
    """Measure the floor in this (fresh) process, as the upload is: print it as JSON."""
    import fastexcel  # noqa: F401  (both readers imported before the clock starts)
    import polars  # noqa: F401
    import python_calamine  # noqa: F401

    paths = sorted(files.glob("*.xlsx"))
    read = floor_read(paths) if reader == "calamine" else floor_read_columns(paths)
    insert = floor_insert(url, work)
    print(json.dumps({"read": read.__dict__, "insert": insert.__dict__}))


#: The readers the floor is measured with; the faster one's figure is the floor.
FLOOR_READERS = ("calamine", "fastexcel")


def measured_floor(url: str, files: Path, work: Path, reader: str) -> tuple[Timed, Timed]:
    done = subprocess.run(
        [sys.executable, __file__, "--floor-child", url, str(files), str(work), reader],
        check=True,
        capture_output=True,
        text=True,
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return Timed(**found["read"]), Timed(**found["insert"])


def measured_upload(url: str, files: Path) -> Upload:
    done = subprocess.run(
        [sys.executable, __file__, "--child", url, str(files)],
        check=True,
        capture_output=True,
        text=True,
    )
    return Upload(**json.loads(done.stdout.strip().splitlines()[-1]))


def case(
    name: str, folder: Path, rows: int, advisors: int, data: Path, seed: int, repeat: int
) -> Result:
    print(f"\n== {name}: {rows:,} rows in {advisors} workbook(s)")
    work = folder / name
    work.mkdir(parents=True)
    t0 = time.perf_counter()
    url, per = make_database(work, rows, advisors)
    engine = open_engine(url)
    with engine.begin() as conn:
        secret = workbook_secret(conn)
    engine.dispose()
    files = data / f"{name}-{rows}-{advisors}-{seed}"
    marker = files / "secret.hex"
    if not marker.exists() or marker.read_text() != secret.hex():
        # The stamp is keyed by the database's secret: regenerate for a new database.
        shutil.rmtree(files, ignore_errors=True)
        files.mkdir(parents=True)
        rng = random.Random(seed)
        for index, ids in enumerate(per):
            write_filled(files / f"A{index:04d}.xlsx", f"A{index:04d}", ids, secret, rng)
        marker.write_text(secret.hex())
    print(f"set-up (database + workbooks, not timed): {time.perf_counter() - t0:.1f} s")
    pristine = work / "pristine.db"
    shutil.copy(work / "bench.db", pristine)

    runs: list[Upload] = []
    for attempt in range(repeat):
        shutil.copy(pristine, work / "bench.db")  # every upload starts from the same state
        run = measured_upload(url, files)
        runs.append(run)
        print(
            f"upload run {attempt + 1}: {run.wall:.2f} s wall, {run.cpu:.2f} s CPU,"
            f" peak RSS {run.peak_mb:,.0f} MB: {json.dumps(run.totals)}"
        )
    # The floor is measured as many times as the upload (the machine's load varies), with
    # each reader; the reader with the lower median is the fastest, and its figure counts.
    floors: dict[str, list[tuple[Timed, Timed]]] = {}
    for _attempt in range(repeat):
        for reader in FLOOR_READERS:
            read, insert = measured_floor(url, files, work, reader)
            floors.setdefault(reader, []).append((read, insert))
            print(
                f"floor:  {read.wall + insert.wall:.2f} s wall ({read.cpu + insert.cpu:.2f} s CPU)"
                f" = {reader} read {read.wall:.2f} s ({read.count:,} rows)"
                f" + bare executemany {insert.wall:.2f} s ({insert.count:,} events)"
            )
    reads = {
        reader: statistics.median(read.wall for read, _ in found)
        for reader, found in floors.items()
    }
    fastest = min(reads, key=reads.__getitem__)
    print(
        "reads: "
        + ", ".join(f"{reader} {wall:.2f} s" for reader, wall in reads.items())
        + f"; the floor is {fastest}'s"
    )
    chosen = floors[fastest]
    return Result(
        case=name,
        rows=rows,
        wall=statistics.median(r.wall for r in runs),
        cpu=statistics.median(r.cpu for r in runs),
        floor=statistics.median(read.wall + insert.wall for read, insert in chosen),
        floor_cpu=statistics.median(read.cpu + insert.cpu for read, insert in chosen),
        peak_mb=max(r.peak_mb for r in runs),
    )


def report(results: list[Result]) -> None:
    """One line per case; `met` when the upload's wall time is within its TARGETS x its floor's
    (the CPU ratio beside it is steadier when other work shares the machine)."""
    print(
        f"\n{'case':<8}{'rows':>11}{'upload wall':>13}{'upload CPU':>12}{'floor wall':>12}"
        f"{'floor CPU':>11}{'ratio':>8}{'CPU ratio':>11}{'peak RSS':>11}  target"
    )
    for r in results:
        ratio = r.wall / r.floor
        print(
            f"{r.case:<8}{r.rows:>11,}{r.wall:>12.2f}s{r.cpu:>11.2f}s{r.floor:>11.2f}s"
            f"{r.floor_cpu:>10.2f}s{ratio:>7.2f}x{r.cpu / r.floor_cpu:>10.2f}x"
            f"{r.peak_mb:>8,.0f} MB  {TARGETS[r.case]:g}x {'met' if ratio <= TARGETS[r.case] else 'missed'}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="rows in the many-workbook case"
    )
    parser.add_argument("--workbooks", type=int, default=500, help="workbooks in that case")
    parser.add_argument("--single", type=int, default=5_000, help="rows of the single sheet")
    parser.add_argument("--skip-many", action="store_true", help="only the single sheet")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="uploads per case (median)")
    parser.add_argument(
        "--data",
        type=Path,
        default=ROOT / "benchmarks" / "work" / "results",
        help="where generated workbooks are kept",
    )
    parser.add_argument("--child", nargs=2, metavar=("URL", "FILES"), help=argparse.SUPPRESS)
    parser.add_argument("--floor-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    if args.floor_child:
        url, files, work, reader = args.floor_child
        floor_child(url, Path(files), Path(work), reader)
        return
    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results.append(case("single", folder, args.single, 1, args.data, args.seed, args.repeat))
        if not args.skip_many:
            results.append(
                case("many", folder, args.rows, args.workbooks, args.data, args.seed, args.repeat)
            )
    report(results)


if __name__ == "__main__":
    main()

"""Benchmark: `reactivate results upload` at a whole broker's size on PostgreSQL (issue 18).

Three measurements against one assigned campaign of N members dealt over A advisors (one
stamped, filled workbook each; 10,000,000 members and 5,000 workbooks by default):

- whole: every workbook in one upload, beside its floor: fastexcel's read of the same
  cells (the call sheet into Arrow columns, and the stamp, one file after another, as
  `bench_results.py` measures it) plus a COPY of the very event rows the upload wrote into
  a table keyed and indexed as `event` (`LIKE event INCLUDING ALL`), committed. Target:
  at most 2x its floor, peak RSS at most 2 GB.
- sequential and concurrent: 16 uploads of different advisors' workbooks (`--per-process`
  each), one after another and then all 16 at once, each from the same fresh copy of
  the campaign. Target: the 16 at once take less time in all than one after another, and
  every exit is clean (a lock wait waits; it never fails an upload). Their events,
  summary rows and tallies are compared (as fingerprints) with the sequential run's.

Set-up (not timed): the campaign written straight into a template database
(`<--db>_<N>_<A>`: clients and members by COPY, then one summary rebuild), kept and
reused; each run starts from `CREATE DATABASE <--db> TEMPLATE ...`. The workbooks are
written as `assign` issues them (the same sheets, headers and stamp, keyed by a fixed
secret) and filled as `bench_results.py` fills them, but straight as sheet XML into the
zip (xlsxwriter would take hours for 10M rows on a shared machine); they are kept under
`--data` and reused.

Each upload runs in a fresh process (`--child`) that prints its wall and CPU time and
peak RSS; the floor too (`--floor-child`). The load average is printed beside each.

    .venv/bin/python benchmarks/bench_results_pg.py --members 1000000 --advisors 500
    nohup .venv/bin/python benchmarks/bench_results_pg.py > results-pg.log &   # 10M / 5,000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_results as br  # noqa: E402

from reactivate.sheets import workbook as wb  # noqa: E402

SERVER = "postgresql://postgres@127.0.0.1:5432"
SLUG = "2020h2-dormant"
#: The issue's targets.
TARGET = 2.0
PEAK_MB = 2048
PROCESSES = 16
_EPOCH = dt.datetime(1899, 12, 30)
_COLUMNS = "ABCDEFGHIJKLMNOPQRS"
_EVENT_COLUMNS = (
    "campaign_id, client_id, stage, value, occurred_at, advisor_code, source,"
    " import_id, source_file, source_row, source_ref, recorded_by, recorded_at"
)


def _load() -> float:
    return os.getloadavg()[0]


def _psql(dbname: str, sql: str) -> str:
    done = subprocess.run(
        ["psql", "-X", "-q", "-At", "-h", "127.0.0.1", "-U", "postgres", "-d", dbname, "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


# ---------------------------------------------------------------- the campaign (set-up)


def _template_name(db: str, members: int, advisors: int) -> str:
    return f"{db}_{members}_{advisors}"


def _template_ready(name: str) -> bool:
    found = _psql(
        "postgres",
        f"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{name}'",
    )
    return found == "bench ready"


def make_template(db: str, members: int, advisors: int) -> str:
    """The assigned campaign, written once into a template database; returns its name."""
    import polars as pl
    import psycopg
    from sqlalchemy import text

    from reactivate import registry
    from reactivate.db import bulk, stages
    from reactivate.db.engine import open_engine

    name = _template_name(db, members, advisors)
    if _template_ready(name):
        return name
    _psql("postgres", f"DROP DATABASE IF EXISTS {name}")
    _psql("postgres", f"CREATE DATABASE {name}")
    url = f"{SERVER}/{name}"
    engine = open_engine(url)
    registry.register(engine, br.CAMPAIGN_FILE)
    campaign_id = registry.get(engine, SLUG).id
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO meta (key, value) VALUES ('workbook_secret', :v)"),
            {"v": br.BENCH_SECRET.hex()},
        )
        conn.execute(text("INSERT INTO branch (name) VALUES ('上海分公司')"))
        conn.execute(
            text(
                "INSERT INTO advisor (code, name, branch, active, updated_at)"
                " SELECT 'A' || lpad(n::text, 4, '0'), '顾问A' || lpad(n::text, 4, '0'),"
                " '上海分公司', true, now() FROM generate_series(0, :last) n"
            ),
            {"last": advisors - 1},
        )
    engine.dispose()
    t0 = time.perf_counter()
    number = pl.int_range(0, members, eager=True)
    now = dt.datetime.now(dt.UTC).isoformat()
    clients = pl.DataFrame(
        {
            "client_id": number.cast(pl.String).str.zfill(10),
            "name": "客户" + number.cast(pl.String),
            "mobile": "138" + number.cast(pl.String).str.zfill(8),
        }
    ).with_columns(
        branch=pl.lit("上海分公司"),
        assets=pl.lit(20000.0),
        last_trade_date=pl.lit("2019-06-01"),
        risk=pl.lit(3),
        updated_at=pl.lit(now),
    )
    member_rows = clients.select(
        campaign_id=pl.lit(campaign_id),
        client_id="client_id",
        joined_at=pl.lit(now),
        dnc=pl.lit(False),
        control=pl.lit(False),
        advisor_code="A" + (number % advisors).cast(pl.String).str.zfill(4),
        assigned_at=pl.lit(br.ASSIGNED.isoformat()),
    )
    with psycopg.connect(url) as raw:
        # Set-up only: the rows are made consistent here, so the per-row foreign-key
        # triggers (an hour at 10M on the shared machine) are switched off.
        raw.execute("SET session_replication_role = replica")
        for table, frame in (("client", clients), ("member", member_rows)):
            listed = ", ".join(frame.columns)
            with raw.cursor().copy(f"COPY {table} ({listed}) FROM STDIN (FORMAT csv)") as copy:
                for start in range(0, frame.height, bulk.COPY_PART):
                    copy.write(frame.slice(start, bulk.COPY_PART).write_csv(include_header=False))
    del clients, member_rows
    print(f"  clients and members copied: {time.perf_counter() - t0:.1f} s", flush=True)
    _psql(name, "ANALYZE")
    t0 = time.perf_counter()
    engine = open_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        stages.refresh(conn, campaign_id)
    engine.dispose()
    print(f"  summary rebuilt: {time.perf_counter() - t0:.1f} s", flush=True)
    _psql(name, "VACUUM ANALYZE")
    _psql("postgres", f"COMMENT ON DATABASE {name} IS 'bench ready'")
    return name


def fresh_database(db: str, template: str) -> str:
    """`db` dropped and made again as a copy of the template (not timed); its URL."""
    _psql("postgres", f"DROP DATABASE IF EXISTS {db}")
    _psql("postgres", f"CREATE DATABASE {db} TEMPLATE {template}")
    return f"{SERVER}/{db}"


# ---------------------------------------------------------------- the workbooks (set-up)


def _template_parts() -> tuple[dict[str, bytes], str, str]:
    """The parts of a workbook xlsxwriter writes as `bench_results.write_filled` does
    (its styles give the date format index 1), and the two sheets' XML around their rows."""
    import xlsxwriter

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "template.xlsx"
        book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        calls = book.add_worksheet(wb.CALL_SHEET)
        stamp = book.add_worksheet(wb.STAMP_SHEET)
        stamp.very_hidden()
        date = book.add_format({"num_format": wb.DATETIME_FORMAT})
        calls.write_string(0, 0, "x")
        calls.write_datetime(1, 0, dt.datetime(2020, 7, 1), date)
        stamp.write_string(0, 0, "x")
        book.close()
        with zipfile.ZipFile(path) as archive:
            parts = {info.filename: archive.read(info) for info in archive.infolist()}
    sheets = []
    for part in ("xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"):
        xml = parts.pop(part).decode()
        head = xml[: xml.index("<dimension")]
        tail = xml[xml.index("</sheetData>") :]
        sheets.append(head + '<dimension ref="{ref}"/><sheetData>{rows}' + tail)
    return parts, sheets[0], sheets[1]


def _text(ref: str, value: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


def _cell(ref: str, value: object) -> str:
    if isinstance(value, dt.datetime):
        return f'<c r="{ref}" s="1"><v>{(value - _EPOCH).total_seconds() / 86400!r}</v></c>'
    if isinstance(value, int):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return _text(ref, str(value))


def write_filled(path: Path, code: str, ids: list[str], seed: int) -> None:
    """`bench_results.write_filled`'s workbook, written as XML (the same cells)."""
    parts, calls_xml, stamp_xml = _template_parts()
    rng = random.Random(seed)
    rows = [
        '<row r="1">'
        + "".join(_text(f"{_COLUMNS[c]}1", h) for c, h in enumerate(wb.HEADERS))
        + "</row>"
    ]
    input_start = len(wb.CLIENT_HEADERS)
    for row, client_id in enumerate(ids, start=2):
        n = int(client_id)
        cells = (
            f"{_text(f'A{row}', client_id)}{_text(f'B{row}', f'客户{n}')}"
            f"{_text(f'C{row}', f'138{n:08d}')}{_text(f'D{row}', '上海分公司')}"
            f'{_text(f"E{row}", "10k-50k")}<c r="F{row}"><v>395</v></c>'
            f"{_text(f'G{row}', 'C3')}{_text(f'H{row}', 'MMF01、BOND02、ADV03')}"
        )
        if rng.random() < 0.97:  # a few rows left unworked
            cells += "".join(
                _cell(f"{_COLUMNS[input_start + offset]}{row}", value)
                for offset, value in enumerate(br._fill(rng))
                if value is not None
            )
        rows.append(f'<row r="{row}">{cells}</row>')
    digest = wb.stamp_digest(br.BENCH_SECRET, SLUG, code, 1, ids)
    text_ids = json.dumps(ids, separators=(",", ":"))
    pairs = [
        ("format", wb._STAMP_FORMAT),
        ("version", wb._STAMP_VERSION),
        ("campaign", SLUG),
        ("advisor", code),
        ("issue", "1"),
        ("issued_at", br.ASSIGNED.isoformat()),
        ("clients", str(len(ids))),
        ("digest", digest),
    ] + [("client_ids", text_ids[i : i + 32_000]) for i in range(0, len(text_ids), 32_000)]
    stamp_rows = "".join(
        f'<row r="{r}">{_text(f"A{r}", key)}{_text(f"B{r}", value)}</row>'
        for r, (key, value) in enumerate(pairs, start=1)
    )
    partial = path.with_suffix(".part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in parts.items():
            if name == "xl/worksheets/sheet2.xml":
                continue
            archive.writestr(name, data)
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            calls_xml.format(ref=f"A1:S{len(ids) + 1}", rows="".join(rows)),
        )
        archive.writestr(
            "xl/worksheets/sheet2.xml",
            stamp_xml.format(ref=f"A1:B{len(pairs)}", rows=stamp_rows),
        )
    partial.replace(path)


def _write_range(
    folder: str, members: int, advisors: int, seed: int, first: int, last: int
) -> None:
    for index in range(first, last):
        path = Path(folder) / f"A{index:04d}.xlsx"
        if path.exists():
            continue
        ids = [f"{n:010d}" for n in range(index, members, advisors)]
        write_filled(path, f"A{index:04d}", ids, seed * 1_000_003 + index)


def make_workbooks(data: Path, members: int, advisors: int, seed: int) -> Path:
    """The filled workbooks, one per advisor, kept under `data` (missing ones written)."""
    folder = data / f"broker-{members}-{advisors}-{seed}"
    done = folder / "complete"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    step = max(1, advisors // 40)
    with ProcessPoolExecutor(max_workers=2) as pool:
        jobs = [
            pool.submit(
                _write_range,
                str(folder),
                members,
                advisors,
                seed,
                first,
                min(first + step, advisors),
            )
            for first in range(0, advisors, step)
        ]
        for job in jobs:
            job.result()
    done.write_text("")
    size = sum(p.stat().st_size for p in folder.glob("*.xlsx"))
    print(f"  workbooks written: {time.perf_counter() - t0:.1f} s, {size / 1e9:.2f} GB", flush=True)
    return folder


# ---------------------------------------------------------------- timed processes


@dataclass
class Run:
    wall: float
    cpu: float
    peak_mb: float
    load: float
    totals: dict[str, int]
    refresh: float = 0.0  # of the wall time, the summary refresh's
    server_cpu: float = 0.0  # the upload's server processes' CPU (the server is on this machine)
    statements: list[tuple[float, int, str]] | None = None  # with --statements
    steps: dict[str, float] | None = None  # with --statements: the wall time of some steps


def child(url: str, listing: Path, statements: bool = False, batch_rows: int | None = None) -> None:
    """One upload of the files `listing` names, in this fresh process: its figures as JSON
    (with `statements`, the server's time in each statement, the longest first)."""
    import fastexcel  # noqa: F401  (imported before the clock, as the floor's reader is)
    import polars  # noqa: F401
    import psycopg  # noqa: F401

    from reactivate.db import stages  # the module the upload calls its refresh through
    from reactivate.db.engine import open_engine
    from reactivate.upload import UploadOptions, upload

    refresh = _timed(stages, ("refresh", "refresh_selected"))
    steps: dict[str, list[float]] = {}
    if statements:
        from reactivate.db import bulk
        from reactivate.upload import members, write

        # the steps whose statements go round SQLAlchemy (the driver's cursor, COPY); an
        # earlier tree called the lookup by its name in `write`
        for module in (write, members):
            if hasattr(module, "load_members"):
                steps[f"members looked up ({module.__name__})"] = _timed(module, ("load_members",))
        steps["files read (past the lookup)"] = _timed(write, ("read_all",))
        steps["facts staged (COPY)"] = _timed(bulk, ("append_frame",))
    paths = [Path(line) for line in listing.read_text().splitlines()]
    engine = open_engine(url)
    backends = _backends(engine)
    spent = _statements_timed(engine) if statements else None
    cpu0 = time.process_time()
    start = time.perf_counter()
    options = UploadOptions() if batch_rows is None else UploadOptions(batch_rows=batch_rows)
    summary = upload(engine, SLUG, paths, options)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    server_cpu = sum(_process_cpu(pid) for pid in backends)
    engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures: dict[str, object] = {"wall": wall, "cpu": cpu, "peak_mb": peak, "load": _load()}
    figures |= {"refresh": refresh[0], "server_cpu": server_cpu}
    if spent is not None:
        longest = sorted(spent.items(), key=lambda item: -item[1][0])[:20]
        figures["statements"] = [(seconds, calls, sql) for sql, (seconds, calls) in longest]
        figures["steps"] = {name: spent_in[0] for name, spent_in in steps.items()}
    print(json.dumps(figures | {"totals": summary.totals()}))


def _backends(engine: object) -> list[int]:
    """The server process of every connection `engine` opens, as they are opened."""
    from sqlalchemy import event

    pids: list[int] = []

    def opened(dbapi_connection: Any, _record: object) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pids.append(cursor.fetchone()[0])

    event.listen(engine, "connect", opened)
    return pids


def _process_cpu(pid: int) -> float:
    """A process's user + system CPU seconds so far (Linux), 0 if it is gone. A server
    process's parallel workers are processes of their own and not counted."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _statements_timed(engine: object) -> dict[str, list[float]]:
    """Every statement's wall time (and calls), added up by its first 120 characters."""
    import re

    from sqlalchemy import event

    spent: dict[str, list[float]] = {}
    started: list[float] = []

    def before(*_args: object) -> None:
        started.append(time.perf_counter())

    def after(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seconds = time.perf_counter() - started.pop()
        found = spent.setdefault(re.sub(r"\s+", " ", statement).strip()[:120], [0.0, 0])
        found[0] += seconds
        found[1] += 1

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    return spent


def _timed(module: object, names: tuple[str, ...]) -> list[float]:
    """Wrap `module`'s functions `names` so their wall time adds up in the list returned
    (the summary refresh's share of an upload)."""
    spent = [0.0]
    for name in names:
        inner = getattr(module, name)

        def timed(*args: object, _inner: object = inner, **kwargs: object) -> object:
            start = time.perf_counter()
            try:
                return _inner(*args, **kwargs)  # type: ignore[operator]
            finally:
                spent[0] += time.perf_counter() - start

        setattr(module, name, timed)
    return spent


def _spawn(
    url: str, listing: Path, statements: bool = False, batch_rows: int | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, "--child", url, str(listing)]
        + (["--statements"] if statements else [])
        + ([f"--batch-rows={batch_rows}"] if batch_rows else []),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> Run:
    out, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"an upload failed (exit {process.returncode}):\n{err[-3000:]}")
    return Run(**json.loads(out.strip().splitlines()[-1]))


def _listing(work: Path, name: str, paths: list[Path]) -> Path:
    listing = work / f"{name}.txt"
    listing.write_text("".join(f"{p}\n" for p in paths))
    return listing


def floor_child(url: str, listing: Path, events: Path) -> None:
    """The floor in this fresh process: fastexcel's read of the files, then COPY of the
    upload's events into a table keyed and indexed as `event`, committed."""
    import fastexcel  # noqa: F401
    import polars  # noqa: F401
    import psycopg

    paths = [Path(line) for line in listing.read_text().splitlines()]
    with psycopg.connect(url) as conn:
        found = conn.execute("SELECT pg_backend_pid()").fetchone()
        backend = found[0] if found else 0
        conn.execute("DROP TABLE IF EXISTS floor_event")
        conn.execute("CREATE TABLE floor_event (LIKE event INCLUDING ALL)")
        conn.commit()
        read = br.floor_read_columns(paths)
        server_before = _process_cpu(backend)
        cpu0 = time.process_time()
        start = time.perf_counter()
        with conn.cursor().copy(f"COPY floor_event ({_EVENT_COLUMNS}) FROM STDIN") as copy:
            with events.open("rb") as source:
                while chunk := source.read(1 << 20):
                    copy.write(chunk)
        conn.commit()
        copied = time.perf_counter() - start
        copy_cpu = time.process_time() - cpu0
        server_cpu = _process_cpu(backend) - server_before
        found = conn.execute("SELECT count(*) FROM floor_event").fetchone()
        count = found[0] if found else 0
        conn.execute("DROP TABLE floor_event")
        conn.commit()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "read": read.wall,
                "read_cpu": read.cpu,
                "rows": read.count,
                "copy": copied,
                "copy_cpu": copy_cpu,
                "server_cpu": server_cpu,
                "events": count,
                "peak_mb": peak,
                "load": _load(),
            }
        )
    )


def _dump_events(url: str, events: Path) -> None:
    import psycopg

    with psycopg.connect(url) as conn, events.open("wb") as out:
        with conn.cursor().copy(
            f"COPY (SELECT {_EVENT_COLUMNS} FROM event WHERE source = 'upload') TO STDOUT"
        ) as copy:
            for chunk in copy:
                out.write(chunk)


def fingerprint(db: str) -> dict[str, str]:
    """What every report reads, as digests that do not depend on the order uploads ran in:
    the uploaded events (without their import and recording time; an untimed fact's time
    is its upload's), the summary rows and the tallies."""
    from reactivate.upload.columns import UNTIMED

    queries = {
        "events": (
            "SELECT count(*) || ':' || md5(string_agg(concat_ws('|', client_id, stage, value,"
            f" CASE WHEN source_ref = '{UNTIMED}' THEN NULL ELSE occurred_at END, advisor_code,"
            " source_file, source_row, source_ref), ',' ORDER BY client_id, stage, source_file,"
            " source_row, value)) FROM event WHERE source = 'upload'"
        ),
        # each row's digest, then theirs: 10M rows' text would pass PostgreSQL's 1 GB
        # limit for one value
        "summary": (
            "SELECT count(*) || ':' || md5(string_agg(md5(s::text), ',' ORDER BY client_id))"
            " FROM client_stage s"
        ),
        "tally": "SELECT count(*) || ':' || md5(string_agg(t::text, ',' ORDER BY t::text)) FROM stage_tally t",
        "days": "SELECT count(*) || ':' || md5(string_agg(d::text, ',' ORDER BY d::text)) FROM stage_days d",
    }
    return {name: _psql(db, sql) for name, sql in queries.items()}


# ---------------------------------------------------------------- the cases


def whole(args: argparse.Namespace, template: str, files: list[Path], work: Path) -> None:
    print(f"\n== whole: {args.members:,} rows in {len(files):,} workbooks, one upload", flush=True)
    listing = _listing(work, "whole", files)
    runs, floors = [], []
    for attempt in range(args.repeat):
        url = fresh_database(args.run_db or args.db, template)
        run = _finish(_spawn(url, listing, args.statements, args.batch_rows))
        runs.append(run)
        print(
            f"upload run {attempt + 1}: {run.wall:.1f} s wall (the summary refresh"
            f" {run.refresh:.1f} s), {run.cpu:.1f} s CPU (server {run.server_cpu:.1f} s),"
            f" peak RSS {run.peak_mb:,.0f} MB, load {run.load:.1f}: {json.dumps(run.totals)}",
            flush=True,
        )
        for name, seconds in (run.steps or {}).items():
            print(f"  {seconds:9.1f} s  {name}", flush=True)
        for seconds, calls, sql in run.statements or []:
            print(f"  {seconds:9.1f} s {calls:6,}x  {sql}", flush=True)
        events = work / "events.copy"
        _dump_events(url, events)
        done = subprocess.run(
            [sys.executable, __file__, "--floor-child", url, str(listing), str(events)],
            check=True,
            capture_output=True,
            text=True,
        )
        events.unlink()
        floor = json.loads(done.stdout.strip().splitlines()[-1])
        floors.append(floor)
        print(
            f"floor run {attempt + 1}: {floor['read'] + floor['copy']:.1f} s wall"
            f" ({floor['read_cpu'] + floor['copy_cpu']:.1f} s CPU, server"
            f" {floor['server_cpu']:.1f} s) = fastexcel read"
            f" {floor['read']:.1f} s ({floor['rows']:,} rows) + COPY {floor['copy']:.1f} s"
            f" ({floor['events']:,} events), peak RSS {floor['peak_mb']:,.0f} MB,"
            f" load {floor['load']:.1f}",
            flush=True,
        )
    import statistics

    wall = statistics.median(r.wall for r in runs)
    cpu = statistics.median(r.cpu for r in runs)
    floor_wall = statistics.median(f["read"] + f["copy"] for f in floors)
    floor_cpu = statistics.median(f["read_cpu"] + f["copy_cpu"] for f in floors)
    peak = max(r.peak_mb for r in runs)
    ratio = wall / floor_wall
    print(
        f"whole: upload {wall:.1f} s wall ({cpu:.1f} s CPU), floor {floor_wall:.1f} s"
        f" ({floor_cpu:.1f} s CPU): {ratio:.2f}x, {TARGET:g}x target"
        f" {'met' if ratio <= TARGET else 'missed'}; peak RSS {peak:,.0f} MB,"
        f" {PEAK_MB:,} MB target {'met' if peak <= PEAK_MB else 'missed'}",
        flush=True,
    )


def _round(
    db: str, template: str, listings: list[Path], *, at_once: bool
) -> tuple[float, list[Run], dict[str, str]]:
    """One round of the uploads on a fresh copy of the campaign: (seconds in all, each
    upload's run, the database's fingerprint after). One after another, each process is
    started when the last has finished; at once, all are started before any is waited for."""
    url = fresh_database(db, template)
    start = time.perf_counter()
    if at_once:
        processes = [_spawn(url, listing) for listing in listings]
        runs = [_finish(p) for p in processes]
    else:
        runs = [_finish(_spawn(url, listing)) for listing in listings]
    return time.perf_counter() - start, runs, fingerprint(db)


def together(args: argparse.Namespace, template: str, files: list[Path], work: Path) -> None:
    per = args.per_process
    groups = [files[i * per : (i + 1) * per] for i in range(PROCESSES)]
    listings = [_listing(work, f"group{i:02d}", group) for i, group in enumerate(groups)]
    rows = args.members // args.advisors * per * PROCESSES
    print(
        f"\n== {PROCESSES} uploads of {per} advisors' workbooks each (about {rows:,} rows):"
        " one after another, then all at once",
        flush=True,
    )
    db = args.run_db or args.db
    one_by_one, sequential, seq_print = _round(db, template, listings, at_once=False)
    print(
        f"one after another: {one_by_one:.1f} s in all (uploads' own: "
        f"{sum(r.wall for r in sequential):.1f} s wall, of which the summary refresh"
        f" {sum(r.refresh for r in sequential):.1f} s; {sum(r.cpu for r in sequential):.1f} s"
        f" CPU, server {sum(r.server_cpu for r in sequential):.1f} s),"
        f" peak RSS {max(r.peak_mb for r in sequential):,.0f} MB, load {_load():.1f}",
        flush=True,
    )
    at_once, concurrent, con_print = _round(db, template, listings, at_once=True)
    print(
        f"all at once: {at_once:.1f} s in all (each {min(r.wall for r in concurrent):.1f}-"
        f"{max(r.wall for r in concurrent):.1f} s, {sum(r.cpu for r in concurrent):.1f} s CPU"
        f" in all, server {sum(r.server_cpu for r in concurrent):.1f} s),"
        f" peak RSS {max(r.peak_mb for r in concurrent):,.0f} MB each at most,"
        f" load {_load():.1f}; every upload exited cleanly",
        flush=True,
    )
    same_totals = [r.totals for r in sequential] == [r.totals for r in concurrent]
    for name in seq_print:
        print(
            f"  {name}: {'same' if seq_print[name] == con_print[name] else 'DIFFERENT'}"
            f" ({seq_print[name]} / {con_print[name]})"
        )
    exact = seq_print == con_print and same_totals
    print(
        f"concurrent: {at_once:.1f} s vs {one_by_one:.1f} s one after another"
        f" ({at_once / one_by_one:.2f}x): {'met' if at_once < one_by_one else 'missed'};"
        f" counts {'exact' if exact else 'NOT EXACT'} (per-upload totals"
        f" {'same' if same_totals else 'different'})",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000_000)
    parser.add_argument("--advisors", type=int, default=5_000)
    parser.add_argument(
        "--per-process", type=int, default=10, help="workbooks per concurrent upload"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--db", default="bench_pgupload", help="template's prefix, and the runs'")
    parser.add_argument("--run-db", help="the database the runs use (default: --db)")
    parser.add_argument("--skip-whole", action="store_true")
    parser.add_argument("--skip-together", action="store_true")
    parser.add_argument(
        "--setup", choices=("both", "database", "workbooks"), help="only the set-up, or a part"
    )
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "work" / "results-pg")
    parser.add_argument(
        "--work",
        type=Path,
        default=ROOT / "benchmarks" / "work" / "results-pg-runs",
        help="the runs' listings and event dump (--data may be a shared, read-only cache)",
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="the whole upload's statements timed, the longest printed",
    )
    parser.add_argument(
        "--batch-rows",
        type=int,
        help="the whole upload's batches (default UploadOptions'); at 1M, 25000 makes"
        " as many batches as 10M rows do",
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--floor-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], Path(args.child[1]), args.statements, args.batch_rows)
        return
    if args.floor_child:
        floor_child(args.floor_child[0], Path(args.floor_child[1]), Path(args.floor_child[2]))
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {_load():.1f}")
    print(_psql("postgres", "SELECT version()").split(",")[0], flush=True)
    t0 = time.perf_counter()
    if args.setup in ("database", "workbooks"):
        if args.setup == "database":
            make_template(args.db, args.members, args.advisors)
        else:
            make_workbooks(args.data, args.members, args.advisors, args.seed)
        return
    template = make_template(args.db, args.members, args.advisors)
    folder = make_workbooks(args.data, args.members, args.advisors, args.seed)
    files = sorted(folder.glob("*.xlsx"))
    print(f"set-up (not timed): {time.perf_counter() - t0:.1f} s", flush=True)
    work = args.work / f"runs-{args.members}-{args.advisors}"
    work.mkdir(parents=True, exist_ok=True)
    if not args.skip_whole:
        whole(args, template, files, work)
    if not args.skip_together:
        together(args, template, files, work)


if __name__ == "__main__":
    main()

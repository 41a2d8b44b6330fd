"""`bench_report.py` on PostgreSQL at a broker's size: 10M assigned clients, 30M events.

    .venv/bin/python benchmarks/bench_report_pg.py                      # build once, then time
    .venv/bin/python benchmarks/bench_report_pg.py --forms advisor week --refresh-runs 0
    .venv/bin/python benchmarks/bench_report_pg.py --explain            # EXPLAIN of the reads

Builds (once, kept in its own database, `--pg`, default `bench_pgreport` on the local
server) a campaign of `--clients` assigned members (plus a 5% control group) over 5,000
advisors in 300 branches and `--events` events, drawn as `bench_report.py` draws them
(seeded numpy) and written with COPY: secondary indexes dropped during the COPY and built
after it, foreign-key triggers off for the build's session only, then ANALYZE.

Then, each in fresh processes: the whole summary and tallies rebuilt from the events
(`stages.refresh`); every report form of `bench_report.FORMS`; for each, the pandas
script of `bench_report.py` over the same database, run under a memory ceiling
(`--pandas-gb`, default 8: the machine is shared) and stopped when it passes it, and a
plain SQL GROUP BY over the events computing the same figures (what an analyst would
write; medians by `percentile_cont`); and one advisor's ~2,000-row result sheet uploaded
into the campaign (a different advisor each run, so no copy of the database is needed:
each run adds 0.02% to it).

Every figure: wall, the client process's CPU, the PostgreSQL server's CPU (the session's
backend and any parallel workers it started, sampled from /proc; needs the server on
this machine, else '-'), and the 1-minute load average. Prints ratios and whether each
target is met; asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from bench_report import (  # noqa: E402
    CAMPAIGN_FILE,
    EDGES,
    FORMS,
    REACHED,
    SLUG,
    SPEEDUP,
    START,
    TZ,
    UPLOAD_SECONDS,
    blank_refused,
    event_story,
    pandas_figures,
    uploaded,
)

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
#: Issue 17's targets on PostgreSQL at 10M: every report form at most 2 s in a fresh
#: process and at least 10x the pandas script (or a plain SQL GROUP BY where pandas cannot
#: hold the data); the whole rebuild in proportion to SQLite's 5 s per 1M members.
REPORT_SECONDS = 2.0
REBUILD_SECONDS_PER_MILLION = 5.0
N_ADVISORS, N_BRANCHES = 5_000, 300
_CHUNK = 2_000_000
_TICK = os.sysconf("SC_CLK_TCK")


def _url(database: str) -> str:
    return f"{PG_SERVER}/{database}"


# --------------------------------------------------------------------------- the build


def _copy(cursor: Any, table: str, frame: Any) -> None:
    """COPY a polars frame into `table` (its columns by name), as CSV in chunks."""
    columns = ", ".join(frame.columns)
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
        for start in range(0, frame.height, _CHUNK):
            buffer = io.BytesIO()
            frame.slice(start, _CHUNK).write_csv(
                buffer, include_header=False, datetime_format="%Y-%m-%d %H:%M:%S%.6f"
            )
            copy.write(buffer.getbuffer())


def _ids(indexes: np.ndarray) -> Any:
    import polars as pl

    return pl.Series(indexes).cast(pl.Utf8).str.zfill(10)


def build(database: str, clients: int, events: int, seed: int = 7) -> None:
    """A campaign with `clients` assigned members and about `events` events, by COPY."""
    import polars as pl
    import psycopg
    from sqlalchemy import create_engine, text

    from reactivate import registry
    from reactivate.db.engine import open_engine

    admin = create_engine(f"postgresql+psycopg://{PG_SERVER.split('://')[1]}/postgres")
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {database}"))
        conn.execute(text(f"CREATE DATABASE {database}"))
    admin.dispose()
    engine = open_engine(_url(database))
    registry.register(engine, CAMPAIGN_FILE)
    engine.dispose()

    rng = np.random.default_rng(seed)
    control = clients // 20
    total = clients + control
    began = time.perf_counter()
    with psycopg.connect(_url(database)) as conn, conn.cursor() as cur:
        cur.execute("SET timezone = 'UTC'")
        cur.execute("SET maintenance_work_mem = '1GB'")
        # the build's own session only: its rows are consistent by construction
        cur.execute("SET session_replication_role = replica")
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN"
            " ('client', 'member', 'event') AND indexname NOT LIKE '%pkey'"
        )
        secondary = cur.fetchall()
        for name, _definition in secondary:
            cur.execute(f"DROP INDEX {name}")
        cur.execute(
            "INSERT INTO meta (key, value) VALUES ('workbook_secret', %s)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (_bench_secret().hex(),),
        )
        campaign_id = cur.execute("SELECT id FROM campaign WHERE slug = %s", (SLUG,)).fetchone()[0]
        now = "2020-06-30 00:00:00"
        branches = [f"营业部{b:03d}" for b in range(N_BRANCHES)]
        cur.executemany(
            "INSERT INTO branch (name, code) VALUES (%s, %s)",
            [(b, f"{i:04d}") for i, b in enumerate(branches)],
        )
        cur.executemany(
            "INSERT INTO advisor (code, name, branch, active, updated_at) VALUES (%s, %s, %s, true, %s)",
            [
                (f"A{a:04d}", f"顾问{a:04d}", branches[a % N_BRANCHES], now)
                for a in range(N_ADVISORS)
            ],
        )
        advisor_of = rng.integers(0, N_ADVISORS, total)
        assets = np.round(rng.lognormal(10, 1.5, total), 2)
        risk = rng.integers(1, 6, total)
        ids = _ids(np.arange(total))
        branch_names = pl.Series(branches)
        _copy(
            cur,
            "client",
            pl.DataFrame(
                {
                    "client_id": ids,
                    "name": "客户" + pl.Series(np.arange(total)).cast(pl.Utf8),
                    "mobile": pl.Series(13800000000 + np.arange(total)).cast(pl.Utf8),
                    "branch": branch_names.gather(advisor_of % N_BRANCHES),
                    "assets": assets,
                    "risk": risk,
                    "updated_at": pl.Series([now] * 1).extend_constant(now, total - 1),
                }
            ),
        )
        print(f"  clients copied: {time.perf_counter() - began:.0f} s", flush=True)
        batch = rng.integers(0, 4, total)
        assigned_at = START + batch * np.timedelta64(7, "D")
        is_control = np.arange(total) >= clients
        advisor_codes = pl.Series([f"A{a:04d}" for a in range(N_ADVISORS)]).gather(advisor_of)
        _copy(
            cur,
            "member",
            pl.DataFrame(
                {
                    "campaign_id": np.full(total, campaign_id),
                    "client_id": ids,
                    "joined_at": pl.Series([now]).extend_constant(now, total - 1),
                    "dnc": rng.random(total) < 0.01,
                    "control": is_control,
                    "advisor_code": pl.Series(advisor_codes).zip_with(
                        pl.Series(~is_control),
                        pl.Series([None], dtype=pl.Utf8).extend_constant(None, total - 1),
                    ),
                    "assigned_at": pl.Series(assigned_at).zip_with(
                        pl.Series(~is_control),
                        pl.Series([None], dtype=pl.Datetime("us")).extend_constant(None, total - 1),
                    ),
                }
            ),
        )
        print(f"  members copied: {time.perf_counter() - began:.0f} s", flush=True)
        next_id = 1

        def add(who: np.ndarray, stage: str, when: Any, value: object, source: Any) -> None:
            nonlocal next_id
            n = who.size
            frame = pl.DataFrame(
                {
                    "id": np.arange(next_id, next_id + n),
                    "campaign_id": np.full(n, campaign_id),
                    "client_id": _ids(who),
                    "stage": pl.Series([stage]).extend_constant(stage, n - 1) if n else [],
                    "value": pl.Series(
                        np.broadcast_to(np.asarray(value, dtype=object), (n,)).tolist(),
                        dtype=pl.Utf8,
                    ),
                    "occurred_at": pl.Series(np.broadcast_to(np.asarray(when), (n,))),
                    "source": pl.Series(
                        np.broadcast_to(np.asarray(source), (n,)).tolist(), dtype=pl.Utf8
                    ),
                    "recorded_by": pl.Series(["bench"]).extend_constant("bench", n - 1)
                    if n
                    else [],
                }
            ).with_columns(recorded_at=pl.col("occurred_at"))
            _copy(cur, "event", frame)
            next_id += n

        n_mistakes = event_story(rng, is_control, assigned_at, events, add)
        first_mistake = next_id - n_mistakes
        print(f"  {next_id - 1:,} events copied: {time.perf_counter() - began:.0f} s", flush=True)
        cur.execute(
            "INSERT INTO event (id, campaign_id, client_id, stage, value, occurred_at, source,"
            " recorded_by, recorded_at, voids_event_id)"
            " SELECT id + %s, campaign_id, client_id, 'void', NULL, recorded_at, 'correct', 'bench',"
            " recorded_at, id FROM event WHERE id >= %s",
            (n_mistakes, first_mistake),
        )
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('event', 'id'), (SELECT MAX(id) FROM event))"
        )
        for name, definition in secondary:
            cur.execute(definition)
            print(f"  {name} built: {time.perf_counter() - began:.0f} s", flush=True)
        conn.commit()
    with psycopg.connect(_url(database), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"  analyzed: {time.perf_counter() - began:.0f} s", flush=True)


def _bench_secret() -> bytes:
    from bench_results import BENCH_SECRET

    return BENCH_SECRET


# --------------------------------------------------------------------------- measuring


class ServerCPU:
    """CPU seconds of this process's PostgreSQL backends and their parallel workers, sampled
    from /proc (a backend's figures vanish with it, so the last sample is kept)."""

    def __init__(self) -> None:
        self.backends: set[int] = set()
        self.last: dict[int, float] = {}
        self.own = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def watch(self, engine: Any) -> None:
        from sqlalchemy import event

        @event.listens_for(engine, "connect")
        def _pid(dbapi_connection: Any, _record: Any) -> None:
            self.backends.add(dbapi_connection.info.backend_pid)

    @staticmethod
    def _cpu(pid: int) -> float | None:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / _TICK

    def _workers(self) -> list[int]:
        found = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                cmdline = Path(entry.path, "cmdline").read_bytes()
            except OSError:
                continue
            if b"parallel worker for PID" in cmdline and any(
                cmdline.rstrip(b"\0 ").endswith(str(b).encode()) for b in self.backends
            ):
                found.append(int(entry.name))
        return found

    def sample(self) -> None:
        for pid in [*self.backends, *self._workers()]:
            cpu = self._cpu(pid)
            if cpu is not None:
                self.last[pid] = cpu

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(0.05)
        self.own = time.thread_time()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return sum(self.last.values())


def _engine(database: str, server: ServerCPU) -> Any:
    from reactivate.db.engine import open_engine

    engine = open_engine(_url(database))
    server.watch(engine)
    return engine


def _child(what: str, database: str, form: dict[str, str], advisor: str) -> None:
    """In the fresh process: import first, then time one run; print it as JSON."""
    server = ServerCPU()
    if what == "pandas":
        _pandas_child(database, form)
        return
    import reactivate.report  # noqa: F401

    if "format" in form:  # written as the command writes it: its module imported too
        import reactivate.cli.report  # noqa: F401
    if what == "upload":
        import fastexcel  # noqa: F401
        import polars  # noqa: F401

        import reactivate.upload  # noqa: F401
    sheet = _upload_sheet(database, advisor) if what == "upload" else None
    from bench_report import written

    def run() -> None:
        if what == "sql":
            import psycopg

            with psycopg.connect(_url(database)) as conn:
                server.backends.add(conn.info.backend_pid)
                conn.execute(sql_figures(form)).fetchall()
            return
        engine = _engine(database, server)
        if what == "refresh":
            from reactivate import registry
            from reactivate.db import stages

            campaign_id = registry.get(engine, SLUG).id
            with engine.begin() as conn:
                stages.refresh(conn, campaign_id)
        elif what == "report":
            written(engine, form)
        elif what == "upload":
            from reactivate.upload import UploadOptions, upload

            assert sheet is not None
            uploaded(upload(engine, SLUG, [sheet], UploadOptions()))
        engine.dispose()

    server.start()
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    server_cpu = server.stop()
    print(json.dumps({"wall": wall, "cpu": cpu - server.own, "server": server_cpu}))


def _upload_sheet(database: str, advisor: str) -> Path:
    """The advisor's result sheet, stamped and filled as `bench_results.py` fills one, the
    rows this campaign would refuse left blank (`bench_report.upload_sheet`: about a
    quarter of them, so the whole sheet was refused and the upload wrote nothing)."""
    import random

    import psycopg
    from bench_results import BENCH_SECRET, write_filled

    sheet = WORK / f"pgreport_{database}_{advisor}.xlsx"
    if not sheet.exists():
        with psycopg.connect(_url(database)) as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT client_id FROM member WHERE advisor_code = %s ORDER BY client_id",
                    (advisor,),
                )
            ]
        filled = sheet.with_suffix(".filling.xlsx")
        write_filled(filled, advisor, ids, BENCH_SECRET, random.Random(3))
        blank_refused(_url(database), filled)
        filled.rename(sheet)
    return sheet


WORK = Path(__file__).resolve().parent / "work"


def _pandas_child(database: str, form: dict[str, str]) -> None:
    """The pandas script of `bench_report.py`, reading PostgreSQL; says how far it got."""
    import pandas  # noqa: F401  (imported before the clock starts, as bench_report.py does)
    import psycopg

    wall, cpu = time.perf_counter(), time.process_time()
    with psycopg.connect(_url(database)) as conn:
        print(json.dumps({"step": "reading members"}), file=sys.stderr, flush=True)
        members = _read(
            conn,
            "SELECT m.client_id, m.advisor_code, m.assigned_at, c.branch, c.risk, c.assets,"
            " c.name, c.mobile FROM member m JOIN client c ON c.client_id = m.client_id"
            " WHERE m.advisor_code IS NOT NULL AND NOT m.control",
        )
        print(
            json.dumps({"step": "reading events", "at": time.perf_counter() - wall}),
            file=sys.stderr,
            flush=True,
        )
        events = _read(
            conn,
            "SELECT id, client_id, stage, value, occurred_at, source, voids_event_id FROM event",
        )
    print(
        json.dumps({"step": "computing", "at": time.perf_counter() - wall}),
        file=sys.stderr,
        flush=True,
    )
    pandas_figures(events, members, form)
    print(
        json.dumps(
            {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "server": None}
        )
    )


def _read(conn: Any, sql: str) -> Any:
    """`read_sql`'s result, read by a server-side cursor in batches (one frame at the end)."""
    import pandas as pd

    frames = []
    with conn.cursor(name="bench") as cur:
        cur.itersize = 500_000
        cur.execute(sql)
        names = None
        while batch := cur.fetchmany(500_000):
            names = names or [d.name for d in cur.description]
            frames.append(pd.DataFrame.from_records(batch, columns=names))
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- plain SQL


_STAGES = ("called", "reached", "wecom_added", "pushed", "converted")


def sql_figures(form: dict[str, str]) -> str:
    """One statement over the events computing what the form reports: per group, clients
    at each stage and median whole days to it (`percentile_cont`); or the passes; or the
    dropped list. Voided events excluded, windows bounded in the campaign's zone."""
    bounds = ""
    if "since" in form:
        bounds += f" AND e.occurred_at >= TIMESTAMP '{form['since']}' AT TIME ZONE '{TZ}'"
    if "until" in form:
        bounds += (
            f" AND e.occurred_at < (DATE '{form['until']}' + 1)::timestamp AT TIME ZONE '{TZ}'"
        )
    unvoided = "NOT EXISTS (SELECT 1 FROM event v WHERE v.voids_event_id = e.id)"
    reached = ", ".join(f"'{d}'" for d in sorted(REACHED))
    if form.get("by") == "attempt":
        return f"""
        WITH calls AS (SELECT DISTINCT e.client_id, e.occurred_at,
                         bool_or(e.value IN ({reached})) OVER (PARTITION BY e.client_id, e.occurred_at) AS ok
                       FROM event e JOIN member m ON m.campaign_id = e.campaign_id AND m.client_id = e.client_id
                       WHERE e.stage = 'call' AND m.advisor_code IS NOT NULL AND NOT m.control AND {unvoided}),
        numbered AS (SELECT client_id, ok,
                       row_number() OVER (PARTITION BY client_id ORDER BY occurred_at) AS n FROM calls),
        per AS (SELECT client_id, MAX(n) AS calls, MIN(n) FILTER (WHERE ok) AS hit FROM numbered GROUP BY client_id)
        SELECT calls, hit, COUNT(*) FROM per GROUP BY calls, hit"""
    firsts = f"""
        SELECT e.client_id,
          MIN(e.occurred_at) FILTER (WHERE e.stage = 'call') AS c1,
          MIN(e.occurred_at) FILTER (WHERE e.stage = 'call' AND e.value IN ({reached})) AS c2,
          MIN(e.occurred_at) FILTER (WHERE e.stage = 'wecom_added') AS c3,
          MIN(e.occurred_at) FILTER (WHERE e.stage = 'pushed') AS c4,
          MIN(e.occurred_at) FILTER (WHERE e.stage = 'converted') AS c5
        FROM event e WHERE e.stage IN ('call', 'wecom_added', 'pushed', 'converted')
          AND {unvoided} {bounds} GROUP BY e.client_id"""
    cumulative = ", ".join(
        f"LEAST({', '.join(f'c{j}' for j in range(i, 6))}) AS {s}" for i, s in enumerate(_STAGES, 1)
    )
    furthest = " ".join(f"WHEN c{j} IS NOT NULL THEN {j}" for j in range(5, 0, -1))
    edges = " ".join(f"WHEN c.assets < {e!r} THEN {i}" for i, e in enumerate(EDGES))
    table = f"""
        SELECT m.client_id, m.advisor_code, m.assigned_at, c.branch, c.risk, c.name, c.mobile,
          CASE WHEN c.assets IS NULL THEN -1 {edges} ELSE {len(EDGES)} END AS asset_band,
          date_trunc('week', m.assigned_at AT TIME ZONE '{TZ}') AS cohort,
          CASE {furthest} ELSE 0 END AS stages_reached, {cumulative}
        FROM member m JOIN client c ON c.client_id = m.client_id
        LEFT JOIN ({firsts}) f ON f.client_id = m.client_id
        WHERE m.advisor_code IS NOT NULL AND NOT m.control"""
    if "dropped" in form:
        before = _STAGES.index(form["dropped"])
        return (
            f"SELECT t.client_id, left(t.name, 1) || '*', left(t.mobile, 3) || '****' || right(t.mobile, 4)"
            f" FROM ({table}) t WHERE stages_reached = {before} ORDER BY advisor_code, client_id"
        )

    def days(stage: str) -> str:
        return f"floor(EXTRACT(EPOCH FROM ({stage} - assigned_at)) / 86400)"

    figures = ", ".join(
        f"COUNT({s}), percentile_cont(0.5) WITHIN GROUP (ORDER BY {days(s)})" for s in _STAGES
    )
    by = form.get("by")
    if by == "week":  # each stage counted in the week it was first reached
        return " UNION ALL ".join(
            f"SELECT '{s}', date_trunc('week', {s} AT TIME ZONE '{TZ}') AS k, COUNT(*),"
            f" percentile_cont(0.5) WITHIN GROUP (ORDER BY {days(s)}) FROM t WHERE {s} IS NOT NULL GROUP BY k"
            for s in _STAGES
        ).join((f"WITH t AS MATERIALIZED ({table}) ", ""))
    key = {
        "advisor": "advisor_code",
        "branch": "branch",
        "risk": "risk",
        "asset_band": "asset_band",
        "cohort": "cohort",
    }.get(by or "", "''")
    return f"SELECT {key} AS k, {figures} FROM ({table}) t GROUP BY k"


# --------------------------------------------------------------------------- running


def _rss_gb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def measure(
    what: str,
    database: str,
    form: dict[str, str],
    runs: int,
    ceiling_gb: float = 0.0,
    advisors: list[str] | None = None,
) -> dict[str, Any]:
    """Medians over `runs` fresh processes: wall, client CPU, server CPU; mean load. With
    `ceiling_gb`, a run whose memory passes it is stopped and reported as such."""
    walls, cpus, servers, loads = [], [], [], []
    for run in range(runs):
        command = [sys.executable, __file__, "--measure", what, "--pg", database]
        command += ["--form", json.dumps(form)]
        if advisors:
            command += ["--advisor", advisors[run % len(advisors)]]
        loads.append(os.getloadavg()[0])
        began = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        peak = 0.0
        while child.poll() is None:
            peak = max(peak, _rss_gb(child.pid))
            if ceiling_gb and peak > ceiling_gb:
                child.kill()
                child.wait()
                err = child.stderr.read() if child.stderr else ""
                steps = [json.loads(x) for x in err.splitlines() if x.startswith('{"step"')]
                return {
                    "stopped": True,
                    "peak_gb": peak,
                    "after": time.perf_counter() - began,
                    "step": steps[-1]["step"] if steps else "starting",
                    "load": (loads[-1] + os.getloadavg()[0]) / 2,
                }
            time.sleep(0.2)
        out, err = child.communicate()
        if child.returncode:
            raise SystemExit(f"{what} {form} failed:\n{err[-3000:]}")
        timing = json.loads(out.strip().splitlines()[-1])
        walls.append(timing["wall"])
        cpus.append(timing["cpu"])
        if timing["server"] is not None:
            servers.append(timing["server"])
        loads.append(os.getloadavg()[0])
    return {
        "wall": statistics.median(walls),
        "cpu": statistics.median(cpus),
        "server": statistics.median(servers) if servers else None,
        "load": statistics.mean(loads),
        "peak_gb": None,
    }


def _vacuum_as_autovacuum_would(database: str) -> None:
    """A rebuild rewrites every summary row, which clears the visibility map: until a
    VACUUM sets it again no read of `client_stage` can be an index-only scan (`--by
    attempt` then read the whole 170 MB table at 1M instead of 7 MB of its index).
    Autovacuum does that VACUUM soon after a rebuild's inserts; where the server runs
    without it (this machine's does), it is done here, and said."""
    import psycopg

    tables = ("client_stage", "stage_tally", "stage_days")
    with psycopg.connect(_url(database), autocommit=True) as conn:
        autovacuum = conn.execute("SHOW autovacuum").fetchone()[0]
        pages, visible = conn.execute(
            "SELECT relpages, relallvisible FROM pg_class WHERE relname = 'client_stage'"
        ).fetchone()
        note = f"client_stage all-visible: {visible:,} of {pages:,} pages; autovacuum {autovacuum}"
        if autovacuum == "off" and visible < 0.9 * pages:
            began = time.perf_counter()
            conn.execute(f"VACUUM {', '.join(tables)}")
            note += f"; VACUUM {', '.join(tables)} as autovacuum would: {time.perf_counter() - began:.1f} s"
    print(note)


def _fmt(m: dict[str, Any]) -> str:
    server = f"{m['server']:.2f}" if m.get("server") is not None else "-"
    return f"{m['wall']:>8.3f}{m['cpu']:>7.2f}{server:>8}{m['load']:>6.1f}"


def explain(database: str) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement each report form runs."""
    from bench_report import _options
    from sqlalchemy import event

    from reactivate.db.dialect import BIG_WORK_MEM
    from reactivate.db.engine import open_engine
    from reactivate.report import build_report

    engine = open_engine(_url(database))
    statements: list[tuple[str, Any]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    import psycopg

    for label, form in FORMS:
        if ARGS.forms and not any(word in label for word in ARGS.forms):
            continue
        statements.clear()
        build_report(engine, SLUG, _options(form))
        print(f"===== {label}: {len(statements)} statements")
        with psycopg.connect(_url(database)) as conn:
            # as the report's own transaction runs (`dialect.tune_big_reads`)
            conn.execute("SET jit = off")
            conn.execute(f"SET work_mem = '{BIG_WORK_MEM}'")
            for statement, parameters in statements:
                head = statement.lstrip().upper()
                if not head.startswith(("SELECT", "WITH", "CREATE TEMPORARY TABLE")):
                    # what a later statement reads (a window's materialized days) made here too
                    if head.startswith(("DROP", "ANALYZE", "CREATE")):
                        conn.execute(statement, parameters)
                    continue
                began = time.perf_counter()
                plan = conn.execute(
                    "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
                ).fetchall()
                took = time.perf_counter() - began
                if took > ARGS.explain_over:
                    print(f"--- {took:.3f} s\n{' '.join(statement.split())[:600]}")
                    print("\n".join(r[0] for r in plan))
            conn.rollback()
    engine.dispose()


ARGS: Any = None


def main() -> None:
    global ARGS
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pg", default="bench_pgreport", help="PostgreSQL database of its own")
    parser.add_argument("--clients", type=int, default=10_000_000)
    parser.add_argument("--events", type=int, default=30_000_000)
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per report")
    parser.add_argument(
        "--sql-runs", type=int, default=1, help="fresh processes per plain SQL (0: skip)"
    )
    parser.add_argument("--pandas-runs", type=int, default=1, help="0: skip the pandas script")
    parser.add_argument("--pandas-gb", type=float, default=8.0, help="memory ceiling of pandas")
    parser.add_argument("--refresh-runs", type=int, default=1, help="whole rebuilds (0: skip)")
    parser.add_argument("--upload-runs", type=int, default=3)
    parser.add_argument("--forms", nargs="*", help="only the report forms whose label has these")
    parser.add_argument("--rebuild", action="store_true", help="build the database again")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN the forms' statements")
    parser.add_argument(
        "--explain-over", type=float, default=0.05, help="plans of statements over s"
    )
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--form", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--advisor", default="A0007", help=argparse.SUPPRESS)
    ARGS = args = parser.parse_args()
    if args.measure:
        _child(args.measure, args.pg, json.loads(args.form), args.advisor)
        return
    WORK.mkdir(exist_ok=True)
    import psycopg

    try:
        with psycopg.connect(_url(args.pg)) as conn:
            built = conn.execute("SELECT COUNT(*) FROM member").fetchone()[0] > 0
    except psycopg.OperationalError:
        built = False
    if args.rebuild or not built:
        began = time.perf_counter()
        print(f"building {args.pg}: {args.clients:,} clients, {args.events:,} events", flush=True)
        build(args.pg, args.clients, args.events)
        print(f"built {args.pg} in {time.perf_counter() - began:.0f} s")
    else:
        print(f"using database {args.pg} as built (--rebuild to make it again)")
    if args.explain:
        explain(args.pg)
        return
    print(f"machine: {os.cpu_count()} CPUs; load average now {os.getloadavg()[0]:.1f}")
    verdicts = []
    with psycopg.connect(_url(args.pg)) as conn:
        members = conn.execute("SELECT COUNT(*) FROM member").fetchone()[0]
        size = conn.execute(
            "SELECT pg_size_pretty(pg_database_size(current_database()))"
        ).fetchone()[0]
        summarised = conn.execute("SELECT COUNT(*) FROM client_stage").fetchone()[0]
        # a week reads about 2 GB of summary and index pages: whether they are in the
        # server's own buffers or copied from the OS cache on every run shows in its time
        memory = ", ".join(
            f"{name} {conn.execute(f'SHOW {name}').fetchone()[0]}"
            for name in ("shared_buffers", "effective_cache_size", "work_mem")
        )
    print(f"server: {memory}")
    if args.refresh_runs or summarised < members:
        m = measure("refresh", args.pg, {}, max(args.refresh_runs, 1))
        per_million = m["wall"] / (members / 1_000_000)
        print(
            f"stages.refresh (summary + tallies from every event): {_fmt(m)}  (wall, CPU, server CPU, load)"
        )
        verdicts.append(
            (
                f"rebuild <= {REBUILD_SECONDS_PER_MILLION:.0f} s per 1M members",
                per_million <= REBUILD_SECONDS_PER_MILLION,
                f"{per_million:.2f} s per 1M ({m['wall']:.1f} s for {members:,})",
            )
        )
    _vacuum_as_autovacuum_would(args.pg)
    with psycopg.connect(_url(args.pg)) as conn:
        n_events = conn.execute("SELECT COUNT(*) FROM event").fetchone()[0]
        n_assigned = conn.execute(
            "SELECT COUNT(*) FROM client_stage WHERE advisor_code IS NOT NULL AND NOT control"
        ).fetchone()[0]
    print(f"{n_assigned:,} assigned clients, {n_events:,} events; database {size}")
    print(f"medians of {args.runs} (reactivate), {args.sql_runs} (plain SQL) fresh processes")
    print(
        f"{'report':<28}{'wall s':>8}{'CPU s':>7}{'srv s':>8}{'load':>6}  |"
        f"{'SQL s':>8}{'CPU s':>7}{'srv s':>8}{'load':>6}{'ratio':>7}  | pandas"
    )
    pandas_done: dict[str, Any] = {}
    for label, form in FORMS:
        if args.forms and not any(word in label for word in args.forms):
            continue
        ours = measure("report", args.pg, form, args.runs)
        if args.sql_runs:
            sql = measure("sql", args.pg, form, args.sql_runs)
        else:  # not measured this run
            sql = {"wall": float("nan"), "cpu": float("nan"), "server": None, "load": float("nan")}
        ratio = sql["wall"] / ours["wall"]
        panda = ""
        if args.pandas_runs:
            # the first attempt tells whether it fits; a stopped one is not tried again
            if pandas_done.get("stopped"):
                panda = "(not tried again: did not fit)"
            else:
                p = measure("pandas", args.pg, form, args.pandas_runs, ceiling_gb=args.pandas_gb)
                pandas_done = p
                if p.get("stopped"):
                    panda = (
                        f"stopped at {p['peak_gb']:.1f} GB after {p['after']:.0f} s"
                        f" ({p['step']}), load {p['load']:.1f}"
                    )
                else:
                    panda = (
                        f"{p['wall']:.1f} s (CPU {p['cpu']:.1f}), {p['wall'] / ours['wall']:.0f}x"
                    )
        print(f"{label:<28}{_fmt(ours)}  |{_fmt(sql)}{ratio:>6.1f}x  | {panda}", flush=True)
        verdicts.append(
            (
                f"{label}: <= {REPORT_SECONDS:.1f} s",
                ours["wall"] <= REPORT_SECONDS,
                f"{ours['wall']:.3f} s (CPU {ours['cpu']:.2f} s, server {ours['server'] or 0:.2f} s)",
            )
        )
        if args.sql_runs:
            verdicts.append(
                (f"{label}: >= {SPEEDUP:.0f}x plain SQL", ratio >= SPEEDUP, f"{ratio:.1f}x")
            )
    if args.upload_runs:
        with psycopg.connect(_url(args.pg)) as conn:  # advisors not uploaded before
            done = conn.execute("SELECT COUNT(*) FROM import_record").fetchone()[0]
        advisors = [f"A{11 + 97 * (done + i) % N_ADVISORS:04d}" for i in range(args.upload_runs)]
        # each run uploads a different advisor's sheet, made before the clock starts
        m = measure("upload", args.pg, {}, args.upload_runs, advisors=advisors)
        print(f"one advisor's sheet (~2,000 rows) uploaded: {_fmt(m)}")
        verdicts.append(
            (
                f"2,000-row sheet into the campaign: <= {UPLOAD_SECONDS} s",
                m["wall"] <= UPLOAD_SECONDS,
                f"{m['wall']:.3f} s (CPU {m['cpu']:.2f} s, server {m['server'] or 0:.2f} s)",
            )
        )
    print("targets:")
    for target, met, measured in verdicts:
        print(f"  {'met   ' if met else 'MISSED'} {target}: {measured}")


if __name__ == "__main__":
    main()

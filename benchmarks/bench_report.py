"""Benchmark of `reactivate report` against the same report computed by a plain pandas script.

    .venv/bin/python benchmarks/bench_report.py
    .venv/bin/python benchmarks/bench_report.py --clients 100000 --events 300000 --rebuild

Builds (once, cached under benchmarks/work/) a SQLite database with 1,000,000 assigned
clients (plus a 5% control group) over 500 advisors in 50 branches and 3,000,000 events:
assignments, calls with dispositions, WeCom adds (self-reported and confirmed), pushes,
conversions, reactivations, call-backs, and voided mistakes. Rows are generated with a
seeded numpy generator and inserted with executemany (no ORM, no per-row commit).

Then it times `stages.refresh` (the per-client summary and the report's tallies rebuilt
from every event), every form of `report` (overall, each `--by`, a window of a week and
of a month, `--dropped`) against a pandas script that reads the same database with
`read_sql` and computes the same figures (medians of whole days included), and one
advisor's 2,000-row result sheet uploaded into the campaign (on a copy of the database).
Every measurement runs in a fresh process (nothing cached in Python between runs; the
machine may be shared, so each is repeated and the median kept), timing wall clock and
the process's CPU; the load average is printed beside each figure. Prints seconds,
ratios and whether each target is met; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from math import nan
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(__file__).resolve().parent / "work"
CAMPAIGN_FILE = ROOT / "campaigns" / "2020h2-dormant.toml"
SLUG = "2020h2-dormant"
START = np.datetime64("2020-07-01T01:00:00", "us")  # 09:00 in Shanghai
DISPOSITIONS = np.array(
    ["connected", "no_answer", "busy", "wrong_number", "refused", "do_not_call", "callback"]
)
REACHED = {"connected", "refused", "do_not_call", "callback"}
#: Issue 17's targets on SQLite: every report form at most 1.0 s in a fresh process (aim
#: 0.4 s) and at least 10x the pandas script; `--dropped` at most 2 s; the whole summary
#: rebuilt in at most 5 s per 1M members; one advisor's sheet uploaded in at most 0.6 s.
REPORT_SECONDS = 1.0
DROPPED_SECONDS = 2.0
REBUILD_SECONDS_PER_MILLION = 5.0
UPLOAD_SECONDS = 0.6
SPEEDUP = 10.0
#: The report forms measured: (label, options).
FORMS: tuple[tuple[str, dict[str, str]], ...] = (
    ("overall", {}),
    ("--by advisor", {"by": "advisor"}),
    ("--by branch", {"by": "branch"}),
    ("--by week", {"by": "week"}),
    ("--by cohort", {"by": "cohort"}),
    ("--by risk", {"by": "risk"}),
    ("--by asset_band", {"by": "asset_band"}),
    ("--by attempt", {"by": "attempt"}),
    ("--since/--until (a week)", {"since": "2020-07-06", "until": "2020-07-12"}),
    ("--since/--until (a month)", {"since": "2020-07-01", "until": "2020-07-31"}),
    (
        "a week --by advisor",
        {"since": "2020-07-06", "until": "2020-07-12", "by": "advisor"},
    ),
    (
        "a month --by branch",
        {"since": "2020-07-01", "until": "2020-07-31", "by": "branch"},
    ),
    ("--dropped wecom_added", {"dropped": "wecom_added"}),
    # the same list as the command writes it (`cli.report.write_report`), to a file: the
    # table (its first 50 clients and the count), and the whole list as CSV and as JSON
    ("--dropped wecom_added, table", {"dropped": "wecom_added", "format": "table"}),
    ("--dropped wecom_added -f csv", {"dropped": "wecom_added", "format": "csv"}),
    ("--dropped wecom_added -f json", {"dropped": "wecom_added", "format": "json"}),
    # a shorter list: the clients added on WeCom and never pushed (about 38,000 at 1M, so
    # a few hundred thousand at 10M, the size the target names)
    ("--dropped pushed -f csv", {"dropped": "pushed", "format": "csv"}),
    ("--dropped pushed -f json", {"dropped": "pushed", "format": "json"}),
)
TZ = "Asia/Shanghai"
EDGES = (10_000.0, 50_000.0, 100_000.0, 500_000.0)


def _stamp(values: np.ndarray) -> np.ndarray:
    """numpy datetimes as the text SQLAlchemy stores in SQLite ('2020-07-01 01:00:00.000000')."""
    return np.char.replace(np.datetime_as_string(values, unit="us"), "T", " ")


#: One kind of event for some clients: add(who, stage, when, value, source), `who` the
#: clients' indexes, each of `when`, `value` and `source` one per client or one for all.
AddEvents = Callable[[np.ndarray, str, Any, object, Any], None]


def event_story(
    rng: np.random.Generator,
    is_control: np.ndarray,
    assigned_at: np.ndarray,
    events: int,
    add: AddEvents,
) -> int:
    """The campaign's evidence, a kind at a time through `add` (the SQLite and PostgreSQL
    builds write it their own way): assignments; calls, 80% of clients called 1-3 times, the
    first answered call making them reached; WeCom adds (self-reported, half confirmed, a few
    with no call: skipped stages); pushes, conversions, reactivations, call-backs; notes up
    to `events`. Last come mistaken calls, one per 100 assigned clients, which the caller
    voids: their count is returned."""
    total = is_control.size
    hour = np.timedelta64(3_600_000_000, "us")
    written = 0

    def added(who: np.ndarray, *rest: Any) -> None:
        nonlocal written
        add(who, *rest)
        written += who.size

    treated = np.flatnonzero(~is_control)
    added(treated, "assigned", assigned_at[treated], None, "assign")
    called = treated[rng.random(treated.size) < 0.8]
    first = assigned_at[called] + (rng.exponential(60, called.size) * hour).astype(
        "timedelta64[us]"
    )
    n_calls = rng.choice([1, 2, 3], called.size, p=[0.5, 0.35, 0.15])
    reached = np.zeros(total, dtype=bool)
    reached_time = np.full(total, START)
    for attempt in range(3):
        who = called[n_calls > attempt]
        when = first[n_calls > attempt] + attempt * 26 * hour
        disp = np.where(
            rng.random(who.size) < 0.33,
            rng.choice(["connected", "refused", "do_not_call", "callback"], who.size),
            rng.choice(["no_answer", "busy", "wrong_number"], who.size),
        )
        added(who, "call", when, disp, "upload")
        newly = np.isin(disp, list(REACHED)) & ~reached[who]
        reached_time[who[newly]] = when[newly]
        reached[who[newly]] = True
    r = np.flatnonzero(reached)
    wecom = r[rng.random(r.size) < 0.30]
    wecom_when = reached_time[wecom] + (rng.exponential(20, wecom.size) * hour).astype(
        "timedelta64[us]"
    )
    added(wecom, "wecom_added", wecom_when, None, "upload")
    confirmed = rng.random(wecom.size) < 0.5
    added(wecom[confirmed], "wecom_added", wecom_when[confirmed] + hour, None, "wecom")
    skipped = treated[rng.random(treated.size) < 0.005]
    added(skipped, "wecom_added", assigned_at[skipped] + 48 * hour, None, "upload")
    is_pushed = rng.random(wecom.size) < 0.7
    pushed, pushed_when = wecom[is_pushed], wecom_when[is_pushed] + 30 * hour
    added(pushed, "pushed", pushed_when, "MMF01", "upload")
    is_converted = rng.random(pushed.size) < 0.6
    added(
        pushed[is_converted], "converted", pushed_when[is_converted] + 70 * hour, "MMF01", "upload"
    )
    react = np.flatnonzero(rng.random(total) < np.where(is_control, 0.03, 0.05))
    added(react, "reactivated", START + 2000 * hour, "2020-09-20", "activity")
    is_cb = rng.random(called.size) < 0.1
    added(called[is_cb], "callback", first[is_cb] + 5 * hour, None, "upload")
    n_mistakes = treated.size // 100
    rest = events - written - 2 * n_mistakes
    if rest > 0:  # fill up with notes, as uploads bring them
        who = treated[rng.integers(0, treated.size, rest)]
        added(who, "note", assigned_at[who] + 10 * hour, "回访", "upload")
    mistakes = called[rng.integers(0, called.size, n_mistakes)]
    added(mistakes, "call", assigned_at[mistakes] + hour, "connected", "upload")
    return n_mistakes


def build(path: Path, clients: int, events: int, seed: int = 7) -> None:
    """A campaign with `clients` assigned members and exactly `events` events."""
    from reactivate import registry
    from reactivate.db.engine import open_engine

    path.unlink(missing_ok=True)
    engine = open_engine(str(path))
    registry.register(engine, CAMPAIGN_FILE)
    engine.dispose()

    rng = np.random.default_rng(seed)
    n_advisors, n_branches = 500, 50
    control = clients // 20
    total = clients + control
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")
    now = "2020-06-30 00:00:00.000000"
    campaign_id = conn.execute("SELECT id FROM campaign WHERE slug = ?", (SLUG,)).fetchone()[0]
    branches = [f"营业部{b:03d}" for b in range(n_branches)]
    conn.executemany(
        "INSERT INTO branch (name, code) VALUES (?, ?)",
        [(b, f"{i:04d}") for i, b in enumerate(branches)],
    )
    conn.executemany(
        "INSERT INTO advisor (code, name, branch, active, updated_at) VALUES (?, ?, ?, 1, ?)",
        [(f"A{a:04d}", f"顾问{a:04d}", branches[a % n_branches], now) for a in range(n_advisors)],
    )
    ids = np.char.add("00", np.char.zfill(np.arange(total).astype(str), 8))
    advisor_of = rng.integers(0, n_advisors, total)
    client_branch = advisor_of % n_branches
    assets = np.round(rng.lognormal(10, 1.5, total), 2)
    risk = rng.integers(1, 6, total)
    conn.executemany(
        "INSERT INTO client (client_id, name, mobile, branch, assets, risk, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        zip(
            ids.tolist(),
            [f"客户{i}" for i in range(total)],
            (13800000000 + np.arange(total)).astype(str).tolist(),
            [branches[b] for b in client_branch.tolist()],
            assets.tolist(),
            risk.tolist(),
            [now] * total,
            strict=True,
        ),
    )
    # four weekly assignment batches; the last 5% are the control group
    batch = rng.integers(0, 4, total)
    assigned_at = START + batch * np.timedelta64(7, "D")
    is_control = np.arange(total) >= clients
    conn.executemany(
        "INSERT INTO member (campaign_id, client_id, joined_at, dnc, control, advisor_code, assigned_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        zip(
            [campaign_id] * total,
            ids.tolist(),
            [now] * total,
            (rng.random(total) < 0.01).astype(int).tolist(),
            is_control.astype(int).tolist(),
            [
                None if c else f"A{a:04d}"
                for a, c in zip(advisor_of.tolist(), is_control.tolist(), strict=True)
            ],
            [
                None if c else s
                for s, c in zip(_stamp(assigned_at).tolist(), is_control.tolist(), strict=True)
            ],
            strict=True,
        ),
    )

    rows: list[tuple[object, ...]] = []

    def add(who: np.ndarray, stage: str, when: Any, value: object, source: Any) -> None:
        sources = np.broadcast_to(np.asarray(source), who.shape).tolist()
        values = np.broadcast_to(np.asarray(value, dtype=object), who.shape).tolist()
        stamps = np.broadcast_to(_stamp(np.asarray(when)), who.shape).tolist()
        for c, w, v, s in zip(who.tolist(), stamps, values, sources, strict=True):
            rows.append((c, stage, v, w, s))

    n_mistakes = event_story(rng, is_control, assigned_at, events, add)
    base = "INSERT INTO event (campaign_id, client_id, stage, value, occurred_at, source, recorded_by, recorded_at"
    conn.executemany(
        base + ") VALUES (?, ?, ?, ?, ?, ?, 'bench', ?)",
        ((campaign_id, ids[c], s, v, w, src, w) for c, s, v, w, src in rows),
    )
    first_mistake = conn.execute("SELECT MAX(id) FROM event").fetchone()[0] - n_mistakes + 1
    conn.execute(
        base
        + ", voids_event_id) SELECT campaign_id, client_id, 'void', NULL, recorded_at, 'correct', 'bench', "
        "recorded_at, id FROM event WHERE id >= ?",
        (first_mistake,),
    )
    conn.commit()
    conn.close()


def refresh(path: Path) -> None:
    """The whole campaign's summary and tallies rebuilt from every event, in one transaction."""
    from reactivate import registry
    from reactivate.db import stages
    from reactivate.db.engine import open_engine

    engine = open_engine(str(path))
    campaign_id = registry.get(engine, SLUG).id
    with engine.begin() as conn:
        stages.refresh(conn, campaign_id)
    engine.dispose()


def _options(form: dict[str, str]) -> Any:
    import datetime as dt

    from reactivate.report import ReportOptions

    dates = {k: dt.date.fromisoformat(v) for k, v in form.items() if k in ("since", "until")}
    rest = {k: v for k, v in form.items() if k not in dates and k != "format"}
    return ReportOptions(**rest, **dates)


def written(engine: Any, form: dict[str, str]) -> None:
    """The report of `form`: built (`build_report`), or, when the form names a format,
    written to a file in it as the `report` command writes it (`write_report`)."""
    if "format" not in form:
        from reactivate.report import build_report

        build_report(engine, SLUG, _options(form))
        return
    from reactivate.cli.report import ReportFormat, write_report

    fmt = ReportFormat(form["format"])
    write_report(engine, SLUG, _options(form), fmt, WORK / f"written.{fmt.value}")


def report(path: Path, form: dict[str, str]) -> None:
    # open_reader, as the `report` command opens a database: on SQLite, Python's sqlite3
    from reactivate.db.engine import open_reader

    engine = open_reader(str(path))
    written(engine, form)
    engine.dispose()


UPLOAD_ADVISOR = "A0007"


def upload_sheet(path: Path) -> Path:
    """One advisor's result sheet, stamped and filled (cached beside the database): the
    workbook `assign` issued them, filled as `bench_results.py` fills one, then the rows
    this campaign would refuse left blank, so that the upload applies (that filler knows
    neither the synthetic clients' assignment times nor their risk: about a quarter of its
    rows were refused, so the upload refused the sheet and wrote nothing)."""
    import random

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_results import BENCH_SECRET, write_filled

    sheet = path.with_name(path.stem + f"_{UPLOAD_ADVISOR}_applies.xlsx")
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('workbook_secret', ?)",
            (BENCH_SECRET.hex(),),
        )
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT client_id FROM member WHERE advisor_code = ? ORDER BY client_id",
                (UPLOAD_ADVISOR,),
            )
        ]
    if not sheet.exists():
        filled = sheet.with_suffix(".filling.xlsx")
        write_filled(filled, UPLOAD_ADVISOR, ids, BENCH_SECRET, random.Random(3))
        blank_refused(str(path), filled)
        filled.rename(sheet)
    return sheet


def blank_refused(db: str, sheet: Path) -> None:
    """Blank the input cells of the rows a dry run of the upload into `db` (a SQLite
    path or a database URL) refuses."""
    import openpyxl

    from reactivate.db.engine import open_engine
    from reactivate.sheets import workbook as wb
    from reactivate.upload import UploadOptions, upload

    engine = open_engine(db)
    refused = {e.row for e in upload(engine, SLUG, [sheet], UploadOptions(dry_run=True)).errors}
    engine.dispose()
    book = openpyxl.load_workbook(sheet)
    calls = book[wb.CALL_SHEET]
    first_input = len(wb.CLIENT_HEADERS) + 1
    for row in refused:
        for col in range(first_input, len(wb.HEADERS) + 1):
            calls.cell(row=row, column=col).value = None
    book.save(sheet)


def upload_once(path: Path, sheet: Path) -> None:
    from reactivate.db.engine import open_engine
    from reactivate.upload import UploadOptions, upload

    engine = open_engine(str(path))
    uploaded(upload(engine, SLUG, [sheet], UploadOptions()))
    engine.dispose()


def uploaded(summary: Any) -> None:
    """Stop unless the upload applied (a refused sheet writes nothing: not what is timed);
    its counts to stderr."""
    if not summary.applied:
        raise SystemExit(f"the sheet was refused: {summary.errors[:3]}")
    print(json.dumps({"uploaded": summary.totals()}), file=sys.stderr)


def measure(what: str, path: Path, form: dict[str, str], runs: int) -> tuple[float, float, float]:
    """Median (wall s, CPU s) of `what` over `runs` fresh processes, and the load average
    (1 min) when they ran; imports not timed."""
    walls, cpus, loads = [], [], []
    for _ in range(runs):
        target = path
        if what == "upload":  # each upload on its own copy of the database
            target = path.with_name("upload_copy.db")
            shutil.copyfile(path, target)
            # on disk before the upload starts: else its commit's fsync of the file (the
            # checkpoint) waits for the copy's gigabyte to be written first
            with target.open("rb") as copied:
                os.fsync(copied.fileno())
        command = [sys.executable, __file__, "--measure", what, "--db", str(target)]
        command += ["--form", json.dumps(form)]
        loads.append(os.getloadavg()[0])
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        timing = json.loads(done.stdout.strip().splitlines()[-1])
        walls.append(timing["wall"])
        cpus.append(timing["cpu"])
        loads.append(os.getloadavg()[0])
    return statistics.median(walls), statistics.median(cpus), statistics.mean(loads)


def _child(what: str, path: Path, form: dict[str, str]) -> None:
    """In the fresh process: import first (start-up is not what is compared), then time
    one run and print it as JSON."""
    if what == "pandas":
        import pandas  # noqa: F401
    else:
        import reactivate.report  # noqa: F401
        from reactivate.db.engine import open_engine

        if "format" in form:  # written as the command writes it: its module imported too
            import reactivate.cli.report  # noqa: F401

        open_engine(str(path)).dispose()  # a database of an older schema is upgraded first
    if what == "upload":
        import fastexcel  # noqa: F401
        import polars  # noqa: F401

        import reactivate.upload  # noqa: F401
    sheet = upload_sheet(path) if what == "upload" else None
    run = {
        "refresh": lambda: refresh(path),
        "report": lambda: report(path, form),
        "pandas": lambda: pandas_report(path, form),
        "upload": lambda: upload_once(path, sheet) if sheet else None,
    }[what]
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))


def pandas_report(path: Path, form: dict[str, str]) -> object:
    """The same figures the plain way: read the events and members with `read_sql`, work
    out each client's first times in pandas, then count and take medians of whole days
    per group (or list the dropped clients, or the dialer's passes)."""
    import pandas as pd

    conn = sqlite3.connect(path)
    events = pd.read_sql(
        "SELECT id, client_id, stage, value, occurred_at, source, voids_event_id FROM event", conn
    )
    members = pd.read_sql(
        "SELECT m.client_id, m.advisor_code, m.assigned_at, c.branch, c.risk, c.assets,"
        " c.name, c.mobile FROM member m JOIN client c ON c.client_id = m.client_id"
        " WHERE m.advisor_code IS NOT NULL AND NOT m.control",
        conn,
    )
    conn.close()
    return pandas_figures(events, members, form)


def pandas_figures(events: Any, members: Any, form: dict[str, str]) -> object:
    """`pandas_report`'s figures from the frames it read (`bench_report_pg.py` reads them
    from PostgreSQL)."""
    import pandas as pd

    voided = set(events["voids_event_id"].dropna().astype(int))
    events = events[(events["stage"] != "void") & ~events["id"].isin(voided)]
    events = events.assign(occurred_at=pd.to_datetime(events["occurred_at"], utc=True))
    if "since" in form or "until" in form:
        since = pd.Timestamp(form.get("since", "1900-01-01"), tz=TZ)
        until = pd.Timestamp(form.get("until", "2999-12-30"), tz=TZ) + pd.Timedelta(days=1)
        events = events[(events["occurred_at"] >= since) & (events["occurred_at"] < until)]
    calls = events["stage"] == "call"
    if form.get("by") == "attempt":
        return _pandas_attempts(events[calls], members)
    marks = {
        "called": calls,
        "reached": calls & events["value"].isin(REACHED),
        "wecom_added": events["stage"] == "wecom_added",
        "pushed": events["stage"] == "pushed",
        "converted": events["stage"] == "converted",
    }
    firsts = pd.DataFrame(
        {
            name: events[mask].groupby("client_id")["occurred_at"].min()
            for name, mask in marks.items()
        }
    )
    table = members.set_index("client_id").join(firsts)
    table["assigned_at"] = pd.to_datetime(table["assigned_at"], utc=True)
    stages_ = list(marks)
    reached = table[stages_].notna()
    table["stages_reached"] = 0
    for i, stage in enumerate(stages_):
        table.loc[reached[stage], "stages_reached"] = i + 1
    for i in range(len(stages_) - 2, -1, -1):  # cumulative: the earliest of this or any later stage
        table[stages_[i]] = table[stages_[i : i + 2]].min(axis=1)
    if "dropped" in form:
        before = stages_.index(form["dropped"])
        out = table[table["stages_reached"] == before].reset_index()
        out["name"] = out["name"].str[0] + "*"
        out["mobile"] = out["mobile"].str[:3] + "****" + out["mobile"].str[-4:]
        return out.sort_values(["advisor_code", "client_id"])[["client_id", "name", "mobile"]]
    for stage in stages_:
        elapsed = (table[stage] - table["assigned_at"]).dt.total_seconds() / 86400
        table[stage + "_days"] = elapsed.apply(lambda d: d // 1 if d == d else d)
    by = form.get("by")
    if by == "week":  # each stage counted in the week it was first reached
        out = {}
        for stage in stages_:
            week = table[stage].dt.tz_convert(TZ).dt.to_period("W").astype(str)
            grouped = table.groupby(week)[stage + "_days"]
            out[stage] = (grouped.count(), grouped.median())
        return out
    keys = {
        "advisor": table["advisor_code"],
        "branch": table["branch"],
        "risk": table["risk"],
        "asset_band": pd.cut(table["assets"], [-float("inf"), *EDGES, float("inf")], right=False),
        "cohort": table["assigned_at"].dt.tz_convert(TZ).dt.to_period("W").astype(str),
    }
    key = keys[by] if by else pd.Series("all", index=table.index)
    grouped = table.groupby(key, observed=True)
    counts = grouped[stages_].count()
    medians = grouped[[s + "_days" for s in stages_]].median()
    return counts.join(medians)


def _pandas_attempts(calls: Any, members: Any) -> Any:
    """The dialer's passes: clients called at least n times, and reached at their n-th call."""
    import pandas as pd

    calls = calls[calls["client_id"].isin(members["client_id"])]
    distinct = calls.drop_duplicates(["client_id", "occurred_at"])
    per_client = distinct.groupby("client_id").size()
    answered = calls[calls["value"].isin(REACHED)].groupby("client_id")["occurred_at"].min()
    joined = distinct.join(answered.rename("answered"), on="client_id")
    order = joined[joined["occurred_at"] <= joined["answered"]].groupby("client_id").size()
    at_least = per_client.value_counts().sort_index(ascending=False).cumsum()
    return pd.DataFrame({"called": at_least, "reached": order.value_counts()})


def _verdict(met: bool) -> str:
    return "met   " if met else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=3_000_000)
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per report")
    parser.add_argument("--pandas-runs", type=int, default=1, help="fresh processes per script")
    parser.add_argument(
        "--refresh-runs",
        type=int,
        default=1,
        help="fresh processes rebuilding the summary (0: the cached database's, as last built)",
    )
    parser.add_argument("--upload-runs", type=int, default=3, help="uploads of one sheet")
    parser.add_argument("--forms", nargs="*", help="only the report forms whose label has these")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached database")
    parser.add_argument(
        "--measure", choices=("refresh", "report", "pandas", "upload"), help=argparse.SUPPRESS
    )
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--form", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        _child(args.measure, args.db, json.loads(args.form))
        return
    WORK.mkdir(exist_ok=True)
    path = WORK / f"report_{args.clients}_{args.events}.db"
    built = args.rebuild or not path.exists()
    if built:
        began = time.perf_counter()
        build(path, args.clients, args.events)
        print(f"built {path.name} in {time.perf_counter() - began:.1f} s")
    else:
        print(f"using cached {path.name} (--rebuild to make it again)")
    print(f"machine: {os.cpu_count()} CPUs; load average now {os.getloadavg()[0]:.1f}")
    verdicts = []
    if args.refresh_runs or built:  # a new database has no summary until it is rebuilt
        wall, cpu, load = measure("refresh", path, {}, max(args.refresh_runs, 1))
        per_million = wall / (args.clients / 1_000_000)
        print(
            f"stages.refresh (summary + tallies from every event): {wall:.2f} s, CPU {cpu:.2f} s, load {load:.1f}"
        )
        verdicts.append(
            (
                f"rebuild <= {REBUILD_SECONDS_PER_MILLION:.0f} s per 1M members",
                per_million <= REBUILD_SECONDS_PER_MILLION,
                f"{per_million:.2f} s per 1M (CPU {cpu / (args.clients / 1_000_000):.2f} s)",
            )
        )
    with sqlite3.connect(path) as conn:
        n_events = conn.execute("SELECT COUNT(*) FROM event").fetchone()[0]
        n_assigned = conn.execute(
            "SELECT COUNT(*) FROM client_stage WHERE advisor_code IS NOT NULL"
        ).fetchone()[0]
    print(f"{n_assigned:,} assigned clients, {n_events:,} events")
    print(f"medians of {args.runs} (reactivate) and {args.pandas_runs} (pandas) fresh processes")
    print(
        f"{'report':<28}{'wall s':>8}{'CPU s':>7}{'load':>6}"
        f"{'pandas s':>10}{'CPU s':>7}{'load':>6}{'ratio':>8}"
    )
    for label, form in FORMS:
        if args.forms and not any(word in label for word in args.forms):
            continue
        ours, ours_cpu, ours_load = measure("report", path, form, args.runs)
        theirs, theirs_cpu, theirs_load = (
            measure("pandas", path, form, args.pandas_runs) if args.pandas_runs else (nan, nan, nan)
        )
        ratio = theirs / ours
        print(
            f"{label:<28}{ours:>8.3f}{ours_cpu:>7.2f}{ours_load:>6.1f}"
            f"{theirs:>10.2f}{theirs_cpu:>7.2f}{theirs_load:>6.1f}{ratio:>7.1f}x",
            flush=True,
        )
        limit = DROPPED_SECONDS if "dropped" in form else REPORT_SECONDS
        verdicts.append(
            (f"{label}: <= {limit:.1f} s", ours <= limit, f"{ours:.3f} s (CPU {ours_cpu:.2f} s)")
        )
        if args.pandas_runs:
            verdicts.append(
                (f"{label}: >= {SPEEDUP:.0f}x the pandas script", ratio >= SPEEDUP, f"{ratio:.1f}x")
            )
    if args.upload_runs:
        wall, cpu, load = measure("upload", path, {}, args.upload_runs)
        sheet = f"one advisor's sheet ({UPLOAD_ADVISOR}, ~2,000 rows) uploaded"
        print(f"{sheet}: {wall:.3f} s, CPU {cpu:.2f} s, load {load:.1f}")
        verdicts.append(
            (
                f"2,000-row sheet into the campaign: <= {UPLOAD_SECONDS} s",
                wall <= UPLOAD_SECONDS,
                f"{wall:.3f} s (CPU {cpu:.2f} s)",
            )
        )
        path.with_name("upload_copy.db").unlink(missing_ok=True)
    print("targets:")
    for target, met, measured in verdicts:
        print(f"  {_verdict(met)} {target}: {measured}")


if __name__ == "__main__":
    main()

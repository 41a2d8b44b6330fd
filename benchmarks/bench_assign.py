"""Benchmark `reactivate assign`: 1,000,000 clients over 500 advisors, end to end, on SQLite.

Prints measured figures (it asserts nothing):
- the split itself (the pure `reactivate.rules.split.split` inside the run), against the
  issue's target of under 10 s;
- the whole assign without workbooks (eligibility query, control draw, split, writing
  assignments and events, refreshing the stage summary);
- the whole assign with workbooks, and so the cost of issuing them, beside bare
  xlsxwriter writing the same cells (`bench_workbooks.write_bare`; target within 1.3x);
- peak RSS of each run (each in a fresh process).

    .venv/bin/python benchmarks/bench_assign.py [--clients 1000000 --advisors 500]

The database (campaign, roster, accounts loaded through `reactivate load`) is built once
under benchmarks/work/ and copied fresh for each run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "work"
SLUG = "2020h2-dormant"


def build(clients: int, advisors: int) -> Path:
    """A database with the campaign, a roster and `clients` dormant accounts loaded."""
    db = WORK / f"assign-{clients}-{advisors}-v2.db"
    if db.exists():
        return db
    from reactivate import registry
    from reactivate.db.engine import open_engine
    from reactivate.demo import synthetic
    from reactivate.load import load_accounts
    from reactivate.roster import load_roster

    WORK.mkdir(parents=True, exist_ok=True)
    branches = synthetic.branches(max(1, advisors // 10))
    # room for everyone: 1M clients over 500 advisors is ~2,000 each
    room = clients // advisors * 2
    roster = [
        dataclasses.replace(a, capacity=room, active=True)
        for a in synthetic.advisors(advisors, branches, seed=1)
    ]
    roster_path = WORK / f"roster-{advisors}.xlsx"
    synthetic.write_roster_xlsx(roster_path, roster)
    accounts = WORK / f"assign-accounts-{clients}.csv"
    synthetic.write_accounts_csv(
        accounts, synthetic.accounts(clients, roster, seed=1, recent_share=0.0)
    )
    building = db.with_suffix(".building")
    building.unlink(missing_ok=True)
    engine = open_engine(str(building))
    campaign = WORK / "assign-campaign.toml"
    campaign.write_text(
        (ROOT / "campaigns" / f"{SLUG}.toml")
        .read_text(encoding="utf-8")
        .replace("max_per_advisor = 400", f"max_per_advisor = {room}"),
        encoding="utf-8",
    )
    registry.register(engine, campaign)
    load_roster(engine, roster_path)
    started = time.perf_counter()
    summary = load_accounts(engine, SLUG, accounts)
    print(
        f"built: {summary.loaded:,} members loaded in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    engine.dispose()
    building.rename(db)
    return db


CHILD = r"""
import datetime as dt, json, resource, sys, time
from pathlib import Path
import reactivate.assign as assignment
from reactivate.assign import AssignOptions, assign
from reactivate.db.engine import open_engine

seconds = {"split": 0.0, "issue": 0.0, "write": 0.0}
def timing(name, function):
    def timed(*args, **kwargs):
        started = time.perf_counter()
        result = function(*args, **kwargs)
        seconds[name] += time.perf_counter() - started
        return result
    return timed
assignment.split_columns = timing("split", assignment.split_columns)
assignment._issue_staged = timing("issue", assignment._issue_staged)
assignment.write_advisor_workbook = timing("write", assignment.write_advisor_workbook)

db, out, workbooks = sys.argv[1], Path(sys.argv[2]), sys.argv[3] == "1"
engine = open_engine(db)
started = time.perf_counter()
options = AssignOptions(  # at the campaign's start: assign refuses a moment outside its dates
    out_dir=out, workbooks=workbooks, assigned_at=dt.datetime(2020, 7, 1, 9)
)
summary = assign(engine, "2020h2-dormant", options)
elapsed = time.perf_counter() - started
print(json.dumps({
    "seconds": elapsed,
    "split_seconds": seconds["split"],
    "issue_seconds": seconds["issue"],
    "write_seconds": seconds["write"],
    "assigned": summary.assigned,
    "workbooks": len(summary.workbooks),
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def run_assign(db: Path, out: Path, workbooks: bool) -> dict[str, float]:
    fresh = WORK / "assign-run.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{fresh}{suffix}").unlink(missing_ok=True)
    shutil.copy(db, fresh)
    shutil.rmtree(out, ignore_errors=True)
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(fresh), str(out), "1" if workbooks else "0"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def bare_workbooks(out: Path) -> float:
    """Bare xlsxwriter writing the same cells as the issued workbooks (read back from them)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_workbooks import write_bare  # noqa: E402

    from reactivate.db.engine import open_engine
    from reactivate.registry import get

    engine = open_engine(str(WORK / "assign-run.db"))
    campaign = get(engine, SLUG)
    from reactivate.assign import _workbook_clients  # the same cells
    from reactivate.sheets.workbook import WorkbookProduct, WorkbookSpec

    products = tuple(WorkbookProduct(p.code, p.name, p.risk) for p in campaign.config.products)
    with engine.begin() as conn:
        rows = conn.exec_driver_sql(
            "SELECT client_id, advisor_code FROM member WHERE advisor_code IS NOT NULL"
            " ORDER BY advisor_code, client_id"
        ).all()
        books: dict[str, list[str]] = {}
        for client_id, code in rows:
            books.setdefault(code, []).append(client_id)
        clients = _workbook_clients(
            conn,
            {c for c, _ in rows},
            campaign.config.asset_edges,
            campaign.config.dormancy.as_of,
            products,
        )
    import datetime as dt

    target = out / "bare"
    target.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for code, ids in books.items():
        spec = WorkbookSpec(
            campaign_slug=SLUG,
            campaign_name=SLUG,
            advisor_code=code,
            advisor_name=code,
            branch="b",
            issue=1,
            issued_at=dt.datetime.now(dt.UTC),
            timezone=campaign.config.timezone,
            dispositions=campaign.config.dispositions,
            products=products,
            clients=tuple(clients[i] for i in ids),
        )
        write_bare(target / f"{code}.xlsx", spec)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--advisors", type=int, default=500)
    args = parser.parse_args()
    db = build(args.clients, args.advisors)
    out = WORK / "assign-out"
    plain = run_assign(db, out, workbooks=False)
    full = run_assign(db, out, workbooks=True)
    bare = bare_workbooks(out)
    issuing = full["issue_seconds"]  # timed inside the run: reading the rows + writing
    print(f"\nassign {plain['assigned']:,} clients over {args.advisors} advisors (SQLite, 2 cores)")
    print(f"{'measure':<44}{'seconds':>10}{'peak MB':>10}")
    print(f"{'split (pure, inside the run)':<44}{plain['split_seconds']:>10.2f}{'':>10}")
    print(f"{'assign, no workbooks':<44}{plain['seconds']:>10.2f}{plain['peak_mb']:>10.0f}")
    print(f"{'assign with workbooks':<44}{full['seconds']:>10.2f}{full['peak_mb']:>10.0f}")
    issuing_label = f"  of which issuing {int(full['workbooks'])} workbooks"
    print(f"{issuing_label:<44}{issuing:>10.2f}")
    print(f"{'    of which writing them (xlsxwriter + stamp)':<44}{full['write_seconds']:>10.2f}")
    print(f"{'bare xlsxwriter, same cells':<44}{bare:>10.2f}")
    print(f"\nsplit under 10 s: {'met' if plain['split_seconds'] < 10 else 'missed'}")
    for label, seconds in (("issuing", issuing), ("writing", full["write_seconds"])):
        ratio = seconds / bare
        verdict = "met" if ratio <= 1.3 else "missed"
        print(f"workbooks {label} vs bare xlsxwriter: {ratio:.2f}x (target 1.3x: {verdict})")


if __name__ == "__main__":
    main()

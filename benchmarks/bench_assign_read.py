"""Time `assign`'s read of the eligible members, and the split, alone (bench_scale.py's
assign_pg times them inside the whole command, with its writes and workbooks).

Reads the campaign that `--pg` holds (loaded as for assign_pg) in one transaction that is
rolled back, so the database is not changed; prints the read's wall, CPU and server CPU
(`bench_scale.ServerCpu`), the split's wall and CPU, what was placed, a digest of the ids
and placements (equal digests: the same split) and the load average. `--before` reads as
the code before the key-order read did: `COLLATE "C"` and the server's sort, JIT on.
Asserts nothing.

    .venv/bin/python benchmarks/bench_assign_read.py --pg bench_assign [--before]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time

from bench_scale import ServerCpu

from reactivate import assign as assignment
from reactivate import registry
from reactivate.db.dialect import tune_big_reads
from reactivate.db.engine import open_engine
from reactivate.rules.split import SplitRules, split_columns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="bench_assign", help="the loaded, unassigned database")
    parser.add_argument("--campaign", default="2020h2-dormant")
    parser.add_argument("--before", action="store_true", help='COLLATE "C" and JIT, as before')
    args = parser.parse_args()
    url = f"postgresql://postgres@127.0.0.1:5432/{args.pg}"
    engine = open_engine(url, create=False, upgrade=False)
    campaign = registry.open_campaign(engine, args.campaign)
    settings = campaign.config.assignment
    rules = SplitRules(
        keep_owner=settings.keep_owner, cross_branch=settings.cross_branch, seed=settings.seed
    )
    if args.before:
        assignment.sorts_by_code_point = lambda conn: False  # type: ignore[assignment]
    with engine.connect() as conn, conn.begin() as transaction:
        assignment.bulk.postgresql_work_mem(conn)
        if not args.before:
            tune_big_reads(conn)
        active = assignment._active_advisors(conn)
        with ServerCpu(args.pg) as server:
            wall, cpu = time.perf_counter(), time.process_time()
            eligible = assignment._read_eligible(conn, campaign.id, active)
            read_wall, read_cpu = time.perf_counter() - wall, time.process_time() - cpu
        seats = assignment._seats(conn, campaign, active)
        wall, cpu = time.perf_counter(), time.process_time()
        result = split_columns(eligible.columns, seats, rules)
        split_wall, split_cpu = time.perf_counter() - wall, time.process_time() - cpu
        transaction.rollback()
    digest = hashlib.sha1(bytes(eligible.ids.text) + bytes(result.placed) + bytes(result.kept))
    placed = sum(1 for i in result.placed if i >= 0)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{'before' if args.before else 'after'}: read wall {read_wall:.1f} s CPU {read_cpu:.1f} s"
        f" server CPU {server.seconds():.1f} s; split wall {split_wall:.1f} s CPU"
        f" {split_cpu:.1f} s; {len(eligible.ids):,} eligible, {placed:,} placed,"
        f" {sum(result.kept):,} kept; sha1 {digest.hexdigest()[:12]}; load {load}"
    )


if __name__ == "__main__":
    main()

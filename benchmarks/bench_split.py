"""Benchmark of the pure split: a million clients over 500 advisors in 50 branches by default.

    .venv/bin/python benchmarks/bench_split.py
    .venv/bin/python benchmarks/bench_split.py --clients 200000 --advisors 100 --branches 10

The input is generated from a seed: lognormal assets (a few rich clients, many small ones),
5% of clients of unknown branch, a third with an active previous owner, capacities varied
around an even share. Prints the time of `split` alone (generation excluded) and its peak
memory; it asserts nothing, the figures go in the README.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reactivate.rules.split import Candidate, Seat, SplitRules, loads, split  # noqa: E402


def generate(
    clients: int, advisors: int, branches: int, seed: int
) -> tuple[list[Candidate], list[Seat]]:
    """A seeded campaign: seats spread over branches, clients with skewed assets."""
    rng = random.Random(seed)
    branch_names = [f"branch-{b:03d}" for b in range(branches)]
    even_share = clients // max(advisors, 1)
    seats = [
        Seat(
            code=f"A{a:05d}",
            branch=branch_names[a % branches],
            # Capacities vary around an even share so that some branches overflow.
            capacity=int(even_share * rng.uniform(0.8, 1.4)),
        )
        for a in range(advisors)
    ]
    codes_by_branch: dict[str, list[str]] = {name: [] for name in branch_names}
    for seat in seats:
        codes_by_branch[seat.branch].append(seat.code)
    candidates = []
    for c in range(clients):
        branch = rng.choice(branch_names)
        owner = rng.choice(codes_by_branch[branch]) if rng.random() < 0.33 else None
        candidates.append(
            Candidate(
                client_id=f"{c:012d}",
                branch=None if rng.random() < 0.05 else branch,
                assets=round(rng.lognormvariate(10, 1.5), 2),
                owner=owner,
            )
        )
    return candidates, seats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1_000_000, help="clients to place")
    parser.add_argument("--advisors", type=int, default=500, help="advisors (seats)")
    parser.add_argument("--branches", type=int, default=50, help="branches the seats are in")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated input")
    parser.add_argument("--cross-branch", action="store_true", help="let clients spill over")
    args = parser.parse_args()

    started = time.perf_counter()
    candidates, seats = generate(args.clients, args.advisors, args.branches, args.seed)
    print(
        f"generated {len(candidates):,} clients, {len(seats)} advisors, "
        f"{args.branches} branches in {time.perf_counter() - started:.1f} s"
    )

    rules = SplitRules(cross_branch=args.cross_branch, seed=args.seed)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = split(candidates, seats, rules)
    elapsed = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    # tracemalloc slows allocation-heavy code down, so the peak is measured on a second run.
    tracemalloc.start()
    split(candidates, seats, rules)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    per_advisor = loads(result.assignments, {c.client_id: c.assets for c in candidates})
    counts = [load.clients for load in per_advisor]
    assets = [load.assets for load in per_advisor]
    means = [load.assets / load.clients for load in per_advisor]
    print(
        f"split: {elapsed:.2f} s; peak memory {peak / 2**20:.0f} MiB (tracemalloc, split only); "
        f"process max RSS {rss_after / 1024:.0f} MiB (was {rss_before / 1024:.0f} MiB before)"
    )
    print(
        f"assigned {len(result.assignments):,} (kept {len(result.kept):,}), "
        f"unassigned {len(result.unassigned):,}; clients per advisor {min(counts)}..{max(counts)}, "
        f"assets per advisor max/min {max(assets) / min(assets):.2f}, "
        f"mean assets per client max/min {max(means) / min(means):.2f}"
    )


if __name__ == "__main__":
    main()

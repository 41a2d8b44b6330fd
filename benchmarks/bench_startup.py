"""What a command costs before it does anything: `--help` and the read commands, each in a
fresh process, on the demo database (350 clients, so the work itself is small).

    .venv/bin/python benchmarks/bench_startup.py                    # ~1 min
    .venv/bin/python benchmarks/bench_startup.py --repeat 21 --realtime   # as root
    .venv/bin/python benchmarks/bench_startup.py --before /tmp/old-tree   # the same, and a
        # checkout of another revision run from the same interpreter, interleaved

The demo database is made once under --work (`reactivate demo`). Every run is
`python -m reactivate ...` in a new process, as the console script starts it, timed from
the parent: wall time by the clock, CPU time as the child's user + system time. The
commands take turns run by run, so every command sees the same machine load; the load
average is printed beside each figure. On a machine other work keeps busy, `--realtime`
(root, Linux) runs each command under the real-time FIFO scheduler, so that it gets a
core whenever it can run: nearer what it costs on a quiet machine, though the other work
still shares the caches and the memory bus. Python's compiled bytecode is written and used, as
in any installed copy (one run of each command first writes it); `--no-bytecode-cache`
measures the other case for our own modules, compiled from source at each start (a copy
of the package without its bytecode, run with PYTHONDONTWRITEBYTECODE), which is what a
checkout pays where that variable is set. Prints medians against the targets and asserts
nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLUG = "2020h2-dormant"

#: (label, arguments, target wall seconds or None). `--help`'s target is what it took
#: before this work (issue 17: "stays as fast as today").
COMMANDS: list[tuple[str, list[str], float | None]] = [
    ("--help", ["--help"], 0.19),
    ("--version", ["--version"], None),
    ("report", ["report", "-c", SLUG], 0.30),
    ("report --by advisor", ["report", "-c", SLUG, "--by", "advisor"], None),
    ("report -f json", ["report", "-c", SLUG, "-f", "json"], None),
    ("campaign list", ["campaign", "list"], None),
    ("client show", ["client", "show", "{client}", "-c", SLUG], None),
    ("followups", ["followups", "-c", SLUG], None),
    ("advisors list", ["advisors", "list"], None),
    ("report, no database there", ["report", "-c", SLUG, "--db", "{missing}"], None),
]


def make_demo(work: Path) -> Path:
    """The demo database under `work`, made once (the sample files are read from the
    repository, so the demo runs from its root)."""
    db = work / "demo" / "demo.db"
    if not db.exists():
        subprocess.run(
            [sys.executable, "-m", "reactivate", "demo", "--out", str(work / "demo")],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    return db


def a_client(db: Path) -> str:
    import sqlite3

    with sqlite3.connect(db) as conn:
        (client_id,) = conn.execute(
            "SELECT client_id FROM member WHERE advisor_code IS NOT NULL LIMIT 1"
        ).fetchone()
    return str(client_id)


def _realtime() -> None:
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))


def run_once(
    argv: list[str], env: dict[str, str], cwd: Path, realtime: bool = False
) -> tuple[float, float, int]:
    """Wall and CPU seconds of one fresh `python -m reactivate ARGV`, and its exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "reactivate", *argv],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_realtime if realtime else None,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=11, help="runs per command")
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "work" / "startup")
    parser.add_argument(
        "--before", type=Path, help="also run the package found in this folder (a checkout)"
    )
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="compile our modules from source at each start, as with PYTHONDONTWRITEBYTECODE",
    )
    parser.add_argument(
        "--realtime", action="store_true", help="run each command under SCHED_FIFO (root)"
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    db = make_demo(args.work)
    fields = {"client": a_client(db), "missing": str(args.work / "no-such.db")}

    env = {k: v for k, v in os.environ.items() if not k.startswith("REACTIVATE_")}
    env.update(REACTIVATE_DB=str(db), REACTIVATE_LANG="en", COLUMNS="100")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    sources = {"now": ROOT}
    if args.before is not None:
        sources["before"] = args.before.resolve()
    copies = Path(tempfile.mkdtemp())
    trees = {}
    for tree, source in sources.items():
        if args.no_bytecode_cache:  # a copy without bytecode, none written
            source = copies / tree
            shutil.copytree(
                sources[tree] / "reactivate",
                source / "reactivate",
                ignore=shutil.ignore_patterns("__pycache__"),
            )
            trees[tree] = {**env, "PYTHONPATH": str(source), "PYTHONDONTWRITEBYTECODE": "1"}
        else:
            trees[tree] = {**env, "PYTHONPATH": str(source)} if tree != "now" else env
    cwd = args.work  # not the repository: `-m` puts the current folder first on the path

    cases = [
        (label, [part.format(**fields) for part in argv], target)
        for label, argv, target in COMMANDS
    ]
    for tree_env in trees.values():  # bytecode written, files in the OS cache
        for _, argv, _ in cases:
            run_once(argv, tree_env, cwd)

    figures: dict[tuple[str, str], list[tuple[float, float]]] = {}
    codes: dict[tuple[str, str], set[int]] = {}
    loads: list[float] = []
    for _ in range(args.repeat):
        for label, argv, _ in cases:
            for tree, tree_env in trees.items():
                wall, cpu, code = run_once(argv, tree_env, cwd, args.realtime)
                figures.setdefault((label, tree), []).append((wall, cpu))
                codes.setdefault((label, tree), set()).add(code)
        loads.append(os.getloadavg()[0])

    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.repeat} runs each, "
        f"our bytecode {'compiled at every start' if args.no_bytecode_cache else 'cached'}, "
        f"{'real-time scheduling' if args.realtime else 'normal scheduling'}; "
        f"1-min load average {min(loads):.2f}-{max(loads):.2f} during the runs"
    )
    print(
        f"{'command':<28} {'tree':<7} {'wall s':>7} {'CPU s':>7} {'wall min-max':>13}"
        f" {'exit':>5} {'target':>7}  met"
    )
    for label, _, target in cases:
        for tree in trees:
            runs = figures[label, tree]
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            spread = f"{min(w for w, _ in runs):.3f}-{max(w for w, _ in runs):.3f}"
            code = ",".join(map(str, sorted(codes[label, tree])))
            goal = f"{target:.2f}" if target is not None else ""
            met = ("yes" if wall <= target else "NO") if target is not None else ""
            print(
                f"{label:<28} {tree:<7} {wall:>7.3f} {cpu:>7.3f} {spread:>13} {code:>5}"
                f" {goal:>7}  {met}"
            )
    shutil.rmtree(copies, ignore_errors=True)


if __name__ == "__main__":
    main()

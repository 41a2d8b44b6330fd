"""Runs reactivate commands over junk files in one process, one JSON line per command.

    python tests/junk_worker.py JOBS.json TEMPLATE.db WORK.db [FIRST_JOB [MEMORY_MB]]

Each job is a command line (a list of arguments, the file among them). Before each
command the work database is the template; after it, the worker reports the exit code,
whether a traceback or a library warning reached the user, the output's `Error:` line,
the process's peak memory (it exits after a job that passed MEMORY_MB) and whether any table but the import log changed.
`START n` goes to stderr before job n so that a crash is blamed on the file that made it.
"""

from __future__ import annotations

import hashlib
import json
import resource
import shutil
import sqlite3
import sys
import time
import traceback
from pathlib import Path


def digest(db: Path) -> str:
    """A hash of every table but the import log (whose record of a refusal is expected)."""
    conn = sqlite3.connect(db)
    try:
        hasher = hashlib.sha256()
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'import_record'"
                " ORDER BY name"
            )
        ]
        for table in tables:
            hasher.update(table.encode())
            for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY 1'):
                hasher.update(repr(row).encode())
        return hasher.hexdigest()
    finally:
        conn.close()


def main() -> None:
    jobs = json.loads(Path(sys.argv[1]).read_text())
    template, work = Path(sys.argv[2]), Path(sys.argv[3])
    first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    memory_mb = int(sys.argv[5]) if len(sys.argv) > 5 else 2048

    from typer.testing import CliRunner

    from reactivate.cli import app

    before = digest(template)
    for number in range(first, len(jobs)):
        args = jobs[number]
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(template, work)
        work.chmod(0o600)  # as reactivate creates its databases: no warning about who can read it
        print(f"START {number}", file=sys.stderr, flush=True)
        started = time.monotonic()
        try:
            result = CliRunner().invoke(app, [*args, "--db", str(work)])
            output, code = result.output, result.exit_code
            crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
            if crashed and result.exc_info is not None:
                output += "".join(traceback.format_exception(*result.exc_info))
        except BaseException:  # the runner itself failed: report it as a crash
            output, code, crashed = traceback.format_exc(), -1, True
        seconds = time.monotonic() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        changed = digest(work) != before
        lines = output.splitlines()
        print(
            json.dumps(
                {
                    "job": number,
                    "exit": code,
                    "traceback": crashed or "Traceback (most recent call last)" in output,
                    "warning": any(
                        "Warning" in line or "falling back to string" in line for line in lines
                    ),
                    "error_line": next((ln for ln in lines if ln.startswith("Error:")), None),
                    "tail": lines[-6:],
                    "seconds": round(seconds, 3),
                    "maxrss_mb": peak_mb,
                    "changed": changed,
                },
                ensure_ascii=False,
            ),
            flush=True,
        )
        if peak_mb > memory_mb:  # the peak cannot come down: start afresh for the next job
            sys.exit(3)


if __name__ == "__main__":
    main()

"""Every command that reads a file, over a corpus of 300+ hostile and broken files.

Each command ends in exit 0 or 1 with one clear message, no traceback and no library
warning, within 30 s and 2 GB; a refused command leaves the database as it was, but for
the import log's record of the refusal. The commands run in a worker process
(tests/junk_worker.py) so that an abort or a runaway allocation is caught and blamed on
the file that caused it, and the worker is started again after it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from helpers import CAMPAIGN_FILE, ROOT
from junk_corpus import make_corpus
from typer.testing import CliRunner

from reactivate.cli import app

pytestmark = pytest.mark.slow

SLUG = "2020h2-dormant"
SECONDS = 30
MEMORY_MB = 2048
READERS = (
    ["load", "{file}", "-c", SLUG],
    ["advisors", "load", "{file}"],
    ["dnc", "load", "{file}"],
    ["activity", "load", "{file}"],
    ["results", "upload", "{file}", "-c", SLUG],
)


def _template(folder: Path) -> Path:
    """A campaign as the README builds it: registered, roster, do-not-call, load, assign."""
    db = folder / "template.db"
    for args in (
        ["campaign", "add", str(CAMPAIGN_FILE)],
        ["advisors", "load", str(ROOT / "data" / "advisors.xlsx")],
        ["dnc", "load", str(ROOT / "data" / "do_not_call.csv")],
        ["load", str(ROOT / "data" / "dormant_accounts.xlsx"), "-c", SLUG],
        ["assign", "-c", SLUG, "--assigned-at", "2020-07-01T09:00", "--out", str(folder / "out")],
    ):
        result = CliRunner().invoke(app, [*args, "--db", str(db)])
        assert result.exit_code == 0, result.output
    return db


def _jobs(files: list[Path]) -> list[list[str]]:
    jobs = []
    for path in files:
        if path.suffix == ".toml":
            jobs.append(["campaign", "add", str(path)])
            continue
        for reader in READERS:
            jobs.append([part.replace("{file}", str(path)) for part in reader])
    return jobs


def _run_all(jobs: list[list[str]], folder: Path, template: Path) -> dict[int, dict[str, Any]]:
    """Run every job; a job whose worker died or stalled gets a record saying so."""
    jobs_file = folder / "jobs.json"
    jobs_file.write_text(json.dumps(jobs, ensure_ascii=False))
    results: dict[int, dict[str, Any]] = {}
    env = {**os.environ, "REACTIVATE_LANG": "en", "COLUMNS": "100"}
    first = 0
    while first < len(jobs):
        stderr_path = folder / f"worker-{first}.err"
        with stderr_path.open("w") as stderr, (folder / f"worker-{first}.out").open("w") as out:
            worker = subprocess.Popen(
                [
                    sys.executable,
                    str(Path(__file__).with_name("junk_worker.py")),
                    str(jobs_file),
                    str(template),
                    str(folder / "work.db"),
                    str(first),
                    str(MEMORY_MB),
                ],
                stdout=out,
                stderr=stderr,
                env=env,
                cwd=folder,
            )
            current, since, stalled = first, time.monotonic(), -1
            while worker.poll() is None:
                time.sleep(0.2)
                started = _started_jobs(stderr_path.read_text(errors="replace"))
                if started and started[-1] != current:
                    current, since = started[-1], time.monotonic()
                if time.monotonic() - since > SECONDS + 30:  # import time and the DB copy
                    worker.kill()
                    worker.wait()
                    stalled = current
        for line in (folder / f"worker-{first}.out").read_text().splitlines():
            record = json.loads(line)
            results[record["job"]] = record
        noise = _noise_by_job(stderr_path.read_text(errors="replace"))
        for job, lines in noise.items():
            results.setdefault(job, {"job": job}).setdefault("stderr", []).extend(lines)
        if worker.returncode == 0:
            break
        last = max(_started_jobs(stderr_path.read_text(errors="replace")), default=first)
        if worker.returncode != 3:  # died inside the last job it started
            died = f"ran over {SECONDS} s" if last == stalled else f"exit {worker.returncode}"
            results[last] = {"job": last, "died": died, "tail": noise.get(last, [])}
        first = last + 1
    return results


def _started_jobs(stderr: str) -> list[int]:
    """The jobs a worker started, from its START lines."""
    return [int(line.split()[1]) for line in stderr.splitlines() if line.startswith("START ")]


def _noise_by_job(stderr: str) -> dict[int, list[str]]:
    """What reached the terminal's stderr outside our own output, by the job running then."""
    noise: dict[int, list[str]] = {}
    job = -1
    for line in stderr.splitlines():
        if line.startswith("START "):
            job = int(line.split()[1])
        elif line.strip():
            noise.setdefault(job, []).append(line)
    return noise


def _problems(job: list[str], record: dict[str, Any] | None) -> list[str]:
    if record is None:
        return ["never ran"]
    if "died" in record:
        return [f"the process died ({record['died']}): {record['tail'][-3:]}"]
    found = []
    if record.get("exit") not in (0, 1):
        found.append(f"exit {record.get('exit')}")
    if record.get("traceback"):
        found.append("a traceback")
    if record.get("warning") or record.get("stderr"):
        found.append(f"library noise: {record.get('stderr', [])[:2]}")
    if record.get("exit") == 1 and not record.get("error_line"):
        found.append("no Error: line")
    if record.get("exit") not in (0, None) and record.get("changed"):
        found.append("refused, but the database changed")
    if record.get("seconds", 0) > SECONDS:
        found.append(f"took {record['seconds']} s")
    return found


def test_every_junk_file_ends_in_one_clear_message(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "junk", good_xlsx=ROOT / "data" / "dormant_accounts.xlsx")
    assert len(corpus) >= 300
    jobs = _jobs(corpus)
    template = _template(tmp_path)
    # two workers, one a core: even jobs and odd jobs, each in its own folder
    halves = [jobs[0::2], jobs[1::2]]
    folders = [tmp_path / "even", tmp_path / "odd"]
    for folder in folders:
        folder.mkdir()
    with ThreadPoolExecutor(2) as pool:
        found = list(pool.map(_run_all, halves, folders, [template] * 2))
    results = {2 * n + half: record for half in (0, 1) for n, record in found[half].items()}
    failures = []
    for number, job in enumerate(jobs):
        record = results.get(number)
        problems = _problems(job, record)
        if record is not None and record.get("maxrss_mb", 0) > MEMORY_MB:
            problems.append(f"peak memory {record['maxrss_mb']} MB")
        if problems:
            name = Path(next(p for p in job if "/" in p)).name
            failures.append(f"{' '.join(job[:2])} {name}: {'; '.join(problems)}")
    assert not failures, f"{len(failures)} of {len(jobs)} commands:\n" + "\n".join(failures)

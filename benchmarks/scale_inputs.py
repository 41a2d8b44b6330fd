"""Seeded inputs for the benchmarks at a broker's size (issue 18), cached under --work.

For N accounts (1,000,000 to build and check, 10,000,000 for the figures):
- `accounts-N.csv`: one UTF-8 CSV with BOM, as head office exports it;
- `xlsx-N/part-KK.xlsx`: the same accounts in ten workbooks of N/10 rows each (Excel
  stops at 1,048,576 rows a sheet, so branches or regions come as separate files);
- `roster-A.xlsx`: A advisors (5,000) in 300 branches, whom the accounts belong to.

Every file is written to a `partial-` name first and renamed when complete, so a killed
run leaves nothing that looks finished.

    .venv/bin/python benchmarks/scale_inputs.py --rows 1000000
    nohup .venv/bin/python benchmarks/scale_inputs.py --rows 10000000 > gen.log &
    .venv/bin/python benchmarks/scale_inputs.py --rows 10000000 --xlsx-only --work DIR
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORK = ROOT / "benchmarks" / "work" / "scale"
SEED = 18
ADVISORS, BRANCHES = 5_000, 300
XLSX_FILES = 10


def roster_path(work: Path) -> Path:
    return work / f"roster-{ADVISORS}.xlsx"


def csv_path(work: Path, rows: int) -> Path:
    return work / f"accounts-{rows}.csv"


def xlsx_folder(work: Path, rows: int) -> Path:
    return work / f"xlsx-{rows}"


def _advisors() -> list[object]:
    from reactivate.demo import synthetic

    return list(synthetic.advisors(ADVISORS, synthetic.branches(BRANCHES), seed=SEED))


def _accounts(rows: int) -> Iterator[object]:
    from reactivate.demo import synthetic

    return synthetic.accounts(rows, _advisors(), seed=SEED)  # type: ignore[arg-type]


def _write(path: Path, write: Callable[[Path], object]) -> None:
    if path.exists():
        return
    print(f"generating {path} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name("partial-" + path.name)
    write(partial)
    partial.replace(path)
    print(f"  {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)


def ensure(
    work: Path, rows: int, *, xlsx: bool = True, csv: bool = True, roster: bool = True
) -> None:
    """Write whichever of the inputs for `rows` accounts are missing: the roster, the CSV
    and the workbooks, each unless told not to."""
    from reactivate.demo import synthetic

    if roster:
        _write(roster_path(work), lambda p: synthetic.write_roster_xlsx(p, _advisors()))  # type: ignore[arg-type]
    if csv:
        _write(csv_path(work, rows), lambda p: synthetic.write_accounts_csv(p, _accounts(rows)))  # type: ignore[arg-type]
    if not xlsx:
        return
    folder = xlsx_folder(work, rows)
    per_file = rows // XLSX_FILES
    if all((folder / f"part-{k:02d}.xlsx").exists() for k in range(XLSX_FILES)):
        return
    stream = _accounts(rows)
    for k in range(XLSX_FILES):
        part = itertools.islice(stream, per_file)
        path = folder / f"part-{k:02d}.xlsx"
        if path.exists():  # a run stopped part-way: its files done are kept, their rows skipped
            for _ in part:
                pass
            continue
        # the sheet's XML written straight into the zip: the cells xlsxwriter writes, ten
        # times faster (6.5 minutes a million rows through xlsxwriter on a loaded machine)
        _write(path, lambda p: synthetic.write_accounts_xlsx_xml(p, part))  # type: ignore[arg-type]  # noqa: B023


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--no-xlsx", action="store_true", help="the CSV and roster only")
    parser.add_argument("--xlsx-only", action="store_true", help="the workbooks only")
    args = parser.parse_args()
    only_xlsx = args.xlsx_only
    ensure(args.work, args.rows, xlsx=not args.no_xlsx, csv=not only_xlsx, roster=not only_xlsx)


if __name__ == "__main__":
    main()

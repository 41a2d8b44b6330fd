"""Rows of plain dicts to CSV (UTF-8 with BOM, so Excel reads Chinese), JSON or xlsx.

Files are written to a temporary name and renamed: never half-written.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from reactivate.privacy import SAFE_XLSX, csv_cell


def write_rows(
    rows: Iterable[dict[str, Any]],
    fmt: str,
    out: Path | None,
    *,
    columns: Sequence[str] | None = None,
    bom: bool = True,
) -> int:
    """Write `rows` as `fmt` (csv | json | xlsx) to `out`, or to stdout when `out` is None.

    A CSV's header is `columns` when given (written even without rows), else the first
    row's keys; `bom=False` leaves out the BOM, for tools rather than Excel.
    """
    if fmt == "xlsx":
        if out is None:
            raise ValueError("xlsx needs a file")
        return _write_xlsx(rows, out)
    with _target(out) as stream:
        if fmt == "json":
            return _write_json(rows, stream)
        return _write_csv(rows, stream, columns, bom)


@contextmanager
def _target(out: Path | None) -> Iterator[IO[str]]:
    if out is None:
        stream = io.TextIOWrapper(
            sys.stdout.buffer, encoding="utf-8", newline="", write_through=True
        )
        try:
            yield stream
        finally:
            stream.detach()
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            yield stream
        os.replace(temp, out)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _write_csv(
    rows: Iterable[dict[str, Any]], stream: IO[str], columns: Sequence[str] | None, bom: bool
) -> int:
    if bom:
        stream.write("\ufeff")
    writer: Any = None
    if columns is not None:
        writer = csv.DictWriter(stream, fieldnames=columns)
        writer.writeheader()
    count = 0
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(stream, fieldnames=list(row))
            writer.writeheader()
        writer.writerow({key: csv_cell(value) for key, value in row.items()})
        count += 1
    return count


def _write_json(rows: Iterable[dict[str, Any]], stream: IO[str]) -> int:
    items = list(rows)
    json.dump(items, stream, ensure_ascii=False, indent=1, default=str)
    stream.write("\n")
    return len(items)


def _write_xlsx(rows: Iterable[dict[str, Any]], out: Path) -> int:
    import xlsxwriter

    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}", suffix=".xlsx")
    os.close(handle)
    count = 0
    try:
        book = xlsxwriter.Workbook(temp, {**SAFE_XLSX, "constant_memory": True})
        sheet = book.add_worksheet("data")
        bold = book.add_format({"bold": True})
        for count, row in enumerate(rows, start=1):
            if count == 1:
                sheet.write_row(0, 0, list(row), bold)
                sheet.freeze_panes(1, 0)
            sheet.write_row(
                count, 0, [v if isinstance(v, int | float | str) else str(v) for v in row.values()]
            )
        book.close()
        os.replace(temp, out)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return count

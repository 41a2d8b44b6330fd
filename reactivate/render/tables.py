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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from reactivate.messages import has, label, t
from reactivate.privacy import SAFE_XLSX, csv_cell

#: Columns whose values are labels (a stage, a call result), and the message prefix of
#: their texts: files for people show them in the user's words; JSON keeps the value.
LABELLED_VALUES = {
    "stage": "value.stage",
    "last_result": "value.disposition",
    "reason": "value.reason",
}


def column_labels(keys: Sequence[str], special: Mapping[str, str] | None = None) -> list[str]:
    """The header of a file for people: each column's `column.KEY` text (the key itself in
    English), or the message `special` names for it."""
    special = special or {}
    return [
        t(special[key]) if key in special else t(f"column.{key}") if has(f"column.{key}") else key
        for key in keys
    ]


def labelled(row: Mapping[str, Any]) -> dict[str, Any]:
    """`row` as a file for people shows it: label values in the user's words, booleans
    as the user's yes and no."""
    out = dict(row)
    for key, value in row.items():
        if key in LABELLED_VALUES and isinstance(value, str) and value:
            out[key] = label(LABELLED_VALUES[key], value)
        elif isinstance(value, bool):
            out[key] = t("value.true" if value else "value.false")
    return out


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
    writer = csv.writer(stream)
    keys = list(columns) if columns is not None else None
    if keys is not None:
        writer.writerow(column_labels(keys))
    count = 0
    for row in rows:
        if keys is None:
            keys = list(row)
            writer.writerow(column_labels(keys))
        shown = labelled(row)
        writer.writerow([csv_cell(shown.get(key, "")) for key in keys])
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
        sheet = book.add_worksheet(t("label.data_sheet"))
        bold = book.add_format({"bold": True})
        for count, row in enumerate(rows, start=1):
            if count == 1:
                sheet.write_row(0, 0, column_labels(list(row)), bold)
                sheet.freeze_panes(1, 0)
            shown = labelled(row).values()
            sheet.write_row(
                count, 0, [v if isinstance(v, int | float | str) else str(v) for v in shown]
            )
        book.close()
        os.replace(temp, out)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return count

"""Rows of plain dicts to CSV (UTF-8 with BOM, so Excel reads Chinese), JSON or xlsx.

Values may be text, numbers, booleans and dates or times (aware times are shown on
their own wall clock). JSON keeps booleans and ISO times, the contract for tools; CSV
writes ISO times and yes/no (是/否) for booleans; xlsx writes date cells with a date
format, yes/no, columns as wide as their content, and pages ready to print.
Files are written to a temporary name and renamed: never half-written.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from reactivate.files import text_written_whole, written_whole
from reactivate.messages import has, label, t
from reactivate.privacy import SAFE_XLSX, csv_cell
from reactivate.sheets import layout

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
    """`row` as a file for people shows it: label values in the user's words (booleans
    become yes and no where a file is written, `yes_no`)."""
    out = dict(row)
    for key, value in row.items():
        if key in LABELLED_VALUES and isinstance(value, str) and value:
            out[key] = label(LABELLED_VALUES[key], value)
    return out


def write_rows(
    rows: Iterable[dict[str, Any]],
    fmt: str,
    out: Path | None,
    *,
    columns: Sequence[str] | None = None,
    bom: bool = True,
    title: str = "",
) -> int:
    """Write `rows` as `fmt` (csv | json | xlsx) to `out`, or to stdout when `out` is None.

    A CSV's header is `columns` when given (written even without rows), else the first
    row's keys; `bom=False` leaves out the BOM, for tools rather than Excel. `title` heads
    every printed page of an xlsx file.
    """
    if fmt == "xlsx":
        if out is None:
            raise ValueError("xlsx needs a file")
        return _write_xlsx(rows, out, title)
    with _text_target(out) as stream:
        if fmt == "json":
            return _write_json(rows, stream)
        return _write_csv(rows, stream, columns, bom)


@contextmanager
def _text_target(out: Path | None) -> Iterator[IO[str]]:
    """A text stream to standard output, or to `out` written whole or not at all (a
    temporary file beside it, moved over it only when the writing ends)."""
    if out is None:
        stream = io.TextIOWrapper(
            sys.stdout.buffer, encoding="utf-8", newline="", write_through=True
        )
        try:
            yield stream
        finally:
            stream.detach()
        return
    with text_written_whole(out) as written:
        yield written


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
        writer.writerow([csv_cell(_csv_value(shown.get(key, ""))) for key in keys])
        count += 1
    return count


def _write_json(rows: Iterable[dict[str, Any]], stream: IO[str]) -> int:
    items = list(rows)
    json.dump(items, stream, ensure_ascii=False, indent=1, default=_json_value)
    stream.write("\n")
    return len(items)


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, dt.datetime | dt.date):
        return _json_value(value)
    return value


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def yes_no(value: bool) -> str:
    """A boolean as people read it in a sheet: yes/no, 是/否."""
    return t("sheet.yes") if value else t("sheet.no")


def _write_xlsx(rows: Iterable[dict[str, Any]], out: Path, title: str) -> int:
    import xlsxwriter

    count = 0
    with written_whole(out, suffix=".xlsx") as temp:
        book = xlsxwriter.Workbook(temp, {**SAFE_XLSX, "constant_memory": True})
        bold = book.add_format({"bold": True, "bottom": 1})
        formats = {
            dt.datetime: book.add_format({"num_format": layout.DATETIME_FORMAT}),
            dt.date: book.add_format({"num_format": layout.DATE_FORMAT}),
        }
        widths = layout.ColumnWidths()
        sheets = [book.add_worksheet(t("label.data_sheet"))]
        per_sheet = layout.SHEET_DATA_ROWS
        for count, row in enumerate(rows, start=1):
            part, at = divmod(count - 1, per_sheet)
            if at == 0:  # a sheet's first row: its header (a list past one goes on)
                if part:
                    sheets.append(book.add_worksheet(layout.sheet_name(sheets[0].name, part + 1)))
                headers = column_labels(list(row))
                sheets[-1].write_row(0, 0, headers, bold)
                widths.see_row(headers)
                sheets[-1].freeze_panes(1, 0)
            for col, value in enumerate(labelled(row).values()):
                _write_cell(sheets[-1], at + 1, col, value, formats)
                widths.see(col, value)
        for sheet in sheets:
            widths.apply(sheet)
            layout.print_ready(sheet, title=title, page=t("sheet.page"))
        book.close()
    return count


def _write_cell(sheet: Any, row: int, col: int, value: Any, formats: dict[Any, Any]) -> None:
    """One value as its cell: text stays text (SAFE_XLSX), times become date cells."""
    if value is None or value == "":
        return
    if isinstance(value, bool):
        sheet.write_string(row, col, yes_no(value))
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value)
    elif isinstance(value, dt.datetime):
        layout.write_time(sheet, row, col, value, formats[dt.datetime])
    elif isinstance(value, dt.date):
        layout.write_time(sheet, row, col, value, formats[dt.date])
    else:
        sheet.write_string(row, col, str(value))

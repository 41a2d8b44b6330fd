"""Read a whole table into columns, for loads of a million rows.

`open_table` finds the header and yields rows as Python lists; cleaning those a cell at a
time costs seconds per million rows. Here the same sheet is read into a polars DataFrame
(polars' own CSV reader; fastexcel, which parses xlsx with the same calamine library
straight into Arrow), so that `sheets.columns` can clean a column at a time.

A fast reader answers only when it reads the file as `open_table` does: the same header,
the same width, every row where Excel shows it, and in a workbook every cell of a column
of one type (a column mixing numbers and text would lose which cell was which). Anything
else returns None, and the caller reads the rows one by one as before.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reactivate.sheets.fields import FieldSpec
from reactivate.sheets.read import Table, header_text, open_table, open_table_head

if TYPE_CHECKING:
    import polars as pl

#: The column holding each row's number as Excel shows it.
ROW = "__row"


def column(index: int) -> str:
    """The frame's name for the table's column at `index`."""
    return f"c{index}"


def open_frame(
    path: Path,
    fields: Sequence[FieldSpec],
    *,
    sheet: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> tuple[Table, pl.DataFrame | None]:
    """`open_table`, and the table's rows as a frame when a fast reader reads them exactly
    (else None: read `Table.rows`)."""
    head = open_table_head(path, fields, sheet=sheet, mapping=mapping)
    if head is not None:
        frame = read_frame(path, head)
        if frame is not None:
            return head, frame
    table = open_table(path, fields, sheet=sheet, mapping=mapping)
    if table.sheet is None:  # CSV, or text saved under an .xls name
        return table, read_frame(path, table)
    return table, None  # a workbook only the row reader reads as it is


def read_frame(path: Path, table: Table) -> pl.DataFrame | None:
    """`table`'s rows as a DataFrame: `ROW`, then `column(i)` for each header position, fully
    blank rows dropped; None when no fast reader reads this file as the row reader does."""
    import polars as pl

    try:
        frame = _read_csv(path, table) if table.sheet is None else _read_xlsx(path, table)
    except (pl.exceptions.PolarsError, OSError, ValueError):
        return None
    if frame is None:
        return None
    width = len(table.headers)
    first = table.header_row + 1
    frame = frame.select(
        pl.int_range(first, first + frame.height, dtype=pl.Int64).alias(ROW),
        *(pl.col(name).alias(column(i)) for i, name in enumerate(frame.columns[:width])),
    )
    blank = [
        pl.col(name).is_null() | (pl.col(name) == "")
        if dtype == pl.String
        else pl.col(name).is_null()
        for name, dtype in frame.schema.items()
        if name != ROW
    ]
    return frame.filter(~pl.all_horizontal(blank))


def _read_csv(path: Path, table: Table) -> pl.DataFrame | None:
    import polars as pl

    if table.encoding is None or table.delimiter is None:
        return None
    source: Path | bytes = path  # polars reads UTF-8 itself (and skips a BOM)
    if table.encoding != "utf-8-sig":  # ...and nothing else
        source = path.read_bytes().decode(table.encoding).encode("utf-8")
    # Start at the header line: it sets the width, as it does for the row reader.
    frame = pl.read_csv(
        source,
        has_header=False,
        skip_rows=table.header_row - 1,
        separator=table.delimiter,
        infer_schema=False,
        truncate_ragged_lines=True,
    )
    # polars skips lines, the csv module counts records (a quoted cell may hold a line
    # break): the header read back tells whether the two agree.
    if frame.height == 0 or frame.width < len(table.headers):
        return None
    header = [header_text(cell) for cell in frame.row(0)[: len(table.headers)]]
    if header != table.headers:
        return None
    return frame.slice(1)


def _read_xlsx(path: Path, table: Table) -> pl.DataFrame | None:
    import fastexcel
    import polars as pl

    # fastexcel warns through `logging` of a column with no value at all (an unfilled 备注)
    # that it reads as text, which is what the row reader does too; with nothing
    # configured, logging's last resort would print that on the user's terminal.
    logging.getLogger("fastexcel").setLevel(logging.ERROR)

    # A column no field reads (a running number, with 合计 under it) is only looked at to
    # tell a label row, where a number and its text are alike: read it as text.
    used = {*table.columns.values(), *table.extra.values()}
    # (by name: in strict mode fastexcel overrides the type of a column it is given by name)
    unused: dict[int | str, Any] = {
        header or f"__UNNAMED__{i}": "string"
        for i, header in enumerate(table.headers)
        if i not in used
    }
    try:
        sheet = fastexcel.read_excel(str(path)).load_sheet(
            table.sheet if table.sheet is not None else 0,
            header_row=table.header_row - 1,  # 0-based, counted from the sheet's first row
            dtype_coercion="strict",  # a column mixing types raises: the row reader takes it
            schema_sample_rows=None,  # every row decides the column's type, not the first 1000
            dtypes=unused or None,
        )
    except fastexcel.FastExcelError:
        return None
    frame = sheet.to_polars()
    if frame.width != len(table.headers):
        return None
    # The header read back (fastexcel names blank headers, and renames repeated ones) tells
    # whether both readers start the columns at the same place.
    for index in used:
        if header_text(frame.columns[index]) != table.headers[index]:
            return None
    # Booleans, times and the like: the parsers know them as the row reader gives them.
    known = (pl.String, pl.Float64, pl.Datetime, pl.Date, pl.Null)
    if not all(isinstance(dtype, known) for dtype in frame.dtypes):
        return None
    return frame

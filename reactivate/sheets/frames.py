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

import functools
import itertools
import logging
from collections.abc import Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reactivate.sheets.fields import FieldSpec
from reactivate.sheets.limits import check_workbook
from reactivate.sheets.read import (
    Table,
    header_text,
    open_csv_head,
    open_table,
    open_table_head,
)

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
    table, batches = open_frames(path, fields, sheet=sheet, mapping=mapping)
    if batches is None:
        return table, None
    import polars as pl

    return table, pl.concat(batches, rechunk=False)


def open_frames(
    path: Path,
    fields: Sequence[FieldSpec],
    *,
    sheet: str | None = None,
    mapping: Mapping[str, str] | None = None,
    batch_rows: int | None = None,
) -> tuple[Table, Iterator[pl.DataFrame] | None]:
    """`open_frame`, the rows in frames of at most about `batch_rows` (all in one when None).

    A CSV file is read a batch at a time, so that its raw cells are never in memory all
    at once; a workbook is parsed whole (the reader has no other way) and handed out in
    slices. Each batch is `read_frame`'s frame for those rows, with their own numbers. The
    first batch is read before this returns, so a file no fast reader reads is told here;
    a later batch may still raise `polars.exceptions.PolarsError` (a line polars cannot
    split further down the file, or bytes that are not UTF-8 past the head that
    `open_csv_head` decoded): the caller then reads the file with the row reader.
    """
    head = open_table_head(path, fields, sheet=sheet, mapping=mapping)
    if head is None:
        head = open_csv_head(path, fields, mapping=mapping)
    if head is not None:
        batches = read_frames(path, head, batch_rows)
        if batches is not None:
            return head, batches
    table = open_table(path, fields, sheet=sheet, mapping=mapping)
    if table.sheet is None:  # CSV, or text saved under an .xls name
        return table, read_frames(path, table, batch_rows)
    return table, None  # a workbook only the row reader reads as it is


#: Unpacked bytes of the workbooks being parsed ahead at once (their parts' sizes, as the
#: zip declares them): fastexcel holds a sheet's every cell while it parses (about 1.1 GB
#: for a million rows of 12 columns, 607 MB unpacked), so two such sheets are never
#: parsed at the same time; ten sheets of 100k rows are parsed two at a time.
AHEAD_BYTES = 1 << 30
#: Threads parsing workbooks ahead: the machine's second core, while the first cleans.
AHEAD_THREADS = 2


def open_each_frames(
    paths: Sequence[Path],
    fields: Sequence[FieldSpec],
    *,
    sheet: str | None = None,
    mapping: Mapping[str, str] | None = None,
    batch_rows: int | None = None,
) -> Generator[tuple[Path, Table, Iterator[pl.DataFrame] | None], None, None]:
    """`open_frames` of each path in turn, the next workbooks opened and parsed ahead on
    threads while the caller cleans the current one (fastexcel parses without holding the
    GIL); at most `AHEAD_BYTES` of them unpacked at once, however many. A CSV file is opened
    only when its turn comes (its batches are read as the caller takes them). An error
    opening a file is raised at that file's turn, as `open_frames` would (the check of a
    workbook's size, `limits.check_workbook`, runs ahead of its turn: it unpacks a chunk
    at a time)."""
    import concurrent.futures
    import threading

    budget = threading.Condition()
    in_flight = [0]
    held: dict[int, int] = {}  # file index -> unpacked bytes its parse holds of the budget
    turn = [0]  # the budget goes to the workbooks in file order, the caller's next first
    closing = threading.Event()  # the caller stopped early: what waits gives up

    def opened(index: int, size: int, ticket: int) -> tuple[Table, Iterator[pl.DataFrame] | None]:
        path = paths[index]

        def may_start() -> bool:
            fits = in_flight[0] == 0 or in_flight[0] + size <= AHEAD_BYTES
            return closing.is_set() or (turn[0] == ticket and fits)

        if path.suffix.lower() in {".xlsx", ".xlsm"}:
            # a pass over the unpacked sheet in small chunks (`limits`): done before the
            # turn, while the workbook before is parsed; the reader's own check is then free
            check_workbook(path, str(path))
        with budget:
            budget.wait_for(may_start)
            if closing.is_set():
                raise concurrent.futures.CancelledError
            in_flight[0] += size
            held[index] = size
            turn[0] += 1
            budget.notify_all()
        return open_frames(path, fields, sheet=sheet, mapping=mapping, batch_rows=batch_rows)

    def done(index: int) -> None:
        with budget:
            in_flight[0] -= held.pop(index, 0)
            budget.notify_all()

    sizes = [_unpacked_size(path) for path in paths]
    pool = concurrent.futures.ThreadPoolExecutor(AHEAD_THREADS, thread_name_prefix="open-ahead")
    ahead: dict[int, concurrent.futures.Future[tuple[Table, Iterator[pl.DataFrame] | None]]] = {}
    tickets = 0
    try:
        for index, path in enumerate(paths):
            for later in range(index, min(index + 1 + AHEAD_THREADS, len(paths))):
                if later not in ahead and sizes[later] is not None:
                    ahead[later] = pool.submit(opened, later, sizes[later] or 0, tickets)
                    tickets += 1
            future = ahead.pop(index, None)
            if future is None:
                table, batches = open_frames(
                    path, fields, sheet=sheet, mapping=mapping, batch_rows=batch_rows
                )
            else:
                try:
                    table, batches = future.result()
                finally:  # the frame is the caller's now: the next may be parsed
                    done(index)
            yield path, table, batches
    finally:
        with budget:
            closing.set()
            budget.notify_all()
        pool.shutdown(wait=True, cancel_futures=True)


def _unpacked_size(path: Path) -> int | None:
    """What a workbook unpacks to, as its zip declares (an .xls file: its size); None for
    a file not parsed ahead (CSV, or a file that is not a workbook's zip)."""
    import zipfile

    suffix = path.suffix.lower()
    if suffix == ".xls":
        try:
            return path.stat().st_size
        except OSError:
            return None
    if suffix not in {".xlsx", ".xlsm"}:
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, EOFError):
        return None  # opened at its turn, where the reader says what it is


def read_frame(path: Path, table: Table) -> pl.DataFrame | None:
    """`table`'s rows as a DataFrame: `ROW`, then `column(i)` for each header position, fully
    blank rows dropped; None when no fast reader reads this file as the row reader does."""
    batches = read_frames(path, table, None)
    if batches is None:
        return None
    import polars as pl

    return pl.concat(batches, rechunk=False)


def read_frames(path: Path, table: Table, batch_rows: int | None) -> Iterator[pl.DataFrame] | None:
    """`read_frame` in batches of at most about `batch_rows` rows (see `open_frames`)."""
    import polars as pl

    raw: Iterator[pl.DataFrame] | None
    try:
        if table.sheet is None:
            raw = _read_csv(path, table, batch_rows)
        else:
            whole = _read_xlsx(path, table)
            raw = None if whole is None else _slices(whole, batch_rows)
        if raw is None:
            return None
        first = next(raw, None)
    except (pl.exceptions.PolarsError, OSError, ValueError):
        return None
    if first is None:
        return None
    return _shaped(table, itertools.chain([first], raw))


def _slices(frame: pl.DataFrame, batch_rows: int | None) -> Iterator[pl.DataFrame]:
    size = batch_rows or max(frame.height, 1)
    for start in range(0, max(frame.height, 1), size):
        yield frame.slice(start, size)


def _shaped(table: Table, raw: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """Each raw batch numbered from the row after the header on, in the table's columns,
    fully blank rows dropped."""
    import polars as pl

    width = len(table.headers)
    first = table.header_row + 1
    for frame in raw:
        numbered = frame.select(
            pl.int_range(first, first + frame.height, dtype=pl.Int64).alias(ROW),
            *(pl.col(name).alias(column(i)) for i, name in enumerate(frame.columns[:width])),
        )
        first += frame.height
        # fastexcel types a column without a value (every column of a header-only sheet) as
        # Null, which compares with nothing: as text, a blank column is just blank.
        numbered = numbered.with_columns(pl.col(pl.Null).cast(pl.String))
        blank = [
            pl.col(name).is_null() | (pl.col(name) == "")
            if dtype == pl.String
            else pl.col(name).is_null()
            for name, dtype in numbered.schema.items()
            if name != ROW
        ]
        yield numbered.filter(~pl.all_horizontal(blank))


def _read_csv(path: Path, table: Table, batch_rows: int | None) -> Iterator[pl.DataFrame] | None:
    import polars as pl

    if table.encoding is None or table.delimiter is None:
        return None
    source: Path | bytes = path  # polars reads UTF-8 itself (and skips a BOM)
    if table.encoding != "utf-8-sig":  # ...and nothing else
        source = path.read_bytes().decode(table.encoding).encode("utf-8")
    # Start at the header line: it sets the width, as it does for the row reader.
    options: dict[str, Any] = {
        "has_header": False,
        "skip_rows": table.header_row - 1,
        "separator": table.delimiter,
        "infer_schema": False,
        "truncate_ragged_lines": True,
    }
    if batch_rows is None:
        frame = pl.read_csv(source, **options)
    else:  # the header line alone first: the batches then hold data rows only
        frame = pl.read_csv(source, n_rows=1, **options)
    # polars skips lines, the csv module counts records (a quoted cell may hold a line
    # break): the header read back tells whether the two agree.
    if frame.height == 0 or frame.width < len(table.headers):
        return None
    header = [header_text(cell) for cell in frame.row(0)[: len(table.headers)]]
    if header != table.headers:
        return None
    if batch_rows is None:
        return iter([frame.slice(1)])
    # the header line is read again, so that it sets the width as it does above
    lazy = pl.scan_csv(source, **options).slice(1)
    return iter(lazy.collect_batches(chunk_size=batch_rows, engine="streaming"))


#: fastexcel logs (Rust's log, forwarded to Python's logging) a warning for every column
#: it reads without a value ("Could not determine dtype for column 9, falling back to
#: string"), which Python prints to stderr when no handler is set: about 11 a workbook.
#: A column without a value is what a blank column is; nothing for the user to see.
_FASTEXCEL_LOG = "fastexcel"


def _read_xlsx(path: Path, table: Table) -> pl.DataFrame | None:
    import fastexcel
    import polars as pl

    logging.getLogger(_FASTEXCEL_LOG).setLevel(logging.ERROR)

    # A column no field reads (a running number, with 合计 under it) is only looked at to
    # tell a label row, where a number and its text are alike: read it as text.
    used = {*table.columns.values(), *table.extra.values()}
    # (by name: in strict mode fastexcel overrides the type of a column it is given by name)
    unused: dict[int | str, Any] = {
        header or f"__UNNAMED__{i}": "string"
        for i, header in enumerate(table.headers)
        if i not in used
    }
    check_workbook(path, table.file)
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
    del sheet  # the parsed cells, freed here...
    if frame.height >= GIVE_BACK_ROWS:
        _give_back_freed()  # ...and handed back to the system
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


#: Rows of a sheet from which its parsed cells, once freed, are handed back to the system
#: (about 100 MB parsed); below, what the next sheet's parse takes from the heap first.
GIVE_BACK_ROWS = 100_000


def _give_back_freed() -> None:
    """Return the C heap's free pages to the system (glibc's `malloc_trim`; elsewhere
    nothing). fastexcel frees a sheet's parsed cells (about 1 GB a million rows) in the
    arena of the thread that parsed it, and glibc keeps about half of that there: a sheet
    parsed next on the other thread would hold its own on top of it (1M rows: 557 ->
    350 MB held after the parse, about 1 s)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    import ctypes

    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, musl), or Windows
        return None

"""Reading an upload's files into cleaned rows, not yet checked.

The files named (`upload_files`: folders expanded, `expand`), their stamps read and
verified (`read_stamps`), each file opened a few ahead on two threads (`Opened`), and
their rows cleaned (`read_all`): a column at a time where a fast reader reads a file
exactly, files alike together, else a row at a time by the row reader (`_RowReader`),
which stays the definition of a clean row. A workbook whose rows name clients its stamp
did not issue is refused whole (`_refuse_strays`).
"""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reactivate.errors import InputError, Rejection
from reactivate.messages import t
from reactivate.sheets import values
from reactivate.sheets import values_columns as columns
from reactivate.sheets.clean import RowCleaner, remembered
from reactivate.sheets.fields import RESULT_FIELDS
from reactivate.sheets.frames import ROW, column, open_frame
from reactivate.sheets.read import (
    CSV_SUFFIXES,
    EXCEL_SUFFIXES,
    Table,
    is_label,
    open_table,
    sha256_of,
)
from reactivate.sheets.values import BadValue
from reactivate.sheets.values_columns import as_cell
from reactivate.sheets.workbook import CALL_SHEET, Stamp, read_stamp
from reactivate.upload import columns as rc
from reactivate.upload.model import (
    FIELD_NAMES,
    INPUT_FIELDS,
    PARSERS,
    READING,
    FileSummary,
    Progress,
    UploadFile,
)

if TYPE_CHECKING:
    import polars as pl

_REPEATED_TEXT = frozenset({"advisor", "call_result", "wecom_added", "product", "converted"})


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files as given, folders as the spreadsheets inside them (recursively), in name order.

    Reject files this command wrote and Office lock files are left out.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = [
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and p.suffix.lower() in EXCEL_SUFFIXES | CSV_SUFFIXES
                and not p.name.startswith(("~$", "."))
                and not p.name.endswith(".rejects.csv")
            ]
            if not inside:
                raise InputError(t("error.no_result_files", path=path))
            found.extend(inside)
        else:
            found.append(path)
    unique: dict[Path, Path] = {}  # the same file named twice is read once, as first named
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def upload_files(paths: Iterable[Path]) -> list[UploadFile]:
    """The files `paths` name (`expand`), each with its summary; refuses a missing one."""
    return [
        UploadFile(path, FileSummary(file=str(path), sha256=sha256_of(path)))
        for path in expand(paths)
        if _exists(path)
    ]


def _exists(path: Path) -> bool:
    if not path.is_file():
        raise InputError(t("error.file_missing", file=path))
    return True


def read_stamps(files: Iterable[UploadFile], slug: str, valid: Callable[[Stamp], bool]) -> None:
    """Read the stamp of each file and check it with `valid` (`access.stamp_check`); a bad
    one becomes the file's `problem`."""
    for item in files:
        _read_stamp(item, slug, valid)


def _read_stamp(item: UploadFile, slug: str, valid: Callable[[Stamp], bool]) -> None:
    try:
        item.stamp = read_stamp(item.path)
    except InputError as exc:
        if not item.path.is_file():
            raise
        item.problem = str(exc)
    if item.stamp is not None:
        if not valid(item.stamp):
            item.problem = t("reject.stamp_invalid", file=item.path)
        elif item.stamp.campaign != slug:
            item.problem = t("reject.stamp_campaign", other=item.stamp.campaign, campaign=slug)


def _open_rows(item: UploadFile) -> tuple[Table, pl.DataFrame | None]:
    """The table of one file whose stamp was read, and its rows as a frame when a fast
    reader reads them exactly (`sheets.frames`); else None: read `Table.rows`."""
    sheet = CALL_SHEET if item.stamp is not None else None
    if item.problem is None:
        return open_frame(item.path, RESULT_FIELDS, sheet=sheet)
    # every row is rejected: no need for the fast reader
    return open_table(item.path, RESULT_FIELDS, sheet=sheet, display_name=str(item.path)), None


class _RowReader:
    """Cleans the rows of one file a row at a time, as a row reader gives them."""

    def __init__(self, item: UploadFile, table: Table) -> None:
        item.sheet = table.sheet
        item.headers = {name: table.header_of(name) for name in table.columns}
        self.item = item
        self.table = table
        self.cleaner = RowCleaner(table, [(name, PARSERS[name]) for name in FIELD_NAMES])
        # (position, parser, column) of the fields the sheet has; the others stay None.
        self.present = [
            (position, _parser(name), table.columns[name])
            for position, name in enumerate(FIELD_NAMES)
            if name in table.columns
        ]
        self.id_index = table.columns["client_id"]
        self.input_cells = _picker(_input_indexes(table))

    def row(self, number: int, cells: Sequence[object]) -> tuple[Any, ...] | None:
        """The cleaned fields of a row stating something; None for a label row (not
        counted), a row stating nothing, or a rejected one (its error goes to the file)."""
        item, id_index = self.item, self.id_index
        id_text = values.text(cells[id_index])
        if is_label(id_text, cells, id_index):
            return None
        if id_text is None:
            item.summary.rows += 1
            item.errors.append(self.cleaner.reject(number, "client_id", t("reject.no_id")))
            return None
        item.summary.rows += 1
        return self.clean(number, cells)

    def clean(self, number: int, cells: Sequence[object]) -> tuple[Any, ...] | None:
        """`row` for a row with a client id, already counted."""
        item = self.item
        if item.problem is not None:
            item.errors.append(Rejection(str(item.path), item.sheet, number, None, item.problem))
            return None
        # A workbook row nobody filled in states nothing: nothing to check or apply.
        if _BLANKS.issuperset(self.input_cells(cells)):
            return None
        # Blank cells skip the parser: most cells of a worked sheet are blank.
        cleaned: list[Any] = [None] * len(FIELD_NAMES)
        for position, parse, index in self.present:
            cell = cells[index]
            if cell == "" or cell is None:
                continue
            try:
                cleaned[position] = parse(cell)
            except BadValue as problem:
                item.errors.append(self.cleaner.reject(number, FIELD_NAMES[position], str(problem)))
                return None
        return tuple(cleaned)


def _input_indexes(table: Table) -> list[int]:
    """The columns a row states something in: every field but the client id."""
    found = [table.columns[name] for name in INPUT_FIELDS if name in table.columns]
    if "advisor" in table.columns:
        found.append(table.columns["advisor"])
    return found


#: How many files are read ahead of the one being cleaned (fastexcel reads without
#: holding the GIL: a second core reads while the first cleans).
_READ_AHEAD = 4


class Opened:
    """The files of `todo` opened (`_open_rows`) on `pool`'s threads, a few ahead of the
    one taken: reading starts when this is made, so the first files are read while the
    caller does other work (the member lookup)."""

    def __init__(self, pool: ThreadPoolExecutor, todo: Sequence[UploadFile]) -> None:
        self.pool = pool
        self.todo = todo
        self.pending = deque(pool.submit(_open_rows, item) for item in todo[:_READ_AHEAD])

    def take(self, position: int) -> tuple[Table, pl.DataFrame | None]:
        """The file at `position` (taken in order), once read."""
        found = self.pending.popleft().result()
        if position + _READ_AHEAD < len(self.todo):
            self.pending.append(self.pool.submit(_open_rows, self.todo[position + _READ_AHEAD]))
        return found


def read_all(
    todo: Sequence[UploadFile], opened: Opened, progress: Progress | None = None
) -> pl.DataFrame:
    """The rows of every file that state something besides the client, cleaned (not yet
    checked): `FILE`, `ROW`, `STAMP_ADVISOR` and the fields (`rc.field_types`), in file
    and row order. Rows are counted in each file's summary; bad ones go to its errors.

    A file a fast reader reads exactly is cleaned a column at a time, together with the
    other files whose columns have the same types (`_clean_columns`), so a cleaning step
    costs once per upload rather than once per file. Any other file is read a row at a
    time. The files come from `opened`, whose reading the caller began; `progress` is
    told of each one taken.
    """
    import polars as pl

    parts: list[pl.DataFrame] = []
    judged: list[_CleanedRow] = []  # rows the row readers cleaned, of any file
    alike: dict[tuple[Any, ...], list[pl.DataFrame]] = {}  # files' columns by their types
    readers: dict[int, _RowReader] = {}
    for position, item in enumerate(todo):
        table, frame = opened.take(position)
        if progress is not None:
            progress(READING, position + 1, len(todo))
        reader = readers[position] = _RowReader(item, table)
        stamp = item.stamp.advisor if item.stamp is not None else None
        if frame is None:
            rows = table.rows
            found = [(n, row) for n, cells in rows if (row := reader.row(n, cells)) is not None]
            parts.append(_cleaned_frame([(position, stamp, n, row) for n, row in found]))
            continue
        slim = _columns_to_clean(frame, table, reader, position, stamp, judged)
        item.summary.rows += slim.height
        alike.setdefault(tuple(slim.schema.items()), []).append(slim)
    while alike:  # each group's frames are let go as soon as they are cleaned
        _types, frames = alike.popitem()
        parts.append(_clean_columns(pl.concat(frames), readers, judged))
        del frames
    if judged:
        parts.append(_cleaned_frame(judged))
    if not parts:
        return _cleaned_frame([])
    if len(parts) == 1:  # files alike, none judged: in file and row order already
        return _refuse_strays(parts[0], todo)
    return _refuse_strays(pl.concat(parts).sort(rc.FILE, rc.ROW), todo)


def _refuse_strays(rows: pl.DataFrame, todo: Sequence[UploadFile]) -> pl.DataFrame:
    """`rows` less those of the workbooks whose rows name a client their stamp did not
    issue: a stamp copied onto another list, whose rows are nobody's to credit. Every
    row of such a file is rejected (whatever the flags: --allow-foreign is for clients
    moved since the issue), and it becomes the file's `problem`."""
    import polars as pl

    stamped = {
        position: item.stamp
        for position, item in enumerate(todo)
        if item.stamp is not None and item.problem is None
    }
    if not stamped:
        return rows
    issued = pl.concat(
        pl.DataFrame({"client_id": pl.Series(stamp.client_ids, dtype=pl.String)}).select(
            pl.lit(position, pl.Int64).alias(rc.FILE), "client_id"
        )
        for position, stamp in stamped.items()
    )
    strays = (
        rows.filter(pl.col(rc.FILE).is_in(list(stamped)))
        .join(issued, on=[rc.FILE, "client_id"], how="anti", maintain_order="left")
        .group_by(rc.FILE)
        .agg(pl.col("client_id").first(), pl.col("client_id").n_unique().alias("count"))
    )
    if strays.is_empty():
        return rows
    refused = strays[rc.FILE].to_list()
    for position, client_id, count in strays.iter_rows():
        item, stamp = todo[position], stamped[position]
        item.problem = t(
            "reject.stamp_not_issued",
            file=item.path,
            advisor=stamp.advisor,
            issue=stamp.issue,
            client_id=client_id,
            count=count,
        )
    issued_ids = {position: set(stamped[position].client_ids) for position in refused}
    for position, number, client_id in (
        rows.filter(pl.col(rc.FILE).is_in(refused)).select(rc.FILE, rc.ROW, "client_id").iter_rows()
    ):
        item = todo[position]
        column = None if client_id in issued_ids[position] else item.header("client_id")
        item.errors.append(Rejection(str(item.path), item.sheet, number, column, item.problem))
    return rows.filter(~pl.col(rc.FILE).is_in(refused))


def _columns_to_clean(
    frame: pl.DataFrame,
    table: Table,
    reader: _RowReader,
    position: int,
    stamp: str | None,
    judged: list[_CleanedRow],
) -> pl.DataFrame:
    """The rows of a file a fast reader read (`frame`) to clean a column at a time:
    `FILE`, `ROW`, `STAMP_ADVISOR` and the fields as read. The others, whose client id
    may be blank or a label's, go to `reader` (its outcome to `judged`)."""
    import polars as pl

    # Rows whose id may be blank or a label's (合计) are judged whole, as label rows
    # need every cell; an id starting with a digit is neither, and is most of them.
    raw_id = frame[column(table.columns["client_id"])]
    if raw_id.dtype == pl.String:
        maybe_blank = ~raw_id.str.contains("^[0-9]").fill_null(False)
    else:
        maybe_blank = ~(raw_id >= 0).fill_null(False)
    for i in maybe_blank.arg_true().to_list():
        number = frame[ROW][i]
        row = reader.row(number, [as_cell(cell) for cell in frame.row(i)[1:]])
        if row is not None:
            judged.append((position, stamp, number, row))
    return frame.select(
        pl.lit(position, pl.Int64).alias(rc.FILE),
        pl.col(ROW).alias(rc.ROW),
        pl.lit(stamp, pl.String).alias(rc.STAMP_ADVISOR),
        *(pl.col(column(index)).alias(name) for name, index in table.columns.items()),
    ).filter(~maybe_blank)


def _clean_columns(
    raw: pl.DataFrame,
    readers: Mapping[int, _RowReader],
    judged: list[_CleanedRow],
) -> pl.DataFrame:
    """`_RowReader.clean` over the rows of files whose columns have the same types, a
    column at a time, with the same outcome.

    `raw`: `FILE`, `ROW`, `STAMP_ADVISOR`, and each field the files have, as read. Columns
    are cleaned whole (`sheets.columns`); a row with a bad value is handed to its file's
    row reader, which names the first (its outcome goes to `judged` or the file's errors).
    """
    import polars as pl

    types = rc.field_types()
    cleaned: list[pl.Series] = []
    to_judge = pl.repeat(False, raw.height, eager=True)
    for name in FIELD_NAMES:
        if name not in raw.columns:
            cleaned.append(pl.Series(name, [], types[name]).extend_constant(None, raw.height))
            continue
        found = columns.clean(raw[name], PARSERS[name], types[name])
        cleaned.append(found.values.alias(name))
        if found.any_problem():
            to_judge = to_judge | found.problems.is_not_null()
    # A row whose input cells are all blank states nothing (as `_RowReader.clean` finds).
    inputs = [name for name in (*INPUT_FIELDS, "advisor") if name in raw.columns]
    blank = [
        pl.col(name).is_null() | (pl.col(name) == "")
        if raw.schema[name] == pl.String
        else pl.col(name).is_null()
        for name in inputs
    ]
    states = ~raw.select(pl.all_horizontal(blank or [pl.lit(True)])).to_series()
    if to_judge.any():
        fields = [name for name in FIELD_NAMES if name in raw.columns]
        bad = raw.filter(to_judge).select(rc.FILE, rc.STAMP_ADVISOR, rc.ROW, *fields)
        for position, stamp, number, *cells in bad.iter_rows():
            reader = readers[position]
            row: list[object] = [None] * len(reader.table.headers)
            for name, cell in zip(fields, cells, strict=True):
                row[reader.table.columns[name]] = as_cell(cell)
            found_row = reader.clean(number, row)
            if found_row is not None:
                judged.append((position, stamp, number, found_row))
    keep = ~to_judge & states
    return pl.DataFrame([raw[rc.FILE], raw[rc.ROW], raw[rc.STAMP_ADVISOR], *cleaned]).filter(keep)


#: (file's place in the upload, its stamp's advisor, row number, cleaned fields)
_CleanedRow = tuple[int, str | None, int, tuple[Any, ...]]


def _cleaned_frame(rows: Sequence[_CleanedRow]) -> pl.DataFrame:
    """Rows a row reader cleaned, as `read_all` returns them."""
    import polars as pl

    data: dict[str, list[Any]] = {
        rc.FILE: [position for position, _, _, _ in rows],
        rc.STAMP_ADVISOR: [stamp for _, stamp, _, _ in rows],
        rc.ROW: [number for _, _, number, _ in rows],
    }
    for i, name in enumerate(FIELD_NAMES):
        data[name] = [row[i] for _, _, _, row in rows]
    schema = {rc.FILE: pl.Int64, rc.STAMP_ADVISOR: pl.String, rc.ROW: pl.Int64}
    return pl.DataFrame(data, schema=schema | rc.field_types()).select(
        rc.FILE, rc.ROW, rc.STAMP_ADVISOR, *FIELD_NAMES
    )


def _parser(name: str) -> Callable[[object], Any]:
    # Columns that repeat a few spellings down a sheet are parsed once per spelling.
    return remembered(PARSERS[name]) if name in _REPEATED_TEXT else PARSERS[name]


#: What a blank cell holds: '' from calamine and csv, None from other readers.
_BLANKS = frozenset({"", None})


def _picker(indexes: Sequence[int]) -> Callable[[Sequence[object]], tuple[object, ...]]:
    """The cells at `indexes` of a row as a tuple, picked in C (one call per row)."""
    if not indexes:
        return lambda cells: ()
    if len(indexes) == 1:
        only = indexes[0]
        return lambda cells: (cells[only],)
    return operator.itemgetter(*indexes)

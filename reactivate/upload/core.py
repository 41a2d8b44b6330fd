"""`reactivate results ...`: advisors' sheets become stage events; undo and correct void them.

An upload reads every file (two at a time: fastexcel reads without holding the GIL) and
cleans their cells a column at a time, files alike together (`_read_all`); a file only
the row reader reads as it is, is cleaned a row at a time. Every row is then checked
against the campaign and the database: first by column checks that only accept
(`results_columns`), then, for the rows they leave, by the row checker (`_RowChecker`),
where every rule and its message live. The facts accepted rows state are staged in a
temporary table. Memory holds every row's cleaned fields and their clients' columns at
once (the upload's peak: 2.2-2.3 GB at a million rows, measured). Nothing is written
until every row has been checked; then, in one transaction for the whole invocation:

1. take the campaign's write lock (SQLite: the engine's BEGIN IMMEDIATE; PostgreSQL: a
   transaction-level advisory lock), so two uploads at once queue instead of racing
   the duplicate check;
2. record one import per file (applied, refused, dry run or skipped);
3. move the new staged facts into `event` with one INSERT ... SELECT ... WHERE NOT
   EXISTS: the same fact (client, kind, time, value) already present and not voided
   adds nothing, and a fact stated by two rows counts for the first;
4. rebuild `client_stage` for the clients touched.

A fact the sheet gives without a time (a call result with no call time, 是 with no
add time, a note) is timed at its first upload; restating it adds nothing. Uploads only
ever add evidence: a blank or 否 in a later sheet voids nothing. Mistakes are voided
explicitly (`undo`, `correct`), by appending void events.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
import os
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Connection, Engine, text

from reactivate import registry
from reactivate.clock import from_db, local, to_utc, utcnow
from reactivate.db import bulk, dialect, stages
from reactivate.db.import_log import record, who
from reactivate.db.locks import lock_campaign
from reactivate.db.meta import workbook_secret
from reactivate.errors import ConfigError, InputError, Rejection, StateError
from reactivate.messages import t
from reactivate.rules import funnel
from reactivate.rules.campaign import Campaign, Product
from reactivate.sheets import values
from reactivate.sheets import values_columns as columns
from reactivate.sheets.clean import RowCleaner, cyclic_gc_paused, errors_json, remembered
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
from reactivate.sheets.rejects import write_rejects
from reactivate.sheets.values import BadValue
from reactivate.sheets.values_columns import as_cell
from reactivate.sheets.workbook import CALL_SHEET, Stamp, read_stamp, verify_stamp
from reactivate.upload import columns as rc
from reactivate.upload.columns import UNTIMED

if TYPE_CHECKING:
    import polars as pl

#: Import kind in `import_record`.
KIND = "results"
#: Test hook: seconds to sleep inside the write transaction (to kill a process mid-upload).
HOLD_ENV = "REACTIVATE_TEST_HOLD_UPLOAD"

_FIELD_NAMES = tuple(spec.name for spec in RESULT_FIELDS)
_INPUT_FIELDS = tuple(name for name in _FIELD_NAMES if name not in ("client_id", "advisor"))

# Event kinds the funnel stages void from (`correct --stage`), earliest stage first.
_LATER_KINDS = (funnel.EVENT_WECOM, funnel.EVENT_PUSHED, funnel.EVENT_CONVERTED)


# ----------------------------------------------------------------------------- parsing

_DISPOSITION_WORDS: dict[str, str] = {}
for _code, _labels in funnel.DISPOSITION_LABELS.items():
    for _word in (_code, _code.replace("_", " "), _code.replace("_", "-"), *_labels):
        _DISPOSITION_WORDS[values.text(_word).casefold()] = _code  # type: ignore[union-attr]
_DISPOSITION_WORDS.update(
    {"do not call": funnel.DO_NOT_CALL, "no answer": funnel.NO_ANSWER, "call back": funnel.CALLBACK}
)


def disposition(value: object) -> str | None:
    """A call result as its code, from the code or any Chinese label; None when blank.

    >>> disposition("未接"), disposition("Connected"), disposition("预约回电")
    ('no_answer', 'connected', 'callback')
    """
    cleaned = values.text(value)
    if cleaned is None:
        return None
    found = _DISPOSITION_WORDS.get(cleaned.casefold())
    if found is None:
        raise BadValue(t("reject.bad_disposition", value=cleaned, choices=_choices()))
    return found


def _choices() -> str:
    return ", ".join(labels[0] for labels in funnel.DISPOSITION_LABELS.values())


def _attempts(value: object) -> int | None:
    number = values.integer(value)
    if number is not None and number < 0:
        raise BadValue(t("reject.bad_int", value=number))
    return number


_PARSERS: dict[str, Callable[[object], Any]] = {
    "client_id": values.client_id,
    "advisor": values.text,
    "called_at": values.datetime,
    "call_result": disposition,
    "attempts": _attempts,
    "callback_at": values.datetime,
    "wecom_added": values.boolean,
    "wecom_added_at": values.datetime,
    "product": values.text,
    "pushed_at": values.datetime,
    "converted": values.boolean,
    "converted_at": values.datetime,
    "note": values.text,
}
_INDEX = {name: i for i, name in enumerate(_FIELD_NAMES)}
_REPEATED_TEXT = frozenset({"advisor", "call_result", "wecom_added", "product", "converted"})
# A column a sheet lacks is named in messages by its usual Chinese header.
_DEFAULT_HEADERS = {spec.name: spec.aliases[1] for spec in RESULT_FIELDS}


def find_product(campaign: Campaign, named: str) -> Product | None:
    """The product named by code, by name, or by a workbook's 'CODE 名称' dropdown label."""
    found = campaign.product(named)
    if found is None and " " in named.strip():
        found = campaign.product(named.strip().split(" ", 1)[0])
    return found


# ----------------------------------------------------------------------------- summary


@dataclass
class FileSummary:
    """What one file of an upload did. rows = applied + unchanged + rejected."""

    file: str
    sha256: str
    rows: int = 0
    applied: int = 0
    unchanged: int = 0
    rejected: int = 0
    events: int = 0
    foreign: int = 0
    status: str = "pending"  # applied | refused | dry_run | skipped
    import_id: int | None = None
    same_as: int | None = None  # the earlier import of the same file, when skipped
    rejects_path: str | None = None

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "applied": self.applied,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "events": self.events,
            "foreign": self.foreign,
        }


@dataclass
class UploadSummary:
    """What a whole upload did, file by file, with every rejection."""

    campaign: str
    files: list[FileSummary] = field(default_factory=list)
    errors: list[Rejection] = field(default_factory=list)
    dry_run: bool = False
    applied: bool = False

    @property
    def refused(self) -> bool:
        """Rejected rows without --skip-invalid: nothing was written."""
        return bool(self.errors) and not self.applied and not self.dry_run

    def totals(self) -> dict[str, int]:
        out = {"files": len(self.files)}
        for key in ("rows", "applied", "unchanged", "rejected", "events"):
            out[key] = sum(getattr(f, key) for f in self.files)
        return out

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = self.totals()
        data["skipped_files"] = sum(1 for f in self.files if f.status == "skipped")
        data["foreign"] = sum(f.foreign for f in self.files)
        data["dry_run"] = self.dry_run
        data["imports"] = [
            {
                "file": f.file,
                "import_id": f.import_id,
                "status": f.status,
                "same_as": f.same_as,
                "rejects_file": f.rejects_path,
                **f.counts(),
            }
            for f in self.files
        ]
        data["errors"] = errors_json(self.errors)
        return data


@dataclass
class UploadOptions:
    skip_invalid: bool = False
    dry_run: bool = False
    allow_foreign: bool = False
    advisor: str | None = None  # for plain sheets without an advisor column


# ----------------------------------------------------------------------------- reading


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


@dataclass
class _File:
    path: Path
    summary: FileSummary
    sheet: str | None = None
    stamp: Stamp | None = None
    problem: str | None = None  # a reason that rejects every row of the file
    errors: list[Rejection] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # field -> header as the file spells it

    def header(self, field_name: str | None) -> str | None:
        if field_name is None:
            return None
        return self.headers.get(field_name) or _DEFAULT_HEADERS.get(field_name, field_name)


def _read_stamp(item: _File, slug: str, secret: bytes) -> None:
    """Read and verify the stamp of one file; a bad one becomes the file's `problem`."""
    try:
        item.stamp = read_stamp(item.path)
    except InputError as exc:
        if not item.path.is_file():
            raise
        item.problem = str(exc)
    if item.stamp is not None:
        if not verify_stamp(item.stamp, secret):
            item.problem = t("reject.stamp_invalid")
        elif item.stamp.campaign != slug:
            item.problem = t("reject.stamp_campaign", other=item.stamp.campaign, campaign=slug)


def _open_rows(item: _File) -> tuple[Table, pl.DataFrame | None]:
    """The table of one file whose stamp was read, and its rows as a frame when a fast
    reader reads them exactly (`sheets.frames`); else None: read `Table.rows`."""
    sheet = CALL_SHEET if item.stamp is not None else None
    if item.problem is None:
        return open_frame(item.path, RESULT_FIELDS, sheet=sheet)
    # every row is rejected: no need for the fast reader
    return open_table(item.path, RESULT_FIELDS, sheet=sheet, display_name=str(item.path)), None


class _RowReader:
    """Cleans the rows of one file a row at a time, as a row reader gives them."""

    def __init__(self, item: _File, table: Table) -> None:
        item.sheet = table.sheet
        item.headers = {name: table.header_of(name) for name in table.columns}
        self.item = item
        self.table = table
        self.cleaner = RowCleaner(table, [(name, _PARSERS[name]) for name in _FIELD_NAMES])
        # (position, parser, column) of the fields the sheet has; the others stay None.
        self.present = [
            (position, _parser(name), table.columns[name])
            for position, name in enumerate(_FIELD_NAMES)
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
        cleaned: list[Any] = [None] * len(_FIELD_NAMES)
        for position, parse, index in self.present:
            cell = cells[index]
            if cell == "" or cell is None:
                continue
            try:
                cleaned[position] = parse(cell)
            except BadValue as problem:
                item.errors.append(
                    self.cleaner.reject(number, _FIELD_NAMES[position], str(problem))
                )
                return None
        return tuple(cleaned)


def _input_indexes(table: Table) -> list[int]:
    """The columns a row states something in: every field but the client id."""
    found = [table.columns[name] for name in _INPUT_FIELDS if name in table.columns]
    if "advisor" in table.columns:
        found.append(table.columns["advisor"])
    return found


#: How many files are read ahead of the one being cleaned (fastexcel reads without
#: holding the GIL: a second core reads while the first cleans).
_READ_AHEAD = 4


class _Opened:
    """The files of `todo` opened (`_open_rows`) on `pool`'s threads, a few ahead of the
    one taken: reading starts when this is made, so the first files are read while the
    caller does other work (the member lookup)."""

    def __init__(self, pool: ThreadPoolExecutor, todo: Sequence[_File]) -> None:
        self.pool = pool
        self.todo = todo
        self.pending = deque(pool.submit(_open_rows, item) for item in todo[:_READ_AHEAD])

    def take(self, position: int) -> tuple[Table, pl.DataFrame | None]:
        """The file at `position` (taken in order), once read."""
        found = self.pending.popleft().result()
        if position + _READ_AHEAD < len(self.todo):
            self.pending.append(self.pool.submit(_open_rows, self.todo[position + _READ_AHEAD]))
        return found


def _read_all(
    todo: Sequence[_File], opened: _Opened, progress: Progress | None = None
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
        slim = frame.select(
            pl.lit(position, pl.Int64).alias(rc.FILE),
            pl.col(ROW).alias(rc.ROW),
            pl.lit(stamp, pl.String).alias(rc.STAMP_ADVISOR),
            *(pl.col(column(index)).alias(name) for name, index in table.columns.items()),
        ).filter(~maybe_blank)
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
        return parts[0]
    return pl.concat(parts).sort(rc.FILE, rc.ROW)


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
    for name in _FIELD_NAMES:
        if name not in raw.columns:
            cleaned.append(pl.Series(name, [], types[name]).extend_constant(None, raw.height))
            continue
        found = columns.clean(raw[name], _PARSERS[name], types[name])
        cleaned.append(found.values.alias(name))
        if found.any_problem():
            to_judge = to_judge | found.problems.is_not_null()
    # A row whose input cells are all blank states nothing (as `_RowReader.clean` finds).
    inputs = [name for name in (*_INPUT_FIELDS, "advisor") if name in raw.columns]
    blank = [
        pl.col(name).is_null() | (pl.col(name) == "")
        if raw.schema[name] == pl.String
        else pl.col(name).is_null()
        for name in inputs
    ]
    states = ~raw.select(pl.all_horizontal(blank or [pl.lit(True)])).to_series()
    if to_judge.any():
        fields = [name for name in _FIELD_NAMES if name in raw.columns]
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
    """Rows a row reader cleaned, as `_read_all` returns them."""
    import polars as pl

    data: dict[str, list[Any]] = {
        rc.FILE: [position for position, _, _, _ in rows],
        rc.STAMP_ADVISOR: [stamp for _, stamp, _, _ in rows],
        rc.ROW: [number for _, _, number, _ in rows],
    }
    for i, name in enumerate(_FIELD_NAMES):
        data[name] = [row[i] for _, _, _, row in rows]
    schema = {rc.FILE: pl.Int64, rc.STAMP_ADVISOR: pl.String, rc.ROW: pl.Int64}
    return pl.DataFrame(data, schema=schema | rc.field_types()).select(
        rc.FILE, rc.ROW, rc.STAMP_ADVISOR, *_FIELD_NAMES
    )


def _parser(name: str) -> Callable[[object], Any]:
    # Columns that repeat a few spellings down a sheet are parsed once per spelling.
    return remembered(_PARSERS[name]) if name in _REPEATED_TEXT else _PARSERS[name]


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


# ----------------------------------------------------------------------------- checking


class _Member(NamedTuple):
    """What the database says about one client the upload names."""

    known: bool
    member: bool
    advisor: str | None
    assigned_at: dt.datetime | None
    control: bool
    dnc: bool  # member flag or the firm-wide list
    risk: int | None
    dnc_call_at: dt.datetime | None  # first do-not-call result in this campaign


@dataclass
class _Context:
    campaign: Campaign
    campaign_id: int
    now: dt.datetime  # aware UTC
    advisor_codes: frozenset[str]
    advisor_by_name: dict[str, str]


_CONTEXT_COLUMNS = """
       c.client_id IS NOT NULL AS known,
       m.client_id IS NOT NULL AS member,
       m.advisor_code, m.assigned_at, m.control, m.dnc, c.risk,
       EXISTS (SELECT 1 FROM do_not_call d
               WHERE (d.kind = 'client_id' AND d.value = {client})
                  OR (d.kind = 'mobile' AND d.value = c.mobile)) AS listed,
       (SELECT MIN(e.occurred_at) FROM event e
         WHERE e.campaign_id = :campaign_id AND e.client_id = {client}
           AND e.stage = :call AND e.value = :dnc
           AND NOT EXISTS (SELECT 1 FROM event v WHERE v.voids_event_id = e.id)) AS dnc_call_at
"""
# the clients staged in upload_client, members or not
_CONTEXT_SQL = f"""
SELECT s.client_id, {_CONTEXT_COLUMNS.format(client="s.client_id")}
FROM upload_client s
LEFT JOIN client c ON c.client_id = s.client_id
LEFT JOIN member m ON m.campaign_id = :campaign_id AND m.client_id = s.client_id
"""
# every member of the campaign
_MEMBERS_SQL = f"""
SELECT m.client_id, {_CONTEXT_COLUMNS.format(client="m.client_id")}
FROM member m
LEFT JOIN client c ON c.client_id = m.client_id
WHERE m.campaign_id = :campaign_id
"""


def _load_context(conn: Connection, registered: registry.Registered, now: dt.datetime) -> _Context:
    codes: set[str] = set()
    names: dict[str, list[str]] = {}
    for code, name in conn.execute(text("SELECT code, name FROM advisor")):
        codes.add(code)
        names.setdefault(name, []).append(code)
    return _Context(
        campaign=registered.config,
        campaign_id=registered.id,
        now=now,
        advisor_codes=frozenset(codes),
        advisor_by_name={n: found[0] for n, found in names.items() if len(found) == 1},
    )


def _driver_batches(
    conn: Connection, sql: str, params: dict[str, Any]
) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of `sql` (written with `:name` parameters) as the driver's plain tuples, a
    batch at a time.

    Bypasses SQLAlchemy's result rows and their per-row processing: used where a query
    returns a row per client of an upload. Runs in `conn`'s transaction, so it sees its
    temporary tables.
    """
    if conn.dialect.name == "postgresql":
        sql = re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql)  # psycopg's named-parameter style
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(50_000):
            yield rows
    finally:
        cursor.close()


def _load_members(
    conn: Connection,
    campaign_id: int,
    client_ids: Collection[str],
    *,
    every_member: bool = False,
) -> pl.DataFrame:
    """What the database says about each of `client_ids` (`results_columns.MEMBER_COLUMNS`).

    Looked up in one pass in client order: a few clients scattered over a large table
    cost a page read each, while the clients of many files at once share their pages.
    With `every_member` (for clients that are most of the campaign), every member is
    read instead, with no list of clients to stage; then the others among `client_ids`.
    """
    import polars as pl

    params = {"campaign_id": campaign_id, "call": funnel.EVENT_CALL, "dnc": funnel.DO_NOT_CALL}
    # as the driver gives them: SQLite's flags are 0/1 and its times UTC text
    types = rc.member_types()
    sqlite = conn.dialect.name == "sqlite"
    raw = dict(types, listed=pl.Boolean)
    if sqlite:
        raw |= {name: pl.Int64 for name, dtype in raw.items() if dtype == pl.Boolean}
        raw["assigned_at"] = raw["dnc_call_at"] = pl.String
    order = ["client_id", "known", "member", "member_advisor", "assigned_at", "control", "dnc"]
    order += ["risk", "listed", "dnc_call_at"]
    schema = {name: raw[name] for name in order}
    # a batch of rows at a time: a million rows as tuples would take more memory than
    # the frame they become
    found = [pl.DataFrame(schema=schema)]
    if every_member:
        found += (
            pl.DataFrame(batch, schema=schema, orient="row")
            for batch in _driver_batches(conn, _MEMBERS_SQL, params)
        )
        read = pl.concat(found)["client_id"]
        wanted = pl.Series("client_id", list(client_ids), pl.String)
        client_ids = wanted.filter(~wanted.is_in(read.implode())).to_list()
    if client_ids:
        # Staged in order, and scanned in that order: no key to maintain.
        bulk.stage(conn, "upload_client", {"client_id": "TEXT"}, ((c,) for c in sorted(client_ids)))
        found += (
            pl.DataFrame(batch, schema=schema, orient="row")
            for batch in _driver_batches(conn, _CONTEXT_SQL, params)
        )
        conn.exec_driver_sql("DROP TABLE upload_client")
    frame = pl.concat(found)
    del found
    frame = frame.with_columns(
        (pl.col("dnc").cast(pl.Boolean) | pl.col("listed").cast(pl.Boolean)).alias("dnc"),
        *(pl.col(name).cast(pl.Boolean) for name in ("known", "member", "control")),
    )
    if sqlite:
        frame = frame.with_columns(
            _times_from_db(frame[name], types[name]) for name in ("assigned_at", "dnc_call_at")
        )
    return frame.select(rc.MEMBER_COLUMNS)


def _times_from_db(raw: pl.Series, dtype: Any) -> pl.Series:
    """SQLite's UTC text as aware times, each distinct one read once by `clock.from_db`."""
    distinct = raw.drop_nulls().unique().to_list()
    converted = [from_db(value) for value in distinct]
    return raw.replace_strict(distinct, converted, default=None, return_dtype=dtype)


def _member_of(record: Mapping[str, Any]) -> _Member:
    """The database's facts about a row's client, from its joined member columns."""
    return _Member(
        bool(record["known"]),
        bool(record["member"]),
        record["member_advisor"],
        record["assigned_at"],
        bool(record["control"]),
        bool(record["dnc"]),
        record["risk"],
        record["dnc_call_at"],
    )


#: One event a row states, as a row of the staged table (`_event_columns` order):
#: client_id, stage, value, occurred_at (as stored), match_time (0 when the sheet gave no
#: time, or for kinds whose time is not part of the fact, like a reported attempts
#: count), advisor_code, file_index, source_row, source_ref.
StagedFact = tuple[str, str, str | None, Any, int, str, int, int, str | None]


#: Distinct sheet times an upload remembers converted (60 days of minutes is 86,400).
_REMEMBERED_TIMES = 200_000


def _minute(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


class _SheetTime(NamedTuple):
    """A sheet time converted and checked once, however many rows repeat it."""

    utc: dt.datetime
    stored: Any  # as the staged table holds it
    problem: str | None  # why any row giving it is rejected (future, before the start)


class _RowChecker:
    """Checks the cleaned rows of one file at a time against the campaign and the
    database, and collects the facts they state."""

    def __init__(
        self, context: _Context, options: UploadOptions, stored: Callable[[dt.datetime], Any]
    ) -> None:
        self.context = context
        self.options = options
        self.stored = stored  # an aware UTC time as the staged table holds it
        self.tz = context.campaign.tz
        self.start = context.campaign.start
        self.now_stored = stored(context.now)
        # calls after a do-not-call result within this upload: client -> earliest such time
        self.dnc_in_upload: dict[str, dt.datetime] = {}
        # the file and row being checked, and the file's place in the upload
        self.item: _File | None = None
        self.number = 0
        self.position = 0
        # Sheets repeat their times (to the minute) and products down the rows: each
        # distinct one is converted and checked once.
        self._times: dict[dt.datetime, _SheetTime] = {}
        self._products: dict[str, Product | None] = {}

    def reject(self, column: str | None, reason: str) -> None:
        """Reject the row being checked, naming `column` as its file spells it."""
        item = self.item
        assert item is not None
        item.errors.append(
            Rejection(str(item.path), item.sheet, self.number, item.header(column), reason)
        )

    def check(
        self,
        item: _File,
        position: int,
        number: int,
        row: tuple[Any, ...],
        member: _Member,
        facts: list[StagedFact],
    ) -> bool:
        """Check row `number` of `item` (the upload's file at `position`), whose client the
        database knows as `member`; when it passes, add the facts it states to `facts`."""
        self.item, self.position, self.number = item, position, number
        reject = self.reject
        client_id: str = row[0]
        if not member.known:
            reject("client_id", t("reject.unknown_client", client_id=client_id))
            return False
        if not member.member:
            campaign = self.context.campaign.slug
            reject("client_id", t("reject.not_member", client_id=client_id, campaign=campaign))
            return False
        if member.control:
            reject("client_id", t("reject.control", client_id=client_id))
            return False
        named = row[_ADVISOR]
        if item.stamp is not None:
            advisor = item.stamp.advisor
        else:
            from_sheet = self._advisor(named, member)
            if from_sheet is None:
                return False
            advisor = from_sheet
        foreign = member.advisor != advisor
        if foreign and not self.options.allow_foreign:
            owner = member.advisor or t("label.nobody")
            column = "advisor" if item.stamp is None and named else "client_id"
            reject(column, t("reject.foreign", client_id=client_id, owner=owner, advisor=advisor))
            return False
        if not self._facts(client_id, advisor, row, member, facts):
            return False
        item.summary.foreign += foreign
        return True

    def _advisor(self, named: str | None, member: _Member) -> str | None:
        """The advisor a plain sheet's row is from, or None after rejecting it."""
        context = self.context
        if named:
            if named in context.advisor_codes:
                return named
            by_name = context.advisor_by_name.get(named)
            if by_name is None:
                self.reject("advisor", t("reject.unknown_advisor", value=named))
            return by_name
        if self.options.advisor:
            return self.options.advisor
        if member.advisor is None:
            self.reject("advisor", t("reject.no_advisor"))
        return member.advisor

    def _time(self, column: str, moment: dt.datetime, member: _Member) -> _SheetTime | None:
        """A sheet time (campaign wall clock) as UTC and as stored, or None after
        rejecting it."""
        found = self._times.get(moment)
        if found is None:
            found = self._convert(moment)
        if found.problem is not None:
            self.reject(column, found.problem)
            return None
        if member.assigned_at is not None and found.utc < member.assigned_at:
            assigned = _minute(local(member.assigned_at, self.tz))
            self.reject(
                column, t("reject.before_assigned", value=_minute(moment), assigned=assigned)
            )
            return None
        return found

    def _convert(self, moment: dt.datetime) -> _SheetTime:
        when = to_utc(moment, self.tz)
        problem = None
        if when > self.context.now:
            timezone = self.context.campaign.timezone
            problem = t("reject.future", value=_minute(moment), tz=timezone)
        elif moment.date() < self.start:  # the sheet's time is already the campaign's wall clock
            problem = t("reject.before_start", value=_minute(moment), start=self.start)
        found = _SheetTime(when, self.stored(when), problem)
        if len(self._times) < _REMEMBERED_TIMES:
            self._times[moment] = found
        return found

    def _facts(
        self,
        client_id: str,
        advisor: str,
        row: tuple[Any, ...],
        member: _Member,
        facts: list[StagedFact],
    ) -> bool:
        """Check the row's own values; when they pass, add its facts to `facts`.

        A fact without a time, or whose time is not part of it (a reported attempts
        count), is matched without one and timed now unless the row gave one.
        """
        (
            _,
            _,
            called_at,
            result,
            attempts,
            callback_at,
            wecom,
            wecom_at,
            product_name,
            pushed_at,
            converted,
            converted_at,
            note,
        ) = row
        context = self.context
        now = context.now
        reject = self.reject
        ok = True

        # Times first: each is checked on its own, so every bad cell is reported.
        called = wecom_time = pushed_time = converted_time = None
        if called_at is not None:
            called = self._time("called_at", called_at, member)
            ok = called is not None
        if wecom_at is not None:
            wecom_time = self._time("wecom_added_at", wecom_at, member)
            ok = ok and wecom_time is not None
        if pushed_at is not None:
            pushed_time = self._time("pushed_at", pushed_at, member)
            ok = ok and pushed_time is not None
        if converted_at is not None:
            converted_time = self._time("converted_at", converted_at, member)
            ok = ok and converted_time is not None

        calling = result is not None or called_at is not None or (attempts or 0) > 0
        if calling and result != funnel.DO_NOT_CALL:
            when = called.utc if called is not None else now
            earlier = member.dnc_call_at
            if member.dnc:
                ok = False
                reject("call_result", t("reject.dnc_listed", client_id=client_id))
            elif earlier is not None and when > earlier:
                ok = False
                shown = local(earlier, self.tz).strftime("%Y-%m-%d %H:%M")
                reject("call_result", t("reject.dnc_campaign", client_id=client_id, when=shown))
        if result is not None and result not in context.campaign.dispositions:
            ok = False
            reject("call_result", t("reject.disposition_off", value=result))

        product: Product | None = None
        if product_name is not None:
            if product_name not in self._products:
                self._products[product_name] = find_product(context.campaign, product_name)
            product = self._products[product_name]
            if product is None:
                ok = False
                codes = ", ".join(p.code for p in context.campaign.products)
                reject("product", t("reject.unknown_product", value=product_name, choices=codes))
            elif member.risk is None:
                ok = False
                reject("product", t("reject.risk_unknown", client_id=client_id))
            elif product.risk > member.risk:
                ok = False
                reject(
                    "product",
                    t(
                        "reject.unsuitable",
                        product=product.code,
                        product_risk=product.risk,
                        risk=member.risk,
                    ),
                )
        elif pushed_at is not None:
            ok = self._needs("pushed_at", "product")
        if wecom_at is not None and not wecom:
            ok = self._needs("wecom_added_at", "wecom_added")
        if converted_at is not None and not converted:
            ok = self._needs("converted_at", "converted")
        if not ok:
            return False

        position, number, now_stored = self.position, self.number, self.now_stored
        # a call result, a call time or attempts >= 1 is evidence of a call (DOMAIN.md)
        if result is not None or called_at is not None or attempts:
            if called is not None:
                facts.append(
                    (client_id, _CALL, result, called.stored, 1, advisor, position, number, None)
                )
            else:
                facts.append(
                    (client_id, _CALL, result, now_stored, 0, advisor, position, number, UNTIMED)
                )
            if result == funnel.DO_NOT_CALL:
                when = called.utc if called is not None else now
                seen = self.dnc_in_upload.get(client_id)
                if seen is None or when < seen:
                    self.dnc_in_upload[client_id] = when
        if attempts:
            moment = called.stored if called is not None else now_stored
            facts.append(
                (client_id, _ATTEMPTS, str(attempts), moment, 0, advisor, position, number, UNTIMED)
            )
        if callback_at is not None:
            asked = to_utc(callback_at, self.tz)
            value = asked.isoformat()
            stored = self.stored(asked)
            facts.append((client_id, _CALLBACK, value, stored, 1, advisor, position, number, None))
        if wecom:
            facts.append(
                _fact(client_id, _WECOM, None, wecom_time, now_stored, advisor, position, number)
            )
        if product is not None:
            facts.append(
                _fact(
                    client_id,
                    _PUSHED,
                    product.code,
                    pushed_time,
                    now_stored,
                    advisor,
                    position,
                    number,
                )
            )
        if converted:
            code = product.code if product else None
            facts.append(
                _fact(
                    client_id,
                    _CONVERTED,
                    code,
                    converted_time,
                    now_stored,
                    advisor,
                    position,
                    number,
                )
            )
        if note is not None:
            facts.append(
                (client_id, _NOTE, note, now_stored, 0, advisor, position, number, UNTIMED)
            )
        return True

    def _needs(self, column: str, other: str) -> bool:
        """Reject a time given without the value it is the time of; returns False."""
        item = self.item
        assert item is not None
        named = item.header
        self.reject(column, t("reject.time_without", column=named(column), other=named(other)))
        return False


_ADVISOR = _INDEX["advisor"]
_CALL, _ATTEMPTS, _CALLBACK = funnel.EVENT_CALL, funnel.EVENT_ATTEMPTS, funnel.EVENT_CALLBACK
_WECOM, _PUSHED, _CONVERTED = funnel.EVENT_WECOM, funnel.EVENT_PUSHED, funnel.EVENT_CONVERTED
_NOTE = funnel.EVENT_NOTE


def _fact(
    client_id: str,
    kind: str,
    value: str | None,
    when: _SheetTime | None,
    now_stored: Any,
    advisor: str,
    position: int,
    number: int,
) -> StagedFact:
    """A fact timed by the sheet when it gave a time (matched with it), else timed now."""
    if when is not None:
        return (client_id, kind, value, when.stored, 1, advisor, position, number, None)
    return (client_id, kind, value, now_stored, 0, advisor, position, number, UNTIMED)


# ----------------------------------------------------------------------------- writing

_EVENT_STAGE = "upload_event"
_FILE_STAGE = "upload_file"


def _event_columns(conn: Connection) -> dict[str, str]:
    moment = dialect.time_type(conn)
    return {
        "client_id": "TEXT",
        "stage": "TEXT",
        "value": "TEXT",
        "occurred_at": moment,
        "match_time": "INTEGER",
        "advisor_code": "TEXT",
        "file_index": "INTEGER",
        "source_row": "INTEGER",
        "source_ref": "TEXT",
    }


# Facts the campaign already holds (the same client, kind and value, at the same time or,
# for a fact without one, at any), not voided, add nothing. Dropped from the staged
# facts first, so the INSERT reads no table it writes and SQLite need not buffer it.
_KNOWN_SQL = """
DELETE FROM upload_event
WHERE EXISTS (
    SELECT 1 FROM event e
    WHERE e.campaign_id = :campaign_id AND e.client_id = upload_event.client_id
      AND e.stage = upload_event.stage
      AND COALESCE(e.value, '') = COALESCE(upload_event.value, '')
      AND ((upload_event.match_time = 1 AND e.occurred_at = upload_event.occurred_at)
           OR (upload_event.match_time = 0
               AND (upload_event.stage <> :call OR e.source_ref = :untimed)))
      AND NOT EXISTS (SELECT 1 FROM event v WHERE v.voids_event_id = e.id))
"""

_INSERT_SQL = """
INSERT INTO event (campaign_id, client_id, stage, value, occurred_at, advisor_code, source,
                   import_id, source_file, source_row, source_ref, recorded_by, recorded_at)
SELECT :campaign_id, s.client_id, s.stage, s.value, s.occurred_at, s.advisor_code, 'upload',
       f.import_id, f.source_file, s.source_row, s.source_ref, :who, :now
FROM upload_event s
JOIN upload_file f ON f.file_index = s.file_index
"""


def _applied_before(conn: Connection, campaign_id: int, digests: Sequence[str]) -> dict[str, int]:
    """SHA-256 -> the import that applied that file already (undone uploads do not count)."""
    if not digests:
        return {}
    rows = conn.execute(
        text(
            "SELECT sha256, MIN(id) FROM import_record WHERE kind = :kind AND campaign_id = :cid"
            " AND status = 'applied' GROUP BY sha256"
        ),
        {"kind": KIND, "cid": campaign_id},
    )
    wanted = set(digests)
    return {sha: int(found) for sha, found in rows if sha in wanted}


#: Told how far an upload has got: (`READING` or `WRITING`, files read, files to read).
Progress = Callable[[str, int, int], None]
READING, WRITING = "reading", "writing"


def upload(
    engine: Engine,
    slug: str,
    paths: Sequence[Path],
    options: UploadOptions | None = None,
    progress: Progress | None = None,
) -> UploadSummary:
    """Check every row of every file, then apply the facts they state in one transaction.

    Returns the summary; with rejected rows and no `skip_invalid`, nothing is applied
    (`summary.refused`) and the refusal is still recorded in the import log. `progress`
    is told of each file read, then once as the checking and writing begin.
    """
    with cyclic_gc_paused():
        return _upload(engine, slug, paths, options or UploadOptions(), progress)


def _upload(
    engine: Engine,
    slug: str,
    paths: Sequence[Path],
    options: UploadOptions,
    progress: Progress | None,
) -> UploadSummary:
    import polars as pl

    registered = registry.open_campaign(engine, slug)
    files = [
        _File(path, FileSummary(file=str(path), sha256=sha256_of(path)))
        for path in expand(paths)
        if _exists(path)
    ]
    summary = UploadSummary(
        campaign=slug, files=[f.summary for f in files], dry_run=options.dry_run
    )

    # One connection for the whole upload: its temporary tables hold the staged facts
    # from the first file read to the write. Files are read, checked and staged one at a
    # time, so memory holds one file's rows, not the whole upload's.
    with engine.connect() as conn:
        columns = _event_columns(conn)
        with conn.begin():
            if options.advisor:
                known = conn.execute(
                    text("SELECT 1 FROM advisor WHERE code = :code"), {"code": options.advisor}
                ).first()
                if known is None:
                    raise ConfigError(t("error.advisor_unknown", code=options.advisor))
            secret = workbook_secret(conn)  # created on first use: a write
            done = _applied_before(conn, registered.id, [f.summary.sha256 for f in files])
            bulk.sqlite_temp_in_memory(conn)  # the staged rows live for one upload
            bulk.sqlite_bulk_cache(conn)
            context = _load_context(conn, registered, utcnow())
            bulk.create(conn, _EVENT_STAGE, columns)
        seen: dict[str, FileSummary] = {}
        todo: list[_File] = []
        for item in files:
            digest = item.summary.sha256
            if digest in done or digest in seen:
                item.summary.status = "skipped"
                item.summary.same_as = done.get(digest) or seen[digest].import_id
                continue
            seen[digest] = item.summary
            todo.append(item)

        checker = _RowChecker(context, options, dialect.stored_time(conn))
        # Every stamp first: the clients the workbooks were issued for are looked up in one
        # pass. Clients sheets name beyond their stamps (plain sheets) are looked up after.
        for item in todo:
            _read_stamp(item, slug, secret)
        issued = {
            client_id
            for item in todo
            if item.stamp is not None and item.problem is None
            for client_id in item.stamp.client_ids
        }
        if progress is not None:
            progress(READING, 0, len(todo))
        with ThreadPoolExecutor(max_workers=2) as pool:
            opened = _Opened(pool, todo)  # the first files are read during the lookup
            with conn.begin():
                members = conn.execute(
                    text("SELECT COUNT(*) FROM member WHERE campaign_id = :cid"),
                    {"cid": registered.id},
                ).scalar_one()
                looked_up = _load_members(
                    conn, registered.id, issued, every_member=2 * len(issued) >= members
                )
            del issued
            rows = _read_all(todo, opened, progress)
        if progress is not None:
            progress(WRITING, len(todo), len(todo))
        unlisted = (
            rows.select(pl.col("client_id").drop_nulls().unique())
            .join(looked_up.select("client_id"), on="client_id", how="anti")
            .to_series()
        )
        if len(unlisted):
            with conn.begin():
                more = _load_members(conn, registered.id, unlisted.to_list())
            looked_up = pl.concat([looked_up, more])
        joined = rows.join(looked_up, on="client_id", how="left", maintain_order="left")
        del rows, looked_up
        facts, named_again, touched = _check_all(joined, todo, checker, context, options, conn)
        del joined
        bulk.append_frame(conn, _EVENT_STAGE, facts)
        del facts
        with conn.begin():
            _reject_calls_after_dnc(conn, todo, checker, named_again)
        for item in todo:
            item.errors.sort(key=lambda e: e.row)
            item.summary.rejected = len({e.row for e in item.errors})
            summary.errors.extend(item.errors)

        if options.dry_run:
            status = "dry_run"
        elif summary.errors and not options.skip_invalid:
            status = "refused"
        else:
            status = "applied"
        _write(conn, registered.id, files, (touched, named_again), status, context.now)
    summary.applied = status == "applied"

    if summary.errors and options.skip_invalid and not options.dry_run:
        for item in todo:
            if item.errors:
                out = item.path.with_name(item.path.name + ".rejects.csv")
                reread = open_table(
                    item.path, RESULT_FIELDS, sheet=item.sheet, display_name=str(item.path)
                )
                write_rejects(out, reread, item.errors)
                item.summary.rejects_path = str(out)
    return summary


def _check_all(
    joined: pl.DataFrame,
    todo: Sequence[_File],
    checker: _RowChecker,
    context: _Context,
    options: UploadOptions,
    conn: Connection,
) -> tuple[pl.DataFrame, set[str], int]:
    """Check every row (`joined`: `_read_all`'s rows with their clients' member columns).

    Returns the facts to stage (`results_columns.FACT_COLUMNS`, in row order), the
    clients named by more than one accepted row, and how many clients accepted rows name.
    The column checks accept most rows at once; the row checker judges the rest.
    """
    import polars as pl

    campaign = context.campaign
    products = joined["product"].drop_nulls().unique().to_list()
    rules = rc.Rules(
        tz=campaign.tz,
        start=campaign.start,
        now=context.now,
        dispositions=campaign.dispositions,
        products={
            name: (found.code, found.risk) if (found := find_product(campaign, name)) else None
            for name in products
        },
        advisor_codes=context.advisor_codes,
        advisor_by_name=context.advisor_by_name,
        default_advisor=options.advisor,
        allow_foreign=options.allow_foreign,
        sqlite=conn.dialect.name == "sqlite",
    )
    checked = rc.accept(joined, rules)
    accepted = rc.accepted(checked)
    fast = rc.facts(accepted, rules, checker.now_stored)
    checker.dnc_in_upload = rc.dnc_times(accepted, context.now)
    for position, foreign in (
        accepted.filter(pl.col(rc.FOREIGN)).group_by(rc.FILE).len().iter_rows()
    ):
        todo[position].summary.foreign += foreign
    slow: list[StagedFact] = []
    also_accepted: list[str] = []
    for judged in checked.filter(~pl.col(rc.OK)).iter_rows(named=True):
        position = judged[rc.FILE]
        row = tuple(judged[name] for name in _FIELD_NAMES)
        member = _member_of(judged)
        if checker.check(todo[position], position, judged[rc.ROW], row, member, slow):
            also_accepted.append(row[0])
    named = pl.concat([accepted["client_id"], pl.Series("client_id", also_accepted, pl.String)])
    counts = named.value_counts()
    named_again = set(counts.filter(pl.col("count") > 1)["client_id"].to_list())
    facts = fast
    if slow:
        schema = fast.schema
        facts = pl.concat([fast, pl.DataFrame(slow, schema=schema, orient="row")])
        facts = facts.sort(rc.FILE, rc.ROW, maintain_order=True)
    return facts, named_again, counts.height


def _exists(path: Path) -> bool:
    if not path.is_file():
        raise InputError(t("error.file_missing", file=path))
    return True


def _staged_facts_of(conn: Connection, client_ids: Iterable[str]) -> list[Any]:
    """The staged facts of `client_ids` as (file_index, source_row, stage, client_id, value,
    occurred_at, match_time), in the order the upload read them."""
    bulk.stage(conn, "named_client", {"client_id": "TEXT PRIMARY KEY"}, ((c,) for c in client_ids))
    found = conn.execute(
        text(
            "SELECT s.file_index, s.source_row, s.stage, s.client_id, s.value, s.occurred_at,"
            f" s.match_time FROM {_EVENT_STAGE} s JOIN named_client n ON n.client_id = s.client_id"
            " ORDER BY s.file_index, s.source_row"
        )
    ).all()
    conn.exec_driver_sql("DROP TABLE named_client")
    return list(found)


def _unstage(conn: Connection, keys: Collection[tuple[Any, ...]], columns: Sequence[str]) -> None:
    """Remove the staged facts whose `columns` match one of `keys` (whole rows, or facts)."""
    if not keys:
        return
    types = {name: "TEXT" if name == "stage" else "INTEGER" for name in columns}
    bulk.stage(conn, "unstaged", types, keys)
    listed = ", ".join(columns)
    conn.exec_driver_sql(
        f"DELETE FROM {_EVENT_STAGE} WHERE ({listed}) IN (SELECT {listed} FROM unstaged)"
    )
    conn.exec_driver_sql("DROP TABLE unstaged")


def _reject_calls_after_dnc(
    conn: Connection, todo: list[_File], checker: _RowChecker, named_again: set[str]
) -> None:
    """A call later than a do-not-call result in this same upload is refused too.

    Only a client named in more than one row can have both, so only their staged facts
    are read back.
    """
    marked = checker.dnc_in_upload
    suspects = marked.keys() & named_again
    if not suspects:
        return
    bad_rows: set[tuple[int, int]] = set()
    for position, row, kind, client_id, value, occurred_at, _match in _staged_facts_of(
        conn, suspects
    ):
        if kind != funnel.EVENT_CALL or value == funnel.DO_NOT_CALL:
            continue
        when = from_db(occurred_at)
        assert when is not None  # every staged fact has a time
        if when > marked[client_id]:
            bad_rows.add((position, row))
            item = todo[position]
            shown = local(marked[client_id], checker.tz).strftime("%Y-%m-%d %H:%M")
            item.errors.append(
                Rejection(
                    str(item.path),
                    item.sheet,
                    row,
                    item.header("call_result"),
                    t("reject.dnc_campaign", client_id=client_id, when=shown),
                )
            )
    _unstage(conn, bad_rows, ("file_index", "source_row"))


def _drop_restated(conn: Connection, live: Collection[int], named_again: set[str]) -> None:
    """Of facts stated by more than one row of the live files, keep the first row's."""
    if not named_again:
        return
    first: set[tuple[Any, ...]] = set()
    restated: set[tuple[int, int, str]] = set()
    for position, row, kind, client_id, value, occurred_at, match_time in _staged_facts_of(
        conn, named_again
    ):
        if position not in live:
            continue
        key = (client_id, kind, value, occurred_at if match_time else None)
        if key in first:
            restated.add((position, row, kind))
        else:
            first.add(key)
    _unstage(conn, restated, ("file_index", "source_row", "stage"))


def _write(
    conn: Connection,
    campaign_id: int,
    files: list[_File],
    named: tuple[int, set[str]],
    status: str,
    now: dt.datetime,
) -> None:
    """Record the imports and, unless refused, insert the new staged events: one transaction.

    A dry run does all of it and rolls back, so its counts are exactly what an upload
    would do.
    """
    transaction = conn.begin()
    try:
        lock_campaign(conn, campaign_id)
        # Another upload of the same file may have committed while we were reading.
        done = _applied_before(conn, campaign_id, [f.summary.sha256 for f in files])
        live: list[tuple[int, _File]] = []
        todo = [f for f in files if f.summary.status != "skipped"]
        for position, item in enumerate(todo):
            if item.summary.sha256 in done:
                item.summary.status = "skipped"
                item.summary.same_as = done[item.summary.sha256]
            else:
                live.append((position, item))
        for item in files:
            s = item.summary
            if s.status == "pending":
                s.status = status
            s.unchanged = s.rows - s.rejected
            s.import_id = record(
                conn,
                kind=KIND,
                campaign_id=campaign_id,
                path=item.path,
                sha256=s.sha256,
                rows=s.rows,
                counts=s.counts(),
                status=s.status,
            )
        if status in ("applied", "dry_run") and live:
            _insert(conn, campaign_id, live, named, now)
            for _position, item in live:
                s = item.summary
                s.unchanged = s.rows - s.applied - s.rejected
                conn.execute(
                    text("UPDATE import_record SET counts = :counts WHERE id = :id"),
                    {"counts": json.dumps(s.counts()), "id": s.import_id},
                )
        hold = os.environ.get(HOLD_ENV)
        if hold:  # tests kill the process here: nothing may be left behind
            sys.stderr.write("holding the upload transaction\n")
            sys.stderr.flush()
            time.sleep(float(hold))
    except BaseException:
        transaction.rollback()
        raise
    if status == "dry_run":
        transaction.rollback()
        for item in files:
            item.summary.import_id = None
    else:
        transaction.commit()


# The clients whose events this upload inserted (the files staged in upload_file).
_TOUCHED_SQL = "SELECT e.client_id FROM event e JOIN upload_file f ON f.import_id = e.import_id"


def _insert(
    conn: Connection,
    campaign_id: int,
    live: list[tuple[int, _File]],
    named: tuple[int, set[str]],
    now: dt.datetime,
) -> None:
    """Insert the new staged facts of the live files (the first row stating one wins).

    `named`: how many clients rows stated facts for, and those named by more than one row.
    """
    touched, named_again = named
    _drop_restated(conn, {position for position, _item in live}, named_again)
    bulk.stage(
        conn,
        _FILE_STAGE,
        {"file_index": "INTEGER PRIMARY KEY", "import_id": "INTEGER", "source_file": "TEXT"},
        [(position, item.summary.import_id, str(item.path)) for position, item in live],
    )
    conn.execute(
        text(_KNOWN_SQL),
        {"campaign_id": campaign_id, "call": funnel.EVENT_CALL, "untimed": UNTIMED},
    )
    conn.execute(
        text(_INSERT_SQL),
        {"campaign_id": campaign_id, "who": who(), "now": dialect.db_time(conn, now)},
    )
    by_import = {item.summary.import_id: item.summary for _position, item in live}
    counted = conn.execute(
        text(
            "SELECT e.import_id, COUNT(*), COUNT(DISTINCT e.source_row) FROM event e"
            " JOIN upload_file f ON f.import_id = e.import_id GROUP BY e.import_id"
        )
    )
    for import_id, events, applied in counted:
        by_import[import_id].events = int(events)
        by_import[import_id].applied = int(applied)
    members = conn.execute(
        text("SELECT COUNT(*) FROM member WHERE campaign_id = :cid"), {"cid": campaign_id}
    ).scalar_one()
    if 2 * touched >= members:
        # An upload naming most members (every advisor's sheet at once): one pass over the
        # whole campaign is cheaper than first listing the clients it touched.
        stages.refresh(conn, campaign_id)
    else:
        stages.refresh_selected(conn, campaign_id, _TOUCHED_SQL, {})
    conn.exec_driver_sql(f"DROP TABLE {_EVENT_STAGE}")
    conn.exec_driver_sql(f"DROP TABLE {_FILE_STAGE}")


# ----------------------------------------------------------------------------- voiding


@dataclass
class VoidSummary:
    """What an undo or a correction voided."""

    campaign: str
    voided: int
    clients: int
    import_id: int | None = None
    client_id: str | None = None
    stage: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "import_id": self.import_id,
            "client_id": self.client_id,
            "stage": self.stage,
            "voided": self.voided,
            "clients": self.clients,
        }


_VOID_SQL = f"""
INSERT INTO event (campaign_id, client_id, stage, value, occurred_at, advisor_code, source,
                   source_ref, recorded_by, recorded_at, voids_event_id)
SELECT e.campaign_id, e.client_id, '{funnel.EVENT_VOID}', :reason, :now, e.advisor_code, :source,
       :ref, :who, :now, e.id
FROM event e
WHERE {{where}}
  AND e.stage <> '{funnel.EVENT_VOID}'
  AND NOT EXISTS (SELECT 1 FROM event v WHERE v.voids_event_id = e.id)
"""


def _void(conn: Connection, where: str, params: dict[str, Any]) -> int:
    now = dialect.db_time(conn, utcnow())
    result = conn.execute(
        text(_VOID_SQL.format(where=where)),
        {"now": now, "who": who(), **params},
    )
    return int(result.rowcount)


def undo(engine: Engine, import_id: int, reason: str | None = None) -> VoidSummary:
    """Void every event of one results upload (appending void events); refuses twice."""
    with engine.begin() as conn:
        found = conn.execute(
            text(
                "SELECT i.kind, i.status, i.campaign_id, c.slug FROM import_record i"
                " LEFT JOIN campaign c ON c.id = i.campaign_id WHERE i.id = :id"
            ),
            {"id": import_id},
        ).first()
        if found is None:
            raise StateError(t("error.import_not_found", id=import_id))
        if found.kind != KIND:
            raise StateError(t("error.import_not_results", id=import_id, kind=found.kind))
        lock_campaign(conn, found.campaign_id)
        status = conn.execute(
            text("SELECT status FROM import_record WHERE id = :id"), {"id": import_id}
        ).scalar_one()
        if status == "undone":
            raise StateError(t("error.import_undone", id=import_id))
        if status != "applied":
            raise StateError(t("error.import_not_applied", id=import_id, status=status))
        clients = list(
            conn.execute(
                text("SELECT DISTINCT client_id FROM event WHERE import_id = :id"),
                {"id": import_id},
            ).scalars()
        )
        voided = _void(
            conn,
            "e.import_id = :import_id",
            {
                "import_id": import_id,
                "reason": reason or t("summary.undo_reason", id=import_id),
                "source": "undo",
                "ref": f"import:{import_id}",
            },
        )
        conn.execute(
            text("UPDATE import_record SET status = 'undone' WHERE id = :id"), {"id": import_id}
        )
        if clients:
            stages.refresh(conn, found.campaign_id, clients)
    return VoidSummary(found.slug or "", voided, len(clients), import_id=import_id)


def kinds_from(stage: str) -> tuple[tuple[str, ...], bool]:
    """The event kinds that are evidence for `stage` and every later one, and whether only
    answered calls count (reached): what `correct --stage STAGE` voids. Notes stay."""
    if stage == funnel.CALLED:
        return (
            funnel.EVENT_CALL,
            funnel.EVENT_ATTEMPTS,
            funnel.EVENT_CALLBACK,
            *_LATER_KINDS,
        ), False
    if stage == funnel.REACHED:
        return (funnel.EVENT_CALL, funnel.EVENT_CALLBACK, *_LATER_KINDS), True
    if stage == funnel.WECOM_ADDED:
        return _LATER_KINDS, False
    if stage == funnel.PUSHED:
        return _LATER_KINDS[1:], False
    if stage == funnel.CONVERTED:
        return _LATER_KINDS[2:], False
    raise ConfigError(t("error.stage_unknown", stage=stage, stages=", ".join(funnel.STAGES)))


def correct(engine: Engine, slug: str, client_id: str, stage: str, reason: str) -> VoidSummary:
    """Void one client's evidence from `stage` on (e.g. reached: answered calls and later)."""
    kinds, answered_only = kinds_from(stage)
    if not reason.strip():
        raise ConfigError(t("error.reason_required"))
    registered = registry.get(engine, slug)
    with engine.begin() as conn:
        member = conn.execute(
            text("SELECT 1 FROM member WHERE campaign_id = :cid AND client_id = :client"),
            {"cid": registered.id, "client": client_id},
        ).first()
        if member is None:
            raise StateError(t("error.not_member", client_id=client_id, campaign=slug))
        lock_campaign(conn, registered.id)
        kind_list = ", ".join(f"'{k}'" for k in kinds)
        where = f"e.campaign_id = :cid AND e.client_id = :client AND e.stage IN ({kind_list})"
        if answered_only:
            reached = ", ".join(f"'{d}'" for d in sorted(funnel.REACHED_DISPOSITIONS))
            where += f" AND (e.stage <> '{funnel.EVENT_CALL}' OR e.value IN ({reached}))"
        voided = _void(
            conn,
            where,
            {
                "cid": registered.id,
                "client": client_id,
                "reason": reason.strip(),
                "source": "correct",
                "ref": f"stage:{stage}",
            },
        )
        stages.refresh(conn, registered.id, [client_id])
    return VoidSummary(slug, voided, 1, client_id=client_id, stage=stage)

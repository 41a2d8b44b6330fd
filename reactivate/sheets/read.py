"""Open an xlsx, xls or csv file as a table of canonical fields.

Exports from a core system are edited by hand before they reach us: a title above the
header, blank rows, a running-number column, a total at the bottom, headers in Chinese
with full-width brackets. `open_table` finds the header row by the fields it must hold
and maps each column to a canonical field; the rows come out as the reader gives them,
with cell values untouched (`values` cleans them).

Workbooks are read with python-calamine, which keeps values as typed (a float for any
number, '' for a blank, `date` objects for date cells) and reads a million rows in
seconds; CSV with the standard csv module, streamed. Per row we only skip blank rows and
pad short CSV rows: anything per cell belongs to the caller, who knows which cells matter.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import itertools
import unicodedata
import zipfile
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from xml.etree.ElementTree import ParseError

from reactivate.errors import InputError
from reactivate.messages import os_problem, t
from reactivate.sheets import values
from reactivate.sheets.fields import ROW_NUMBER_HEADERS, FieldSpec
from reactivate.sheets.limits import check_workbook

__all__ = [
    "CSV_SUFFIXES",
    "EXCEL_SUFFIXES",
    "HEADER_SCAN_ROWS",
    "Table",
    "fold_header",
    "header_text",
    "is_label_row",
    "open_table",
    "open_table_head",
    "parse_mapping",
    "sha256_of",
]

EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls"})
CSV_SUFFIXES = frozenset({".csv"})
# The header sits under at most a title, a date line and a few blank rows.
HEADER_SCAN_ROWS = 30

Row = list[object]


def fold_header(text: object) -> str:
    """A header as compared: full-width folded (NFKC), casefolded, without any whitespace.

    >>> fold_header("总资产（元）") == fold_header("总资产(元)"), fold_header(" Client ID ")
    (True, 'clientid')
    """
    if text is None:
        return ""
    if isinstance(text, float) and text.is_integer():
        text = int(text)
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    return "".join(folded.split())


_ROW_NUMBER_KEYS = frozenset(fold_header(header) for header in ROW_NUMBER_HEADERS)


@dataclass
class Table:
    """One sheet (or CSV file) with its header found and its columns mapped to fields."""

    file: str  # display name as the user gave it
    sheet: str | None  # sheet name; None for CSV
    header_row: int  # 1-based, as Excel shows it
    headers: list[str]  # header text per column, '' for a blank header
    columns: dict[str, int]  # canonical field -> 0-based column index
    extra: dict[str, int]  # other non-blank headers -> column index (kept with the client)
    total_rows: int | None  # rows after the header, when known cheaply (for a progress bar)
    # (row number as Excel shows it, cells padded to len(headers)); fully blank rows skipped
    rows: Iterator[tuple[int, list[object]]]
    # CSV only: how the file was decoded and split (a second reader must do the same)
    encoding: str | None = None
    delimiter: str | None = None

    def header_of(self, field: str) -> str:
        """The header text of `field` as the file spells it (the field name if absent)."""
        index = self.columns.get(field)
        if index is None:
            return field
        return self.headers[index] or field


# --------------------------------------------------------------------------- mapping


def _alias_lookup(fields: Sequence[FieldSpec]) -> dict[str, str]:
    """Folded header text -> field name; an alias claimed twice goes to the earlier field."""
    lookup: dict[str, str] = {}
    for spec in fields:
        for alias in (spec.name, *spec.aliases):
            lookup.setdefault(fold_header(alias), spec.name)
    return lookup


def _bad_map(spec: str, fields: Sequence[FieldSpec]) -> InputError:
    names = ", ".join(field.name for field in fields)
    return InputError(t("error.bad_map", spec=spec, fields=names))


def parse_mapping(specs: Sequence[str], fields: Sequence[FieldSpec]) -> dict[str, str]:
    """`--map 'HEADER=field'` options -> {fold_header(HEADER): field}.

    The field may be given by its canonical name or any of its aliases.

    >>> from reactivate.sheets.fields import ACCOUNT_FIELDS
    >>> parse_mapping(["Cust No=client_id", "电话2=手机号"], ACCOUNT_FIELDS)
    {'custno': 'client_id', '电话2': 'mobile'}
    """
    lookup = _alias_lookup(fields)
    mapping: dict[str, str] = {}
    for spec in specs:
        header, sep, field = spec.rpartition("=")
        folded_header = fold_header(header)
        name = lookup.get(fold_header(field))
        if not sep or not folded_header or name is None:
            raise _bad_map(spec, fields)
        mapping[folded_header] = name
    return mapping


def header_text(cell: object) -> str:
    """A header as the file spells it (for messages), trimmed, with whitespace runs as one."""
    if isinstance(cell, str):
        return " ".join(cell.split())
    return values.text(cell) or ""


@dataclass
class _HeaderMatch:
    headers: list[str]
    columns: dict[str, int]
    extra: dict[str, int]


def _match_header(
    cells: Sequence[object], lookup: Mapping[str, str], mapping: Mapping[str, str]
) -> _HeaderMatch:
    """Map the columns of a candidate header row to fields, mapped headers first."""
    headers = [header_text(cell) for cell in cells]
    folded = [fold_header(header) for header in headers]
    columns: dict[str, int] = {}
    claimed: set[int] = set()
    # --map beats an alias: the user named that column on purpose.
    for index, key in enumerate(folded):
        field = mapping.get(key)
        if field is not None and field not in columns:
            columns[field] = index
            claimed.add(index)
    for index, key in enumerate(folded):
        if index in claimed or key in mapping:
            continue
        field = lookup.get(key)
        if field is not None and field not in columns:
            columns[field] = index
            claimed.add(index)
    extra: dict[str, int] = {}
    copies: dict[str, int] = {}  # the last copy number given to each header
    for index, header in enumerate(headers):
        if index in claimed or not header or folded[index] in _ROW_NUMBER_KEYS:
            continue
        name, copy = header, copies.get(header, 1)
        if copy > 1:
            name = f"{header} ({copy})"
        while name in extra:  # two columns under one header: keep both
            copy += 1
            name = f"{header} ({copy})"
        copies[header] = copy
        extra[name] = index
    return _HeaderMatch(headers, columns, extra)


def _missing(fields: Sequence[FieldSpec], columns: Mapping[str, int]) -> list[FieldSpec]:
    """The required fields absent from a header, then the key fields when none is present."""
    missing = [spec for spec in fields if spec.required and spec.name not in columns]
    keys = [spec for spec in fields if spec.key]
    if keys and not any(spec.name in columns for spec in keys):
        missing.extend(keys)
    return missing


def _no_header(
    display: str,
    sheet: str | None,
    fields: Sequence[FieldSpec],
    best: _HeaderMatch | None,
) -> InputError:
    columns = best.columns if best is not None else {}
    missing = _missing(fields, columns)
    if not missing:  # no field at all is required or key; any header would have done
        missing = list(fields[:1])
    if missing[0].required:
        missing = missing[:1]
    else:
        missing = [spec for spec in missing if spec.key]
    names = " / ".join(spec.name for spec in missing)
    aliases = ", ".join(dict.fromkeys(alias for spec in missing for alias in spec.aliases))
    if sheet is None:
        return InputError(t("error.no_header_csv", file=display, missing=names, aliases=aliases))
    return InputError(
        t("error.no_header", file=display, sheet=sheet, missing=names, aliases=aliases)
    )


def _find_header(
    numbered_rows: Iterator[tuple[int, Row]],
    fields: Sequence[FieldSpec],
    mapping: Mapping[str, str],
) -> tuple[int, _HeaderMatch] | _HeaderMatch | None:
    """The header's row number and match, else the closest candidate (for the error)."""
    lookup = _alias_lookup(fields)
    best: _HeaderMatch | None = None
    for number, cells in itertools.islice(numbered_rows, HEADER_SCAN_ROWS):
        match = _match_header(cells, lookup, mapping)
        if match.columns and not _missing(fields, match.columns):
            return number, match
        if best is None or len(match.columns) > len(best.columns):
            best = match
    return best


def _check_mapping(mapping: Mapping[str, str], fields: Sequence[FieldSpec]) -> dict[str, str]:
    names = {spec.name for spec in fields}
    for header, field in mapping.items():
        if field not in names:
            raise _bad_map(f"{header}={field}", fields)
    return {fold_header(header): field for header, field in mapping.items()}


# ------------------------------------------------------------------------- workbooks


def _non_blank(rows: Iterator[Row], blank: Row, first: int = 1) -> Iterator[tuple[int, Row]]:
    # One list comparison per row, done in C: calamine pads every row to the sheet's width.
    for number, cells in enumerate(rows, first):
        if cells != blank:
            yield number, cells


def _unreadable(display: str, problem: object) -> InputError:
    return InputError(t("error.file_unreadable", file=display, problem=problem))


def _first_header_sheet(
    display: str,
    names: Sequence[str],
    hidden: Set[str],
    rows_of: Callable[[str], tuple[Iterator[tuple[int, Row]], int] | None],
    fields: Sequence[FieldSpec],
    sheet_name: str | None,
    mapping: Mapping[str, str],
) -> Table:
    """The chosen sheet, else the first with a header naming `fields`, as a Table.

    `rows_of(name)` gives a sheet's non-blank numbered rows and its last row number, or
    None for an empty sheet.
    """
    if sheet_name is not None:
        order = [_choose_sheet(names, sheet_name, display)]
    else:
        # Hidden sheets (lookup lists, macros' scratch) come last.
        order = [n for n in names if n not in hidden] + [n for n in names if n in hidden]
    first_error: InputError | None = None
    for name in order:
        sheet = rows_of(name)
        if sheet is None and sheet_name is None:
            continue
        best: _HeaderMatch | None = None
        if sheet is not None:
            rows, last_row = sheet
            found = _find_header(rows, fields, mapping)
            if not isinstance(found, tuple):
                best = found
            else:
                header_row, match = found
                return Table(
                    file=display,
                    sheet=name,
                    header_row=header_row,
                    headers=match.headers,
                    columns=match.columns,
                    extra=match.extra,
                    total_rows=last_row - header_row,
                    rows=rows,
                )
        # The first sheet with data is the default; a cover sheet of notes before it
        # should not stop a load, so later sheets are tried before giving up.
        first_error = first_error or _no_header(display, name, fields, best)
    if first_error is None:
        raise InputError(t("error.no_data", file=display))
    raise first_error


def _open_workbook_table(
    path: Path,
    display: str,
    fields: Sequence[FieldSpec],
    sheet_name: str | None,
    mapping: Mapping[str, str],
) -> Table:
    from python_calamine import CalamineError, CalamineWorkbook, SheetVisibleEnum

    check_workbook(path, display)
    try:
        with CalamineWorkbook.from_path(str(path)) as workbook:
            hidden = {
                meta.name
                for meta in workbook.sheets_metadata
                if meta.visible != SheetVisibleEnum.Visible
            }

            def rows_of(name: str) -> tuple[Iterator[tuple[int, Row]], int] | None:
                sheet = workbook.get_sheet_by_name(name)
                if sheet.start is None or sheet.end is None:
                    return None  # an empty sheet
                # iter_rows starts at the sheet's first row whatever the data's start,
                # so its row index is Excel's row number; columns start at the data.
                rows = cast(Iterator[Row], sheet.iter_rows())
                return _non_blank(rows, [""] * sheet.width), sheet.end[0] + 1

            return _first_header_sheet(
                display, list(workbook.sheet_names), hidden, rows_of, fields, sheet_name, mapping
            )
    except CalamineError as exc:
        problem: object = exc
        head = _head(path)
        if path.suffix.lower() == ".xls" and not head.startswith(_OLE2_SIGNATURE):
            # Some core systems export text under an .xls name: tab-separated, or a web page.
            if head.lstrip().startswith(b"<"):
                problem = t("problem.html_xls")
            elif _is_text(head):
                return _open_csv_table(path, display, fields, mapping)
        elif not head.startswith((b"PK", _OLE2_SIGNATURE)):  # neither an xlsx nor an xls
            problem = t("problem.not_a_workbook")
        raise _unreadable(display, problem) from None
    except OSError as exc:
        raise _unreadable(display, os_problem(exc)) from None


_OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # how every real .xls begins


def _head(path: Path, size: int = 1 << 16) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def _is_text(head: bytes) -> bool:
    """Text, not binary: no NUL bytes, unless it is UTF-16 (which begins with a BOM)."""
    return head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" not in head


def _choose_sheet(names: Sequence[str], wanted: str, display: str) -> str:
    if wanted in names:
        return wanted
    by_fold = {fold_header(name): name for name in names}
    found = by_fold.get(fold_header(wanted))
    if found is None:
        raise InputError(
            t("error.sheet_missing", file=display, sheet=wanted, sheets=", ".join(names))
        )
    return found


# ------------------------------------------------------------------------------- csv


def _csv_encoding(path: Path, display: str) -> tuple[str, int]:
    """The file's encoding (UTF-8 with or without BOM, UTF-16 with BOM, else GB18030) and
    its line count.

    One pass over the bytes in C: strict decoding is the only reliable test, and the
    same pass counts lines for the progress bar.
    """
    if _head(path, 2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        # Excel's "Unicode text"; its line count is only an estimate, as is fine for a bar.
        return "utf-16", path.stat().st_size // 40
    lines = 0
    last = b""
    utf8 = codecs.getincrementaldecoder("utf-8-sig")("strict")
    is_utf8 = True
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk
            if is_utf8:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    is_utf8 = False
    if last and not last.endswith(b"\n"):
        lines += 1
    if is_utf8:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
    if is_utf8:
        return "utf-8-sig", lines
    gb18030 = codecs.getincrementaldecoder("gb18030")("strict")
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                gb18030.decode(chunk)
        gb18030.decode(b"", final=True)
    except UnicodeDecodeError:
        raise _unreadable(display, t("problem.encoding")) from None
    return "gb18030", lines


def _delimiter(path: Path, encoding: str) -> str:
    """Tab for tab-separated text (Excel's "Unicode text", text exports named .xls), else comma."""
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        head = "".join(itertools.islice(handle, HEADER_SCAN_ROWS))
    return "\t" if head.count("\t") > head.count(",") else ","


def _csv_rows(
    path: Path, encoding: str, delimiter: str, display: str, skip: int
) -> Generator[tuple[int, Row], None, None]:
    """Records after the first `skip`, numbered as Excel shows them, blanks skipped.

    The file is opened on the first `next()`, and closed when the rows run out or the
    iterator is dropped.
    """
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        records = cast(Iterator[Row], itertools.islice(reader, skip, None))
        try:
            for number, cells in enumerate(records, skip + 1):
                if any(cells):
                    yield number, cells
        except csv.Error as exc:
            problem = t("problem.csv_row", row=reader.line_num, problem=exc)
            raise _unreadable(display, problem) from None
        except UnicodeDecodeError:
            raise _unreadable(display, t("problem.encoding")) from None


def _padded(rows: Iterator[tuple[int, Row]], width: int) -> Iterator[tuple[int, Row]]:
    for number, cells in rows:
        if len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        yield number, cells


def _open_csv_table(
    path: Path, display: str, fields: Sequence[FieldSpec], mapping: Mapping[str, str]
) -> Table:
    try:
        encoding, lines = _csv_encoding(path, display)
    except OSError as exc:
        raise _unreadable(display, os_problem(exc)) from None
    return _csv_table(path, display, fields, mapping, encoding, lines)


def _csv_table(
    path: Path,
    display: str,
    fields: Sequence[FieldSpec],
    mapping: Mapping[str, str],
    encoding: str,
    lines: int,
) -> Table:
    """The table of a CSV file of `encoding` and about `lines` lines: its header found."""
    try:
        delimiter = _delimiter(path, encoding)
        scan = _csv_rows(path, encoding, delimiter, display, 0)
        try:
            found = _find_header(scan, fields, mapping)
        finally:
            scan.close()
    except OSError as exc:
        raise _unreadable(display, os_problem(exc)) from None
    if found is None:
        raise InputError(t("error.no_data_csv", file=display))
    if not isinstance(found, tuple):
        raise _no_header(display, None, fields, found)
    header_row, match = found
    rows = _csv_rows(path, encoding, delimiter, display, header_row)
    return Table(
        file=display,
        sheet=None,
        header_row=header_row,
        headers=match.headers,
        columns=match.columns,
        extra=match.extra,
        total_rows=max(lines - header_row, 0),
        rows=_padded(rows, len(match.headers)),
        encoding=encoding,
        delimiter=delimiter,
    )


#: Bytes of a CSV file's head that `open_csv_head` decodes.
CSV_HEAD_BYTES = 1 << 20


def open_csv_head(
    path: Path, fields: Sequence[FieldSpec], *, mapping: Mapping[str, str] | None = None
) -> Table | None:
    """A CSV file's table as `open_table` finds it, when the file's first CSV_HEAD_BYTES
    are UTF-8: the rest is not decoded here, for a reader that refuses anything but
    UTF-8 as it reads (polars: the caller then opens the file by `open_table`, which
    decodes it whole and tells its encoding). `Table.rows` is empty and `total_rows` an
    estimate from the head's lines (for a progress bar). None when the head is not UTF-8,
    or anything else `open_table` would tell: it then gives its answer or its error.

    Decoding a 10M-row file whole, only to find it UTF-8, took 2.7 s of CPU and counting
    its lines 0.9 s more, before polars read it (benchmarks/README.md)."""
    path = Path(path)
    if path.suffix.lower() not in CSV_SUFFIXES or not path.is_file():
        return None
    try:
        head = _head(path, CSV_HEAD_BYTES)
        size = path.stat().st_size
        codecs.getincrementaldecoder("utf-8-sig")("strict").decode(head)  # a cut character waits
        lines = head.count(b"\n")
        if size > len(head):
            lines = round(lines * size / len(head))
        elif head and not head.endswith(b"\n"):
            lines += 1
        checked = _check_mapping(mapping or {}, fields)
        table = _csv_table(path, str(path), fields, checked, "utf-8-sig", lines)
    except (OSError, UnicodeDecodeError, InputError):
        return None
    table.rows = iter(())
    return table


# ------------------------------------------------------------------------------- api


def open_table(
    path: Path,
    fields: Sequence[FieldSpec],
    *,
    sheet: str | None = None,
    mapping: Mapping[str, str] | None = None,
    display_name: str | None = None,
) -> Table:
    """Open `path` (xlsx, xlsm, xls or csv) and find its header row for `fields`.

    `sheet` picks a workbook's sheet (default: the first with data whose header matches);
    `mapping` ({folded header: field}, from `parse_mapping`) names columns the aliases
    miss. Raises `InputError` when the file is missing, of another type, unreadable,
    or has no header row naming the required fields.
    """
    display = display_name if display_name is not None else str(path)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXCEL_SUFFIXES and suffix not in CSV_SUFFIXES:
        raise InputError(t("error.file_format", file=display, suffix=path.suffix or path.name))
    if not path.exists():
        raise InputError(t("error.file_missing", file=display))
    if not path.is_file():
        raise _unreadable(display, t("problem.not_a_file"))
    checked = _check_mapping(mapping or {}, fields)
    if suffix in CSV_SUFFIXES:
        return _open_csv_table(path, display, fields, checked)
    return _open_workbook_table(path, display, fields, sheet, checked)


def open_table_head(
    path: Path,
    fields: Sequence[FieldSpec],
    *,
    sheet: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> Table | None:
    """An xlsx file's table as `open_table` finds it, from the top of the sheets' XML only
    (`xlsx_head`): its rows are not read, and `Table.rows` is empty. None when that reader
    cannot tell (another format, an unusual workbook, no header found): `open_table` then
    reads the file and gives its answer or its error."""
    from reactivate.sheets import xlsx_head

    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm") or not path.is_file():
        return None
    checked = _check_mapping(mapping or {}, fields)
    check_workbook(path, str(path))
    try:
        workbook = xlsx_head.Workbook(path)
    except (xlsx_head.HeadUnreadable, zipfile.BadZipFile, KeyError, OSError, ParseError):
        return None
    try:
        parts = {name: part for name, part, _ in workbook.sheets}
        hidden = {name for name, _, visible in workbook.sheets if not visible}

        def rows_of(name: str) -> tuple[Iterator[tuple[int, Row]], int] | None:
            rows, last_row = workbook.head(parts[name], HEADER_SCAN_ROWS)
            return iter(rows), last_row

        table = _first_header_sheet(str(path), list(parts), hidden, rows_of, fields, sheet, checked)
    except (xlsx_head.HeadUnreadable, InputError, KeyError, OSError, ParseError, ValueError):
        return None
    finally:
        workbook.close()
    table.rows = iter(())
    return table


_LABEL_PREFIXES = ("合计", "总计", "小计", "total", "注", "说明", "备注")


def _is_blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _is_label_text(cell: object) -> bool:
    return isinstance(cell, str) and fold_header(cell).startswith(_LABEL_PREFIXES)


def is_label(id_text: str | None, cells: Sequence[object], id_index: int) -> bool:
    """A title, note or total row, given its id cell as text: ids start with a digit, and
    such a row holds little else (`is_label_row`)."""
    return (id_text is None or not id_text[:1].isdigit()) and is_label_row(cells, id_index)


def is_label_row(cells: Sequence[object], id_index: int) -> bool:
    """A row with no id holding only a label or a total, not client data to reject.

    True when the id cell is blank and the row has at most one non-blank cell, or a cell
    whose text starts with 合计/总计/小计/total/注/说明/备注. A total often sits in the
    first column, which may be the id's: an id cell reading 合计 and the like is no id.
    """
    if 0 <= id_index < len(cells):
        id_cell = cells[id_index]
        if not _is_blank(id_cell) and not _is_label_text(id_cell):
            return False
    filled = 0
    for cell in cells:
        if _is_blank(cell):
            continue
        if _is_label_text(cell):
            return True
        filled += 1
    return filled <= 1


def sha256_of(path: Path) -> str:
    """The file's SHA-256 as hex, read in chunks."""
    with Path(path).open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()

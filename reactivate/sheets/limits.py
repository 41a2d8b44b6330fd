"""How much an xlsx workbook may unpack to before any reader opens it.

calamine (and fastexcel on top of it) keeps every cell it reads, then lays a sheet out as
one dense grid from its first cell to its last: one stray cell at XFD1048576 asks for
512 GiB and aborts the process, and a few megabytes of zip can unpack to gigabytes of
cells or shared strings. So before a workbook is read, `check_workbook` unpacks it once,
a chunk at a time, and refuses it with what it found (file, sheet, the cells or bytes,
the cap) when it is more than a command can hold.

Each sheet's cells are checked against its declared `<dimension>` with one regular
expression per chunk (about 2.4 s of CPU for a million rows of 12 columns, 602 MB of
XML, 0.9 s of it inflating, against fastexcel's 6.6 s to read them); a sheet without one, or with a cell outside
it, against A1:P1048576, which any sheet may fill. A sheet with a cell outside both, or
written in a form that expression does not know (namespace prefixes, cells without a
reference), is read again tag by tag, placing each cell where calamine would (about 19 s
of CPU for that million rows). Either way the work is bounded
by `MAX_UNPACKED_BYTES`, and a file is checked once per process however many readers
open it.

.xls needs no check: its format caps a sheet at 65,536 rows by 256 columns (16.8 million
cells, about 1.2 GB in the readers at most) and it is not compressed.
"""

from __future__ import annotations

import functools
import itertools
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from reactivate.errors import InputError
from reactivate.messages import t

__all__ = [
    "MAX_CELLS",
    "MAX_RATIO",
    "MAX_SHARED_STRINGS",
    "MAX_UNPACKED_BYTES",
    "check_workbook",
]

#: Cells of one sheet, counted over the grid from A1 to its last cell (calamine lays
#: that grid out densely): 1,048,576 rows of 16 columns, more than a core system's
#: million-account export of 12. Reading such a sheet peaks at about 1.2 GB in
#: fastexcel or calamine (measured: 72 bytes a cell), which leaves room under 2 GB for
#: the rest of a command.
MAX_CELLS: Final = 1 << 24
#: Strings in the shared-string table: calamine holds each at about 55 bytes (measured)
#: before any sheet is read, so 8,388,608 cost about 460 MB. A million-row export
#: shares at most a few million distinct texts (ids, names, mobiles typed as text).
MAX_SHARED_STRINGS: Final = 1 << 23
#: Bytes the whole workbook unpacks to, as its headers declare them (a part that unpacks
#: to more than its header says is refused): a million accounts written as inline
#: strings unpack to 607 MB (85 MB packed), so 1 GiB leaves room, and caps the work.
MAX_UNPACKED_BYTES: Final = 1 << 30
#: How much bigger than its packed size a part may unpack to. Sheets of real data pack
#: 5-15x (measured: the synthetic million accounts 7x, a million rows of 16 columns of
#: seven repeated numbers 15x); a zip bomb packs about 1,000x. A part's first
#: `_RATIO_GRACE` bytes are exempt: tiny parts pack any way.
MAX_RATIO: Final = 100
_RATIO_GRACE: Final = 1 << 20

_READ = 1 << 16  # packed bytes read at a time: a bomb is caught after 100x this
_OUT = 8 << 20  # unpacked bytes produced at a time: a bomb's chunk cannot be larger
_CARRY_MAX = 1 << 20  # a tag longer than this is not a cell's start tag

#: Any sheet whose cells all lie in A1:P1048576 (16 columns, every row Excel has) fits
#: `MAX_CELLS`: the box tried when the sheet declares none, or one its cells overstep.
_ANY_SHEET_BOX: Final = (1 << 20, MAX_CELLS >> 20)
_SHEET = re.compile(r"xl/worksheets/[^/]+\.xml")
_SHARED_STRINGS = "xl/sharedStrings.xml"
_DIMENSION = re.compile(rb'<(?:[\w.-]+:)?dimension\s+ref\s*=\s*["\']([A-Za-z0-9:$]+)["\']')
_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")
#: A cell written with a namespace prefix: not for the fast pattern.
_PREFIXED_CELL = re.compile(rb":c[\s/>]")
#: Tags the exact scan places cells by: a row's end, or a row or cell start tag (its
#: reference read at once when it is the first attribute, as writers put it).
_TAG = re.compile(
    rb"</(?:[^\s<>/!?:]+:)?row>"
    rb"|<(?:[^\s<>/!?:]+:)?(row|c)(?=[\s/>])"
    rb"""(?:\s+r\s*=\s*["']([A-Za-z]*)([0-9]*)["'])?([^>]*)>"""
)
_R_ATTRIBUTE = re.compile(rb"""(?:^|\s)r\s*=\s*["']([A-Za-z]*)([0-9]*)["']""")
_SHARED_STRING = re.compile(rb"<(?:[^\s<>/!?:]+:)?si[\s/>]")


@dataclass
class _Found:
    """The largest sheet so far: cells counted, and the grid from A1 to the last cell."""

    cells: int = 0
    last_row: int = 0  # 1-based, 0 before any cell
    last_column: int = 0  # 1-based

    def place(self, row: int, column: int) -> None:
        self.cells += 1
        self.last_row = max(self.last_row, row)
        self.last_column = max(self.last_column, column)

    @property
    def grid(self) -> int:
        return self.last_row * self.last_column


_checked: set[tuple[str, int, int]] = set()


def check_workbook(path: Path, display: str) -> None:
    """Raise `InputError` when the xlsx at `path` unpacks to more than the caps allow.

    A file that is not a zip is left to the reader, which says what it is; a file
    checked before (same path, size and time) is not unpacked again.
    """
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if key in _checked:
            return
        with zipfile.ZipFile(path) as archive:
            _check_archive(path, archive, display)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error):
        return  # not a workbook we can unpack: the reader refuses it in its words
    _checked.add(key)


def _check_archive(path: Path, archive: zipfile.ZipFile, display: str) -> None:
    parts = [info for info in archive.infolist() if not info.is_dir()]
    # Each part is refused when it unpacks to more than its header says, so the headers'
    # sum bounds the work.
    declared = sum(info.file_size for info in parts)
    if declared > MAX_UNPACKED_BYTES:
        raise InputError(
            t(
                "error.workbook_unpacked",
                file=display,
                size=declared >> 20,
                cap=MAX_UNPACKED_BYTES >> 20,
            )
        )
    names = _sheet_names(archive)
    for info in parts:
        unpack = functools.partial(_unpack, path, archive, info, display)
        if _SHEET.fullmatch(info.filename):
            _check_sheet(unpack, display, names.get(info.filename, info.filename))
        elif info.filename == _SHARED_STRINGS:
            _check_shared_strings(unpack(), display)
        else:
            for _ in unpack():  # its size and ratio only
                pass


def _sheet_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet part -> sheet name, for messages; read only when the parts it comes from
    declare at most `_RATIO_GRACE` bytes (zipfile unpacks no more than a part declares)."""
    from reactivate.sheets import xlsx_head

    small = ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")
    try:
        if any(archive.getinfo(name).file_size > _RATIO_GRACE for name in small):
            return {}
        return {part: name for name, part, _ in xlsx_head.sheets_of(archive)}
    except (KeyError, xlsx_head.HeadUnreadable, SyntaxError):
        return {}


def _too_big(display: str, part: str, problem: str) -> InputError:
    return InputError(t("error.workbook_too_big", file=display, part=part, problem=problem))


def _unpack(
    path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, display: str
) -> Iterator[bytes]:
    """The part's bytes unpacked a chunk at a time, refused past `MAX_RATIO` times its
    packed size or past the size its header declares."""
    produced = 0
    for packed, chunk in _raw_chunks(path, archive, info):
        produced += len(chunk)
        if produced > _RATIO_GRACE and produced > MAX_RATIO * max(packed, 1):
            raise _too_big(display, info.filename, t("problem.unpack_ratio", ratio=MAX_RATIO))
        if produced > info.file_size:
            # calamine's zip reader unpacks what is there, not what the header says.
            raise _too_big(display, info.filename, t("problem.size_mismatch"))
        yield chunk


def _raw_chunks(
    path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo
) -> Iterator[tuple[int, bytes]]:
    """(packed bytes read so far, next unpacked chunk); raw zlib for deflate, which is
    2.5x faster than `ZipFile.open` on a 600 MB sheet, else zipfile's own reader."""
    if info.compress_type not in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED) or info.flag_bits & 1:
        with archive.open(info) as part:
            read = 0
            while chunk := part.read(_OUT):
                read = min(info.compress_size, read + len(chunk))
                yield read, chunk
        return
    with path.open("rb") as handle:
        handle.seek(info.header_offset)
        header = handle.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(info.filename)
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        handle.seek(info.header_offset + 30 + name_length + extra_length)
        left = info.compress_size
        read = 0
        inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        while left > 0:
            packed = handle.read(min(left, _READ))
            if not packed:
                break
            left -= len(packed)
            read += len(packed)
            if info.compress_type == zipfile.ZIP_STORED:
                yield read, packed
                continue
            data = packed
            while data:
                chunk = inflate.decompress(data, _OUT)
                data = inflate.unconsumed_tail
                if chunk:
                    yield read, chunk


#: (buffer, start, end): a stretch of unpacked text to search between start and end.
_Span = tuple[bytes, int, int]


def _spans(chunks: Iterator[bytes]) -> Iterator[_Span]:
    """The unpacked text in spans no tag crosses: each chunk from its first '<' to its
    last, and between two chunks the tag cut by the first (copied, a few bytes)."""
    carry = b""
    for chunk in chunks:
        first = chunk.find(b"<")
        if first < 0:  # text only, or the middle of a very long tag
            if carry:
                carry += chunk
                if len(carry) > _CARRY_MAX:
                    yield carry, 0, len(carry)
                    carry = b""
            continue
        if carry:
            seam = carry + chunk[:first]
            yield seam, 0, len(seam)
        last = chunk.rfind(b"<")
        if len(chunk) - last > _CARRY_MAX:
            yield chunk, first, len(chunk)
            carry = b""
        else:
            yield chunk, first, last
            carry = chunk[last:]
    if carry:
        yield carry, 0, len(carry)


def _check_shared_strings(chunks: Iterator[bytes], display: str) -> None:
    count = 0
    for buffer, start, end in _spans(chunks):
        count += len(_SHARED_STRING.findall(buffer, start, end))
        if count > MAX_SHARED_STRINGS:
            problem = t("problem.shared_strings", cap=f"{MAX_SHARED_STRINGS:,}")
            raise _too_big(display, _SHARED_STRINGS, problem)


def _check_sheet(unpack: Callable[[], Iterator[bytes]], display: str, sheet: str) -> None:
    """Refuse the sheet when its cells do not fit `MAX_CELLS`; `unpack()` gives its text."""

    def refuse(problem: str) -> InputError:
        return InputError(
            t("error.sheet_too_big", file=display, sheet=sheet, problem=problem, cap=cap)
        )

    cap = f"{MAX_CELLS:,}"
    spans = _spans(unpack())
    first = next(spans, (b"", 0, 0))
    boxes = [_ANY_SHEET_BOX]
    declared = _DIMENSION.search(*first)
    box = _box(declared.group(1).decode("ascii")) if declared is not None else None
    if declared is not None and box is not None:
        if box[0] * box[1] > MAX_CELLS:
            ref = declared.group(1).decode("ascii")
            raise refuse(t("problem.dimension", ref=ref, cells=f"{box[0] * box[1]:,}"))
        boxes.insert(0, box)
    for box in boxes:
        if box is not boxes[0]:
            spans = _spans(unpack())
            first = next(spans, (b"", 0, 0))
        if _within(box, itertools.chain([first], spans), refuse):
            return
    _place_cells(_spans(unpack()), refuse)


def _within(
    box: tuple[int, int], spans: Iterator[_Span], refuse: Callable[[str], InputError]
) -> bool:
    """Whether every cell tag is `<c r="REF"` with REF inside `box`; refuses on too many."""
    outside = _outside(*box)
    cells = 0
    for buffer, start, end in spans:
        if outside.search(buffer, start, end) or _PREFIXED_CELL.search(buffer, start, end):
            return False
        # every cell tag here is `<c r="...`, and every such text a cell tag: counted so
        # (0.36 s a million rows of 12 columns, against 0.43 s for `<c `)
        cells += buffer.count(b'<c r="', start, end)
        if cells > MAX_CELLS:
            raise refuse(t("problem.cell_count", cells=f"{cells:,}"))
    return True


def _place_cells(spans: Iterator[_Span], refuse: Callable[[str], InputError]) -> None:
    """Place every cell as calamine does (a reference sets row and column; a cell without
    one follows the last in its row; a row without one follows the last row) and refuse
    as soon as the count or the grid passes `MAX_CELLS`."""
    found = _Found()
    row = 1  # the row the next cell without a reference is in, 1-based
    column = 1
    for buffer, start, end in spans:
        for match in _TAG.finditer(buffer, start, end):
            name, letters, digits, attributes = match.groups()
            if name is None:  # </row>
                row, column = row + 1, 1
                continue
            if letters is None:  # r is not the first attribute, or there is none
                ref = _R_ATTRIBUTE.search(attributes)
                letters, digits = (ref.group(1), ref.group(2)) if ref else (b"", b"")
            if name == b"row":
                row, column = (int(digits) if digits else row), 1
                continue
            if digits:
                row = int(digits)
            if letters:
                column = _column_number(letters.decode("ascii"))
            if not attributes.endswith(b"/"):  # calamine keeps no cell without a value
                found.place(row, column)
            column += 1
            if found.cells > MAX_CELLS:
                raise refuse(t("problem.cell_count", cells=f"{found.cells:,}"))
            if found.grid > MAX_CELLS:
                where = f"{_column_letters(found.last_column)}{found.last_row}"
                raise refuse(t("problem.far_cell", ref=where, cells=f"{found.grid:,}"))


def _column_number(letters: str) -> int:
    """'A' -> 1, 'XFD' -> 16384."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def _column_letters(number: int) -> str:
    """1 -> 'A', 16384 -> 'XFD'."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _box(ref: str) -> tuple[int, int] | None:
    """(last row, last column) of a dimension like 'A1:L1000003' or 'B2', counted from A1."""
    last = ref.rpartition(":")[2]
    match = _REF.fullmatch(last)
    if match is None:
        return None
    return int(match.group(2)), _column_number(match.group(1))


def _outside(last_row: int, last_column: int) -> re.Pattern[bytes]:
    """A cell start tag that is not `<c r="REF"` with REF within A1 to the given corner.

    The in-box form is tried first: it fails at once for the cells of a sheet within its
    box (every `<c` there), and character classes rather than alternatives of single
    letters or digits keep it short (0.90 s of CPU for a million rows of 12 columns,
    against 1.15 s with the test for a cell tag first and the alternatives spelt out)."""
    columns = _at_most_letters(_column_letters(last_column))
    rows = _at_most_number(last_row)
    return re.compile(rb'<c(?! r="(?:' + columns + rb")(?:" + rows + rb')"[\s/>])(?=[\s/>])')


def _span(low: str, high: str) -> str:
    """A character class of `low` to `high`, or the one character."""
    return low if low == high else f"[{low}-{high}]"


def _times(pattern: str, count: int) -> str:
    """`pattern` `count` times over."""
    return "" if count == 0 else pattern if count == 1 else f"{pattern}{{{count}}}"


def _at_most_number(limit: int) -> bytes:
    """A pattern for the whole numbers 1..`limit`, written without leading zeros."""
    digits = str(limit)
    width = len(digits)
    choices = []
    if width > 1:  # the numbers of fewer digits
        more = width - 2
        choices.append(
            "[1-9]" + ("" if more == 0 else "[0-9]?" if more == 1 else f"[0-9]{{0,{more}}}")
        )
    for i, digit in enumerate(digits):
        lowest = 1 if i == 0 else 0
        last = i == width - 1
        highest = int(digit) if last else int(digit) - 1  # the limit itself with the last
        if highest >= lowest:
            rest = _times("[0-9]", width - i - 1)
            choices.append(f"{digits[:i]}{_span(str(lowest), str(highest))}{rest}")
    return "|".join(choices).encode("ascii")


def _at_most_letters(limit: str) -> bytes:
    """A pattern for the column names A..`limit` (shorter names come first in Excel)."""
    width = len(limit)
    choices = []
    if width > 1:
        choices.append("[A-Z]" if width == 2 else f"[A-Z]{{1,{width - 1}}}")
    for i, letter in enumerate(limit):
        last = i == width - 1
        highest = letter if last else chr(ord(letter) - 1)  # the limit itself with the last
        if highest >= "A":
            choices.append(f"{limit[:i]}{_span('A', highest)}{_times('[A-Z]', width - i - 1)}")
    return "|".join(choices).encode("ascii")

"""The first rows of an xlsx workbook's sheets, read from the XML without the rest.

Finding the header needs a few dozen rows, but calamine (and fastexcel on top of it)
parse a whole sheet before giving any: six seconds for a million rows. For the fast
load (`sheets.frames`) the header is found here, from the top of the sheet's XML and as
many shared strings as those rows use, and the sheet is then parsed once, by fastexcel.

Only what the header search needs is read: cell text, numbers and booleans, each row
padded as calamine pads it. Whatever this cannot read as calamine would (no dimension,
an unexpected part) gives None, and the caller opens the workbook the usual way.
"""

from __future__ import annotations

import itertools
import posixpath
import re
import zipfile
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import IO, Literal, cast
from xml.etree.ElementTree import Element, XMLPullParser

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PACKAGE_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CELL_REF = re.compile(r"([A-Z]{1,3})(\d+)")

Row = list[object]


class HeadUnreadable(Exception):
    """The workbook holds something this reader does not read as calamine does."""


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number - 1


def _ref(ref: str) -> tuple[int, int]:
    """'B3' -> (row 3, column 1): the row as Excel numbers it, the column 0-based."""
    match = _CELL_REF.fullmatch(ref)
    if match is None:
        raise HeadUnreadable(ref)
    return int(match.group(2)), _column_number(match.group(1))


class Workbook:
    """An xlsx file's sheets, in workbook order, with their visibility."""

    def __init__(self, path: Path) -> None:
        self.zip = zipfile.ZipFile(path)
        self._strings: Generator[str, None, None] | None = None
        self._strings_read: list[str] = []
        self.sheets = sheets_of(self.zip)

    def close(self) -> None:
        if self._strings is not None:
            self._strings.close()  # its part of the zip is open while it is unfinished
        self.zip.close()

    def shared_string(self, index: int) -> str:
        """Shared string `index`, reading the table only as far as needed."""
        if self._strings is None:
            self._strings = self._iter_shared_strings()
        while len(self._strings_read) <= index:
            more = next(self._strings, None)
            if more is None:
                raise HeadUnreadable("shared string")
            self._strings_read.append(more)
        return self._strings_read[index]

    def _iter_shared_strings(self) -> Generator[str, None, None]:
        if "xl/sharedStrings.xml" not in self.zip.namelist():
            return
        with self.zip.open("xl/sharedStrings.xml") as strings:
            for _, element in pull_events(strings):
                if element.tag == f"{_MAIN}si":
                    # Rich text is runs of <t>; phonetic guides (<rPh>) are not the text.
                    phonetic = _phonetic_texts(element)
                    yield "".join(
                        t.text or "" for t in element.iter(f"{_MAIN}t") if t not in phonetic
                    )
                    element.clear()

    def head(self, part: str, rows: int) -> tuple[list[tuple[int, Row]], int]:
        """The sheet's first `rows` non-blank rows numbered as Excel shows them, padded to the
        sheet's width from its first column, and the sheet's last row number."""
        with self.zip.open(part) as sheet:
            events = pull_events(sheet, ("start", "end"))
            first_column, last_column, last_row = _dimension(events)
            width = last_column - first_column + 1
            found: list[tuple[int, Row]] = []
            for event, element in events:
                if event != "end" or element.tag != f"{_MAIN}row":
                    continue
                cells: Row = [""] * width
                number = int(element.get("r", "0"))
                for cell in element.iter(f"{_MAIN}c"):
                    row, col = _ref(cell.get("r", ""))
                    if number == 0:
                        number = row
                    if not first_column <= col <= last_column:
                        raise HeadUnreadable("cell outside the dimension")
                    cells[col - first_column] = self._value(cell)
                element.clear()
                if any(cell != "" for cell in cells):
                    found.append((number, cells))
                    if len(found) == rows:
                        break
        return found, last_row

    def _value(self, cell: Element) -> object:
        kind = cell.get("t", "n")
        if kind == "inlineStr":
            return "".join(t.text or "" for t in cell.iter(f"{_MAIN}t"))
        value = cell.findtext(f"{_MAIN}v")
        if value is None:
            return ""
        if kind == "s":
            return self.shared_string(int(value))
        if kind == "str":
            return value
        if kind == "n":
            return float(value)
        if kind == "b":
            return value == "1"
        raise HeadUnreadable(f"cell type {kind}")  # errors, ISO dates: leave to calamine


def pull_events(
    stream: IO[bytes], events: tuple[Literal["start", "end"], ...] = ("end",)
) -> Iterator[tuple[str, Element]]:
    """`iterparse(stream, events)` without its reference cycle. An `iterparse` left before
    its end (a sheet's head, a property found) keeps every element it parsed until the
    cycle collector runs, and an upload pauses that collector while it reads: at 10M rows
    in 5,000 workbooks its heads held gigabytes. Dropped, this generator frees at once."""
    parser: XMLPullParser[Element] = XMLPullParser(events)
    # start and end events only: each comes with its element
    read = cast("Callable[[], Iterator[tuple[str, Element]]]", parser.read_events)
    while chunk := stream.read(16 * 1024):
        parser.feed(chunk)
        yield from read()
    parser.close()
    yield from read()


def sheets_of(archive: zipfile.ZipFile) -> list[tuple[str, str, bool]]:
    """(name, part, visible) of each sheet of an xlsx archive, in workbook order."""
    targets: dict[str, str] = {}
    with archive.open("xl/_rels/workbook.xml.rels") as rels:
        for _, element in pull_events(rels):
            if element.tag == f"{_PACKAGE_REL}Relationship":
                target = element.get("Target", "")
                if target.startswith("/"):
                    part = target.lstrip("/")
                else:
                    part = posixpath.normpath(posixpath.join("xl", target))
                targets[element.get("Id", "")] = part
    sheets = []
    with archive.open("xl/workbook.xml") as workbook:
        for _, element in pull_events(workbook):
            if element.tag == f"{_MAIN}sheet":
                sheet_part = targets.get(element.get(f"{_REL}id", ""))
                if sheet_part is None:
                    raise HeadUnreadable("sheet part")
                visible = element.get("state", "visible") == "visible"
                sheets.append((element.get("name", ""), sheet_part, visible))
    return sheets


def _phonetic_texts(si: Element) -> set[Element]:
    return {t for rph in si.iter(f"{_MAIN}rPh") for t in rph.iter(f"{_MAIN}t")}


def _dimension(events: Iterator[tuple[str, Element]]) -> tuple[int, int, int]:
    """(first column, last column, last row) from the sheet's <dimension>."""
    for event, element in itertools.islice(events, 200):
        if event == "start" and element.tag == f"{_MAIN}dimension":
            ref = element.get("ref", "")
            start, _, end = ref.partition(":")
            if not end:  # 'A1' alone: an empty sheet, or a single cell
                end = start
            first_row, first_column = _ref(start)
            last_row, last_column = _ref(end)
            if (first_row, first_column) == (last_row, last_column):
                raise HeadUnreadable("a sheet of one cell, or empty")
            return first_column, last_column, last_row
        if event == "start" and element.tag == f"{_MAIN}sheetData":
            break
    raise HeadUnreadable("no dimension")

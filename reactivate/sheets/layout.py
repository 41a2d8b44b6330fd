"""How every xlsx we write looks on screen and on paper: one place for all writers.

- Column widths from content (`ColumnWidths`): a CJK character takes two columns of
  the default font, a Latin one; a header that wraps needs only a share of its width.
- Print-ready pages (`print_ready`): landscape A4, every column on one page wide, the
  header row repeated on every page, a header line naming the campaign (and advisor)
  and a footer with the page number.
- Wrapped text gets a row height (`wrapped_height`): LibreOffice draws an unset height
  at one line, so wrapped rows are drawn over each other; Excel clips them after a save.
- Dates and times are date cells (`write_time`), never ISO text.

Everything here works on xlsxwriter worksheets and is cheap enough for the constant
memory writers: widths are set once, when the rows are written.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, Final

DATETIME_FORMAT: Final = "yyyy-mm-dd hh:mm"
DATE_FORMAT: Final = "yyyy-mm-dd"

#: Points per line of 11-point text, with room for CJK glyphs (which sit taller than
#: Latin ones in the fallback fonts LibreOffice and WPS use).
LINE_HEIGHT: Final = 16.0
#: Widest column we set: text past it is cut on screen (or wrapped where the column wraps).
MAX_WIDTH: Final = 60.0
MIN_WIDTH: Final = 4.0
#: Rows of data a sheet holds under its header row: Excel's 1,048,576 less one. xlsxwriter
#: drops a cell past the last row without an error, so a longer list goes on in another
#: sheet (`sheet_name`).
SHEET_DATA_ROWS = 1_048_575
#: Excel's and LibreOffice's header and footer hold at most 255 characters.
_HEADER_LIMIT: Final = 255


def text_width(value: object) -> int:
    """How many columns of the default font `value` takes: CJK (East Asian wide and
    full-width) characters count double. Multi-line text: its widest line."""
    text = value if isinstance(value, str) else _shown(value)
    if text.isascii():
        return max(map(len, text.split("\n"))) if "\n" in text else len(text)
    return max(
        sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
        for line in text.split("\n")
    )


def widest(texts: Iterable[str]) -> int:
    """The largest `text_width` among `texts` (0 for none), longest first: a text whose
    length (twice it, when not ASCII) cannot beat the widest so far is not measured, and
    once no shorter one can, the rest are not looked at. A column of a few hundred ids
    or names costs a sort by length."""
    best = 0
    for text in sorted(texts, key=len, reverse=True):
        if 2 * len(text) <= best:
            break
        if (len(text) if text.isascii() else 2 * len(text)) > best:
            best = max(best, text_width(text))
    return best


def _shown(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "FALSE"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, dt.datetime):
        return "2020-01-01 00:00"
    if isinstance(value, dt.date):
        return "2020-01-01"
    return str(value)


class ColumnWidths:
    """Each column's widest cell, seen as the rows are written; `apply` sets the widths.

    `header_lines`: how many lines a header may wrap to (its row must be that tall).
    """

    def __init__(self, header_lines: int = 1, maximum: float = MAX_WIDTH) -> None:
        self.header_lines = header_lines
        self.maximum = maximum
        self._widest: dict[int, int] = {}

    def see(self, col: int, value: object) -> None:
        self.see_width(col, text_width(value))

    def see_all(self, col: int, texts: Iterable[str]) -> None:
        """Every one of `texts` in column `col` (measured as `widest` does)."""
        self.see_width(col, widest(texts))

    def see_width(self, col: int, width: int) -> None:
        if width > self._widest.get(col, 0):
            self._widest[col] = width

    def see_row(self, values: Iterable[object], first_col: int = 0) -> None:
        for col, value in enumerate(values, start=first_col):
            self.see(col, value)

    def see_header(self, col: int, header: str) -> None:
        """A header that may wrap over `header_lines` lines (between words, or between
        any two CJK characters)."""
        self.see(col, "x" * wrap_width(header, self.header_lines))

    def see_headers(self, headers: Iterable[str], first_col: int = 0) -> None:
        for col, header in enumerate(headers, start=first_col):
            self.see_header(col, header)

    def width(self, col: int) -> float:
        """The column width (in characters of the default font) for what was seen."""
        return min(max(self._widest.get(col, 0) + 2, MIN_WIDTH), self.maximum)

    def apply(self, ws: Any, formats: Mapping[int, Any] | None = None) -> None:
        """Set every seen column's width (and its format from `formats`, if any)."""
        formats = formats or {}
        for col in sorted(set(self._widest) | set(formats)):
            ws.set_column(col, col, self.width(col), formats.get(col))


@functools.lru_cache(maxsize=1024)  # headers and instructions: the same few texts, every book
def wrap_width(text: str, lines: int) -> int:
    """The narrowest width (in columns) that fits `text` in `lines` lines, wrapped as
    spreadsheets wrap: at spaces, and between CJK characters."""
    pieces: list[tuple[int, bool]] = []  # (width, a space may follow it)
    for word in text.split(" "):
        if word.isascii():
            pieces.append((len(word), True))
            continue
        run = 0
        for ch in word:
            if unicodedata.east_asian_width(ch) in "WF":
                if run:
                    pieces.append((run, False))
                    run = 0
                pieces.append((2, False))
            else:
                run += 1
        pieces.append((run, True))
    width = max(max((w for w, _ in pieces), default=0), math.ceil(text_width(text) / lines))
    while _lines_at(pieces, width) > lines:
        width += 1
    return width


def _lines_at(pieces: list[tuple[int, bool]], width: int) -> int:
    """Greedy wrapping: how many lines `pieces` take `width` columns wide."""
    count, used, spaced = 1, 0, False
    for piece, space_after in pieces:
        needed = piece + (1 if spaced and used else 0)
        if used and used + needed > width:
            count, used = count + 1, piece
        else:
            used += needed
        spaced = space_after
    return count


@functools.lru_cache(maxsize=1024)
def wrapped_height(text: str, width: float, lines_at_least: int = 1) -> float:
    """The row height (points) `text` needs, wrapped in a column `width` characters wide."""
    usable = max(width * 0.9 - 1, 1)  # fonts differ: rather a little room than a cut line
    lines = sum(max(1, math.ceil(text_width(part) / usable)) for part in text.split("\n"))
    return LINE_HEIGHT * max(lines, lines_at_least)


def header_text(text: str) -> str:
    """`text` safe inside a page header or footer: `&` starts a control code there."""
    return text.replace("&", "&&")


def sheet_name(name: str, part: int) -> str:
    """The `part`-th sheet of a list too long for one (1: `name`; then "name 2", ...),
    within Excel's 31 characters."""
    return name[:31] if part == 1 else f"{name[:24]} {part}"


def print_ready(
    ws: Any,
    *,
    title: str,
    detail: str = "",
    page: str,
    header_rows: int = 1,
    one_page: bool = False,
) -> None:
    """Landscape A4, all columns on one page wide (with `one_page` the whole sheet on one
    page), the first `header_rows` rows repeated on every page, `title` at the top left
    and `detail` at the top right of every page, `page` (with `&P`/`&N`) at the bottom.
    """
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.set_margins(left=0.4, right=0.4, top=0.7, bottom=0.6)
    ws.fit_to_pages(1, 1 if one_page else 0)
    if header_rows:
        ws.repeat_rows(0, header_rows - 1)
    left, right = header_text(title), header_text(detail)
    room = _HEADER_LIMIT - len("&L&R") - len(right)
    ws.set_header(f"&L{left[:room]}&R{right}" if right else f"&L{left[:room]}")
    ws.set_footer(f"&C{page}")


def write_time(ws: Any, row: int, col: int, moment: dt.datetime | dt.date, fmt: Any) -> None:
    """A date or time as a date cell in `fmt` (wall clock: aware times lose their zone)."""
    if isinstance(moment, dt.datetime) and moment.tzinfo is not None:
        moment = moment.replace(tzinfo=None)
    ws.write_datetime(row, col, moment, fmt)

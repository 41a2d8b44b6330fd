"""Turning a table's raw cells into clean values, collecting every rejection with its place."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import operator
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from reactivate.errors import Rejection
from reactivate.messages import t
from reactivate.sheets.read import Table
from reactivate.sheets.values import BadValue

Parser = Callable[[object], Any]

#: Distinct cells a `remembered` parser keeps (a date column spans a few thousand days).
REMEMBERED_CELLS = 10_000


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (reference counting still frees everything).

    Loads and uploads allocate a row tuple or more per row, holding no cycles; each
    growth in the count of live objects triggers a collection that walks them all, and
    every imported module's objects too, and finds nothing (measured: 0.4-0.5 s of CPU
    for a load of 1M rows; 45 ms of a 5,000-row upload's 250 ms).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            # What was allocated meanwhile joins the oldest generation (frozen, then thawed
            # into it): else the collector, enabled again, walks all of it at the next
            # allocation, finding nothing (0.13 s after a list of 257,575 dropped clients).
            gc.freeze()
            gc.unfreeze()
            gc.enable()


class _Remembered(dict[object, Any]):
    """Parsed values by cell; a miss parses the cell, keeping text and date cells only."""

    def __init__(self, parse: Parser, limit: int) -> None:
        super().__init__()
        self.parse = parse
        self.limit = limit

    def __missing__(self, cell: object) -> Any:
        value = self.parse(cell)
        kind = type(cell)
        if (kind is str or kind is dt.date) and len(self) < self.limit:
            self[cell] = value
        return value


def remembered(parse: Parser, limit: int = REMEMBERED_CELLS) -> Parser:
    """`parse`, remembering its result for up to `limit` distinct text and date cells.

    For columns that repeat a few spellings down a million rows (branch, status, dates):
    a dict lookup is cheaper than parsing again, and every row then shares one value
    object instead of holding its own copy. Only `str` and `date` cells are kept, as they
    never compare equal to another type (1 == 1.0 == True, but '1' is none of them), so
    a number or bool cell always misses and is parsed; a cell that fails to parse raises
    every time. The parser returned is the dict's own lookup: a hit runs no Python code.
    """
    return _Remembered(parse, limit).__getitem__


class RowCleaner:
    """Cleans rows of one table: `fields` are (canonical field, parser) pairs, in output order.

    Fields the table lacks come out as None. The first bad value of a row rejects it,
    naming the column as the file spells it.
    """

    def __init__(self, table: Table, fields: Sequence[tuple[str, Parser]]) -> None:
        self.table = table
        self.fields = [(name, parse, table.columns.get(name)) for name, parse in fields]
        # The happy path in C: pick the row's cells, apply each column's parser. A field
        # the table lacks reads column 0 through a parser that ignores it.
        self._parsers = [parse if index is not None else _absent for _, parse, index in self.fields]
        indexes = [index if index is not None else 0 for _, _, index in self.fields]
        pick = operator.itemgetter(*indexes)
        self._pick: Callable[[Sequence[object]], Sequence[object]] = (
            pick if len(indexes) > 1 else lambda cells: (pick(cells),)
        )

    def clean(self, number: int, cells: Sequence[object]) -> tuple[Any, ...] | Rejection:
        try:
            return tuple(map(operator.call, self._parsers, self._pick(cells)))
        except BadValue:
            return self._clean_slowly(number, cells)

    def _clean_slowly(self, number: int, cells: Sequence[object]) -> tuple[Any, ...] | Rejection:
        """Field by field, so the first bad value is found and named."""
        values: list[Any] = []
        for name, parse, index in self.fields:
            if index is None:
                values.append(None)
                continue
            try:
                values.append(parse(cells[index]))
            except BadValue as problem:
                return self.reject(number, name, str(problem))
        return tuple(values)

    def reject(self, number: int, field: str | None, reason: str) -> Rejection:
        column = self.table.header_of(field) if field and field in self.table.columns else field
        return Rejection(self.table.file, self.table.sheet, number, column, reason)


def _absent(_cell: object) -> None:
    return None


#: How many rejections a summary shows (the reject file and the import log keep them all).
MAX_REPORTED_ERRORS = 100


def error_lines(errors: Sequence[Rejection]) -> Iterator[str]:
    """Human lines for the first rejections, then how many more."""
    for error in errors[:MAX_REPORTED_ERRORS]:
        yield str(error)
    if len(errors) > MAX_REPORTED_ERRORS:
        yield t("error.more_rejections", count=len(errors) - MAX_REPORTED_ERRORS)


def errors_json(errors: Sequence[Rejection]) -> list[dict[str, Any]]:
    """The first rejections as plain data, for `--format json`."""
    return [
        {"file": e.file, "sheet": e.sheet, "row": e.row, "column": e.column, "reason": e.reason}
        for e in errors[:MAX_REPORTED_ERRORS]
    ]

"""Turning a table's raw cells into clean values, collecting every rejection with its place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from reactivate.errors import Rejection
from reactivate.sheets.read import Table
from reactivate.sheets.values import BadValue

Parser = Callable[[object], Any]

#: Distinct cells a `remembered` parser keeps (a date column spans a few thousand days).
REMEMBERED_CELLS = 10_000


_UNSEEN = object()  # a parser may return None, so None cannot mean "not seen"


def remembered(parse: Parser, limit: int = REMEMBERED_CELLS) -> Parser:
    """`parse`, remembering its result for up to `limit` distinct text and date cells.

    For columns that repeat a few spellings down a million rows (branch, status, dates):
    a dict lookup is cheaper than parsing again, and every row then shares one value
    object instead of holding its own copy. Only `str` and `date` cells are remembered,
    as they never compare equal to another type (1 == 1.0 == True, but '1' is none of
    them); a cell that fails to parse raises every time.
    """
    seen: dict[object, Any] = {}

    def parse_remembered(cell: object) -> Any:
        kind = type(cell)
        if kind is not str and kind is not dt.date:
            return parse(cell)
        value = seen.get(cell, _UNSEEN)
        if value is _UNSEEN:
            value = parse(cell)
            if len(seen) < limit:
                seen[cell] = value
        return value

    return parse_remembered


class RowCleaner:
    """Cleans rows of one table: `fields` are (canonical field, parser) pairs, in output order.

    Fields the table lacks come out as None. The first bad value of a row rejects it,
    naming the column as the file spells it.
    """

    def __init__(self, table: Table, fields: Sequence[tuple[str, Parser]]) -> None:
        self.table = table
        self.fields = [(name, parse, table.columns.get(name)) for name, parse in fields]

    def clean(self, number: int, cells: Sequence[object]) -> tuple[Any, ...] | Rejection:
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

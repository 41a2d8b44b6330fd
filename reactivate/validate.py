"""Turning a table's raw cells into clean values, collecting every rejection with its place."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from reactivate.errors import Rejection
from reactivate.sheets.read import Table
from reactivate.sheets.values import BadValue

Parser = Callable[[object], Any]


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

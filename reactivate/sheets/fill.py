"""Filling an issued workbook's input columns, as an advisor would (the demo's simulated work).

openpyxl keeps the workbook's validations and very hidden stamp sheet as they are;
the file is saved under a temporary name and renamed. A cell the writer left empty
takes its column's style (fill, unlocked, date format) as Excel gives it to typing:
openpyxl would otherwise make it a default cell, locked and unformatted.
"""

from __future__ import annotations

from collections.abc import Mapping
from copy import copy
from pathlib import Path
from typing import Any

from reactivate.files import written_whole
from reactivate.sheets.workbook import CALL_SHEET

CellValue = object


def fill_workbook(path: Path, rows: Mapping[str, Mapping[str, CellValue]]) -> int:
    """Write `rows[client_id][header] = value` into the call sheet; returns rows filled."""
    import openpyxl

    book = openpyxl.load_workbook(path)
    try:
        sheet = book[CALL_SHEET]
        headers = {cell.value: cell.column for cell in sheet[1] if cell.value}
        styles = _column_styles(sheet)
        filled = 0
        for (id_cell,) in sheet.iter_rows(min_row=2, max_col=1):
            values = rows.get(str(id_cell.value))
            if not values:
                continue
            for header, value in values.items():
                column = headers[header]
                cell = sheet.cell(row=id_cell.row, column=column)
                if not cell.has_style and column in styles:
                    cell._style = copy(styles[column])
                cell.value = value
            filled += 1
        with written_whole(path, suffix=".xlsx") as temp:
            book.save(temp)
    finally:
        book.close()
    return filled


def _column_styles(sheet: Any) -> dict[int, Any]:
    """Column number -> the style its `<col>` element gives (a range covers several)."""
    styles: dict[int, Any] = {}
    for dimension in sheet.column_dimensions.values():
        if dimension.min is None or not dimension.has_style:
            continue
        for column in range(dimension.min, (dimension.max or dimension.min) + 1):
            styles[column] = dimension._style
    return styles

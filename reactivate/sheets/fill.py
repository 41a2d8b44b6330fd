"""Filling an issued workbook's input columns, as an advisor would (the demo's simulated work).

openpyxl keeps the workbook's validations and very hidden stamp sheet as they are;
the file is saved under a temporary name and renamed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from reactivate.sheets.workbook import CALL_SHEET

CellValue = object


def fill_workbook(path: Path, rows: Mapping[str, Mapping[str, CellValue]]) -> int:
    """Write `rows[client_id][header] = value` into the call sheet; returns rows filled."""
    import openpyxl

    book = openpyxl.load_workbook(path)
    try:
        sheet = book[CALL_SHEET]
        headers = {cell.value: cell.column for cell in sheet[1] if cell.value}
        filled = 0
        for (id_cell,) in sheet.iter_rows(min_row=2, max_col=1):
            values = rows.get(str(id_cell.value))
            if not values:
                continue
            for header, value in values.items():
                sheet.cell(row=id_cell.row, column=headers[header], value=value)
            filled += 1
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}", suffix=".xlsx")
        os.close(handle)
        try:
            book.save(temp)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    finally:
        book.close()
    return filled

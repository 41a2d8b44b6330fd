"""A list written as a workbook keeps every row: past a sheet's rows it goes on in more."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from reactivate.render.tables import write_rows
from reactivate.sheets import layout


def _sheets(path: Path) -> dict[str, list[tuple[object, ...]]]:
    book = openpyxl.load_workbook(path)
    return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}


def test_a_list_longer_than_a_sheet_goes_on_in_more_sheets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [{"client_id": f"{n:04d}", "calls": n} for n in range(5)]
    # a sheet of 2 rows stands for Excel's 1,048,575: past it xlsxwriter drops cells
    monkeypatch.setattr(layout, "SHEET_DATA_ROWS", 2)
    assert write_rows(iter(rows), "xlsx", tmp_path / "list.xlsx", title="名单") == 5
    sheets = _sheets(tmp_path / "list.xlsx")
    first = next(iter(sheets))
    assert list(sheets) == [first, f"{first} 2", f"{first} 3"]
    headers = {values[0] for values in sheets.values()}
    assert len(headers) == 1
    assert [len(values) - 1 for values in sheets.values()] == [2, 2, 1]
    written = [row for values in sheets.values() for row in values[1:]]
    assert written == [(r["client_id"], r["calls"]) for r in rows]


def test_a_list_that_fits_is_one_sheet(tmp_path: Path) -> None:
    rows = [{"client_id": f"{n:04d}"} for n in range(3)]
    write_rows(rows, "xlsx", tmp_path / "list.xlsx", title="名单")
    (values,) = _sheets(tmp_path / "list.xlsx").values()
    assert [row[0] for row in values[1:]] == ["0000", "0001", "0002"]


def test_continued_sheets_are_named_within_excel_s_31_characters() -> None:
    assert layout.sheet_name("流失名单", 1) == "流失名单"
    assert layout.sheet_name("流失名单", 2) == "流失名单 2"
    assert len(layout.sheet_name("x" * 40, 12)) <= 31
    assert len(layout.sheet_name("x" * 40, 1)) == 31

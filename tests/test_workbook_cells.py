"""The advisor's workbook, cell by cell and style by style, against a record of it.

`tests/data/workbook_cells.json` holds what openpyxl reads back from the workbooks of a
few specs (every cell's value and style, column widths and formats, row heights,
validations, conditional formats, protection, print settings, properties), as the
writer made them before it was made faster. A change to how the writer works must
leave every one of them as recorded; a change meant to alter the workbook rewrites the
record on purpose:

    .venv/bin/python tests/test_workbook_cells.py    # rewrites tests/data/workbook_cells.json
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from reactivate.rules.funnel import CALLBACK, DISPOSITIONS, NO_ANSWER
from reactivate.sheets.workbook import (
    WorkbookClient,
    WorkbookFollowup,
    WorkbookProduct,
    WorkbookSpec,
    write_advisor_workbook,
)

RECORD = Path(__file__).parent / "data" / "workbook_cells.json"
SECRET = b"test-secret-0123456789"
PRODUCTS = (
    WorkbookProduct("F001", "货币基金", 1),
    WorkbookProduct("F003", "稳健理财", 2),
    WorkbookProduct("F005", "成长股票", 4),
    WorkbookProduct("F006", "", 5),
)
SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = "伟芳娜秀英敏静丽强磊"
BANDS = ("<1万", "1万-5万", "5万-10万", "10万-50万", "50万以上", "")


def _client(index: int) -> WorkbookClient:
    risk = index % 6 or None  # 1-5, and now and then unknown
    return WorkbookClient(
        client_id=f"{index * 7919 % 10**8:08d}",
        name=None
        if index % 17 == 3
        else SURNAMES[index % 10] + GIVEN[index * 3 % 10] * (index % 3),
        mobile=None if index % 13 == 5 else f"13{index % 9}{index * 104729 % 10**8:08d}",
        branch=None if index % 11 == 7 else ("上海分公司", "北京 Branch & Co", "深圳")[index % 3],
        asset_band=BANDS[index % len(BANDS)],
        days_dormant=None if index % 19 == 2 else 180 + index * 37 % 3000,
        risk=risk,
        suitable_products=tuple(p.code for p in PRODUCTS if risk and p.risk <= risk),
    )


def _spec(count: int, **changes: Any) -> WorkbookSpec:
    base = WorkbookSpec(
        campaign_slug="spring-2024",
        campaign_name="2024 春季唤醒 & 回访",
        advisor_code="A007",
        advisor_name="王芳",
        branch="上海分公司",
        issue=3,
        issued_at=datetime(2024, 3, 1, 1, 30, tzinfo=UTC),
        timezone="Asia/Shanghai",
        dispositions=DISPOSITIONS,
        products=PRODUCTS,
        clients=tuple(sorted((_client(i) for i in range(count)), key=lambda c: c.client_id)),
        contact_link="https://work.weixin.qq.com/ca/cawcde0123456789",
    )
    return replace(base, **changes)


def _followups(spec: WorkbookSpec) -> WorkbookSpec:
    due = datetime(2024, 3, 4, 2, 0, tzinfo=UTC)
    clients = tuple(
        replace(
            client,
            followup=WorkbookFollowup(
                "预约回电时间已到" if index % 2 else "未接通,再拨",
                index % 4,
                (CALLBACK, NO_ANSWER, None)[index % 3],
                None if index % 5 == 1 else due - timedelta(days=2, minutes=index),
                None if index % 7 == 1 else due + timedelta(hours=index),
            ),
            contact_link=f"https://work.weixin.qq.com/ca/c{index}" if index % 3 else None,
        )
        for index, client in enumerate(spec.clients)
    )
    return replace(spec, clients=clients)


def specs() -> dict[str, WorkbookSpec]:
    """The recorded workbooks: name -> spec."""
    many = _spec(260)
    return {
        "book_260": many,
        "book_7_no_link": _spec(7, contact_link=None, campaign_name="短"),
        "empty_no_products": _spec(0, products=(), dispositions=DISPOSITIONS[:3]),
        "london_40_products": _spec(
            5,
            timezone="Europe/London",
            products=tuple(
                WorkbookProduct(f"P{i:03d}", f"产品{i},含逗号", i % 5 + 1) for i in range(40)
            ),
        ),
        "followup_30_links": _followups(_spec(30)),
    }


def _color(color: Any) -> Any:
    return (
        None if color is None else (color.type, color.rgb if color.type == "rgb" else color.value)
    )


def _style(cell: Any) -> dict[str, Any]:
    font, fill, border, align = cell.font, cell.fill, cell.border, cell.alignment
    return {
        "font": [font.b, font.sz, _color(font.color)],
        "fill": [fill.fill_type, _color(fill.fgColor), _color(fill.bgColor)],
        "border": [side.style for side in (border.left, border.right, border.top, border.bottom)],
        "align": [align.horizontal, align.vertical, align.wrap_text],
        "locked": [cell.protection.locked, cell.protection.hidden],
        "format": cell.number_format,
    }


def _validation(dv: Any) -> list[Any]:
    return [
        str(dv.sqref), dv.type, dv.operator, dv.formula1, dv.formula2, dv.allow_blank,
        dv.showErrorMessage, dv.showInputMessage, dv.errorStyle, dv.errorTitle, dv.error,
        dv.promptTitle, dv.prompt,
    ]  # fmt: skip


def fingerprint(path: Path) -> dict[str, Any]:
    """What openpyxl reads back of the workbook at `path`, as plain JSON values."""
    book = openpyxl.load_workbook(path)
    sheets: dict[str, Any] = {}
    for ws in book.worksheets:
        styles: list[dict[str, Any]] = []  # each distinct style once; cells name its index
        cells = {}
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is None and not cell.has_style:
                    continue
                style = _style(cell)
                if style not in styles:
                    styles.append(style)
                cells[cell.coordinate] = [repr(cell.value), cell.data_type, styles.index(style)]
        columns = {}
        for letter, dim in sorted(ws.column_dimensions.items()):
            style = dim._style
            columns[letter] = [
                dim.width, dim.min, dim.max, dim.number_format, dim.hidden,
                None if style is None else [
                    book._protections[style.protectionId].locked,
                    _color(book._fills[style.fillId].fgColor),
                ],
            ]  # fmt: skip
        setup, protection = ws.page_setup, ws.protection
        sheets[ws.title] = {
            "state": ws.sheet_state,
            "cells": cells,
            "styles": styles,
            "columns": columns,
            "rows": {str(k): d.height for k, d in sorted(ws.row_dimensions.items()) if d.height},
            "freeze": ws.freeze_panes,
            "filter": ws.auto_filter.ref,
            "gridlines": [ws.sheet_view.showGridLines, ws.print_options.gridLines],
            "protection": [
                protection.sheet,
                protection.password,
                protection.sort,
                protection.autoFilter,
                protection.formatColumns,
                protection.formatRows,
                protection.insertRows,
                protection.deleteRows,
                protection.selectLockedCells,
                protection.selectUnlockedCells,
                protection.objects,
                protection.scenarios,
            ],  # fmt: skip
            "validations": [_validation(dv) for dv in ws.data_validations.dataValidation],
            "conditional": [
                [
                    str(cf.sqref),
                    rule.type,
                    rule.formula,
                    rule.stopIfTrue,
                    None
                    if rule.dxf is None
                    else [
                        _color(rule.dxf.font.color) if rule.dxf.font else None,
                        _color(rule.dxf.fill.bgColor) if rule.dxf.fill else None,
                    ],
                ]
                for cf in ws.conditional_formatting
                for rule in cf.rules
            ],  # fmt: skip
            "print": [
                setup.orientation,
                setup.paperSize,
                setup.fitToWidth,
                setup.fitToHeight,
                ws.sheet_properties.pageSetUpPr.fitToPage
                if ws.sheet_properties.pageSetUpPr
                else None,
                ws.print_title_rows,
                [
                    ws.page_margins.left,
                    ws.page_margins.right,
                    ws.page_margins.top,
                    ws.page_margins.bottom,
                ],
                [ws.oddHeader.left.text, ws.oddHeader.center.text, ws.oddHeader.right.text],
                [ws.oddFooter.left.text, ws.oddFooter.center.text, ws.oddFooter.right.text],
            ],  # fmt: skip
            "links": sorted(
                [cell.coordinate, cell.hyperlink.target]
                for row in ws.iter_rows()
                for cell in row
                if cell.hyperlink is not None
            ),
        }
    properties = book.properties
    return {
        "sheets": sheets,
        "order": book.sheetnames,
        "active": book.active.title if book.active is not None else None,
        "properties": [properties.title, properties.created.isoformat()],
        "custom": [[p.name, p.value] for p in book.custom_doc_props.props],
    }


def _written(tmp: Path) -> dict[str, Any]:
    record = {}
    for name, spec in specs().items():
        path = tmp / f"{name}.xlsx"
        write_advisor_workbook(path, spec, SECRET)
        record[name] = fingerprint(path)
    return json.loads(json.dumps(record))  # tuples as lists, as the record holds them


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _written(tmp_path_factory.mktemp("cells"))


@pytest.mark.parametrize("name", list(specs()))
def test_workbook_is_as_recorded(written: dict[str, Any], name: str) -> None:
    recorded = json.loads(RECORD.read_text(encoding="utf-8"))[name]
    got = written[name]
    assert got["order"] == recorded["order"]
    for sheet, expected in recorded["sheets"].items():
        for part, value in expected.items():
            assert got["sheets"][sheet][part] == value, f"{name}: {sheet} {part}"
    assert got == recorded


def test_the_record_is_not_empty() -> None:
    recorded = json.loads(RECORD.read_text(encoding="utf-8"))
    assert set(recorded) == set(specs())
    calls = recorded["book_260"]["sheets"]["客户名单"]
    assert len(calls["cells"]) > 260 * 6 and len(calls["validations"]) == 11
    assert recorded["followup_30_links"]["sheets"]["客户名单"]["cells"]["X3"][0] != "None"


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        RECORD.write_text(
            json.dumps(_written(Path(folder)), ensure_ascii=False, indent=0, sort_keys=True) + "\n",
            encoding="utf-8",
        )
    print(f"wrote {RECORD}", file=sys.stderr)

"""The demo's simulated work: calls in working hours, and filled cells that keep the
input columns' style (fill, unlocked, date format)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
from helpers import WORKBOOK_SECRET, advisor_spec

from reactivate.demo.simulate import DEFAULT_RATES, WORKING_HOURS, ClientToWork, simulate
from reactivate.sheets.fill import fill_workbook
from reactivate.sheets.workbook import CALL_SHEET, write_advisor_workbook

SH = ZoneInfo("Asia/Shanghai")


def test_simulated_work_happens_in_working_hours_and_in_order() -> None:
    # assigned at every hour of a day, so many first calls would fall in the night
    clients = [
        ClientToWork(
            f"{n:06d}",
            dt.datetime(2020, 7, 1, n % 24, 17, tzinfo=SH) + dt.timedelta(days=n // 24),
            ("F001",),
        )
        for n in range(400)
    ]
    until = dt.datetime(2020, 12, 31, 18, 0, tzinfo=SH)
    results = simulate(clients, DEFAULT_RATES, until, seed=3, max_attempts=4)
    start, end = WORKING_HOURS
    assigned = {c.client_id: c.assigned_at for c in clients}
    seen = 0
    for work in results:
        moments = [call.at for call in work.calls]
        moments += [m for m in (work.wecom_added_at, work.pushed_at, work.converted_at) if m]
        for moment in moments:
            wall = moment.astimezone(SH)
            assert start <= wall.hour < end, (work.client_id, wall)
            assert moment >= assigned[work.client_id] and moment <= until
            seen += 1
        calls = [call.at for call in work.calls]
        assert calls == sorted(calls)
        if work.pushed_at and work.wecom_added_at:
            assert work.pushed_at >= work.wecom_added_at
    assert seen > 300


def test_filled_cells_keep_the_input_style(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    spec = advisor_spec(3)
    write_advisor_workbook(path, spec, WORKBOOK_SECRET)
    first = spec.clients[0].client_id
    filled = fill_workbook(
        path, {first: {"通话时间": dt.datetime(2024, 3, 2, 10, 30), "通话结果": "接通"}}
    )
    assert filled == 1
    sheet = openpyxl.load_workbook(path)[CALL_SHEET]
    column = {cell.value: cell.column for cell in sheet[1]}
    when = sheet.cell(2, column["通话时间"])
    result = sheet.cell(2, column["通话结果"])
    assert when.value == dt.datetime(2024, 3, 2, 10, 30)
    assert when.number_format == "yyyy-mm-dd hh:mm"
    for cell in (when, result):
        assert cell.protection.locked is False  # still editable on the protected sheet
        assert cell.fill.fgColor.rgb.endswith("FFF2CC")  # the input columns' light yellow

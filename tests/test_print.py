"""Every kind of workbook we write, as LibreOffice prints and reads it.

LibreOffice headless turns each one into a PDF and into CSV (every sheet): a 44-client
advisor book prints on at most 2 pages (the call list on one, the instructions on one),
each report sheet on one page; no two lines of text are drawn over each other (a wrapped
row without its height, or text cut by the next column); no cell computes to an error
(`Err:502`, `#VALUE!`). Those need `soffice` and poppler's `pdfinfo`/`pdftotext` and skip
without them; the checks of the files themselves (page set-up, row heights, date cells)
run everywhere.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
import shutil
import subprocess
import unicodedata
from dataclasses import replace
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
from helpers import CAMPAIGN_FILE, ROOT, WORKBOOK_SECRET, advisor_spec
from typer.testing import CliRunner

from reactivate.cli import app
from reactivate.sheets.fill import fill_workbook
from reactivate.sheets.workbook import (
    CALL_SHEET,
    INSTRUCTIONS_SHEET,
    WorkbookFollowup,
    write_advisor_workbook,
)

#: LibreOffice prints and reads the files: slow, and only where it and poppler are installed.
office = pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed"
)
poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdfinfo") is None,
    reason="poppler-utils (pdfinfo, pdftotext) is not installed",
)

SLUG = "2020h2-dormant"
_XHTML = "{http://www.w3.org/1999/xhtml}"
#: LibreOffice's CSV filter: UTF-8, quoted text, every sheet to its own file (the -1).
_CSV_ALL_SHEETS = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


def _convert(files: list[Path], to: str, out: Path, profile: Path) -> None:
    subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{profile}", "--headless",
         "--convert-to", to, "--outdir", str(out), *map(str, files)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True)
    found = re.search(r"^Pages:\s+(\d+)", info.stdout, re.MULTILINE)
    assert found is not None, info.stdout
    return int(found.group(1))


def _overlapping_lines(pdf: Path) -> list[str]:
    """Lines of text whose boxes cover each other by more than a quarter of a line's
    height: rows drawn over each other, or text running under the next column's."""
    layout = subprocess.run(
        ["pdftotext", "-bbox-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    found = []
    for number, page in enumerate(ElementTree.fromstring(layout).iter(f"{_XHTML}page"), 1):
        boxes = [
            (
                *(float(line.get(k, "0")) for k in ("xMin", "yMin", "xMax", "yMax")),
                " ".join(word.text or "" for word in line.iter(f"{_XHTML}word")),
            )
            for line in page.iter(f"{_XHTML}line")
        ]
        for i, (ax0, ay0, ax1, ay1, a) in enumerate(boxes):
            for bx0, by0, bx1, by1, b in boxes[i + 1 :]:
                wide = min(ax1, bx1) - max(ax0, bx0)
                high = min(ay1, by1) - max(ay0, by0)
                if wide > 1 and high > 0.25 * min(ay1 - ay0, by1 - by0):
                    found.append(f"{pdf.name} page {number}: {a[:30]!r} over {b[:30]!r}")
    return found


def _hashes(pdf: Path) -> list[str]:
    """Numbers too wide for their column, which print as ###."""
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    return [f"{pdf.name}: {line.strip()[:60]!r}" for line in text.splitlines() if "###" in line]


def _error_cells(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as stream:
        return [
            f"{path.name} row {number}: {cell!r}"
            for number, row in enumerate(csv.reader(stream), start=1)
            for cell in row
            if cell.startswith(("Err:", "#"))
        ]


def _invoke(db: Path, *args: str, lang: str = "en") -> str:
    result = CliRunner().invoke(app, [*args, "--db", str(db)], env={"REACTIVATE_LANG": lang})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One file of each kind we write: name -> path."""
    out = tmp_path_factory.mktemp("print")
    files: dict[str, Path] = {}
    # the advisor book of 44 clients, and a follow-up book of them
    files["book44"] = out / "book44.xlsx"
    spec = advisor_spec(44)
    write_advisor_workbook(files["book44"], spec, WORKBOOK_SECRET)
    due = dt.datetime(2024, 3, 4, 2, 0, tzinfo=dt.UTC)
    followup = WorkbookFollowup("预约回电时间已到", 2, "callback", due - dt.timedelta(days=2), due)
    files["followup44"] = out / "followup44.xlsx"
    clients = tuple(replace(c, followup=followup) for c in spec.clients)
    write_advisor_workbook(files["followup44"], replace(spec, clients=clients), WORKBOOK_SECRET)
    # the commands' workbooks on the sample data
    db = out / "r.db"
    _invoke(db, "campaign", "add", str(CAMPAIGN_FILE))
    _invoke(db, "advisors", "load", str(ROOT / "data" / "advisors.xlsx"))
    _invoke(db, "load", str(ROOT / "data" / "dormant_accounts.xlsx"), "-c", SLUG)
    _invoke(db, "assign", "-c", SLUG, "--assigned-at", "2020-07-01T09:00",
            "--out", str(out / "books"))  # fmt: skip
    files["assigned"] = max((out / "books").rglob("*.xlsx"), key=lambda p: p.stat().st_size)
    # filled as the demo fills it: a cell cut by a filled neighbour would show as overlap
    files["filled"] = out / "filled.xlsx"
    shutil.copy(files["assigned"], files["filled"])
    work = {"通话时间": dt.datetime(2020, 7, 2, 10, 30), "通话结果": "接通", "拨打次数": 1}
    ids = [row[0] for row in openpyxl.load_workbook(files["filled"])[CALL_SHEET].values][1:]
    assert fill_workbook(files["filled"], dict.fromkeys(ids, work)) == len(ids)
    for name, options in (
        ("report", ("--by", "advisor")),
        ("dropped", ("--dropped", "called")),
        ("attempts", ("--by", "attempt")),
    ):
        files[name] = out / f"{name}.xlsx"
        _invoke(db, "report", "-c", SLUG, *options, "-f", "xlsx", "--out", str(files[name]))
    # in Chinese too: its headers are narrower than the figures under them
    files["report_zh"] = out / "report_zh.xlsx"
    _invoke(db, "report", "-c", SLUG, "--by", "branch", "-f", "xlsx",
            "--out", str(files["report_zh"]), lang="zh")  # fmt: skip
    files["assignments"] = out / "assignments.xlsx"
    _invoke(db, "assignments", "export", "-c", SLUG, "-f", "xlsx",
            "--out", str(files["assignments"]))  # fmt: skip
    return files


@pytest.fixture(scope="module")
def printed(written: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The PDFs and CSVs LibreOffice makes of every file, in one folder."""
    out = tmp_path_factory.mktemp("printed")
    staged = []
    for name, path in written.items():  # one name per kind: the PDFs and CSVs follow it
        staged.append(out / "in" / f"{name}.xlsx")
        staged[-1].parent.mkdir(exist_ok=True)
        shutil.copy(path, staged[-1])
    profile = out / "profile"
    _convert(staged, "pdf", out, profile)
    _convert(staged, _CSV_ALL_SHEETS, out, profile)
    return out


@pytest.mark.slow
@office
@poppler
def test_an_advisor_book_of_44_clients_prints_on_two_pages(printed: Path) -> None:
    for name in ("book44", "followup44", "assigned", "filled"):
        assert _pages(printed / f"{name}.pdf") <= 2, name


@pytest.mark.slow
@office
@poppler
def test_each_report_sheet_prints_on_one_page(written: dict[str, Path], printed: Path) -> None:
    for name in ("report", "report_zh", "attempts"):
        sheets = openpyxl.load_workbook(written[name]).sheetnames
        assert _pages(printed / f"{name}.pdf") == len(sheets), name


@pytest.mark.slow
@office
@poppler
def test_no_text_is_drawn_over_other_text_or_cut(written: dict[str, Path], printed: Path) -> None:
    pdfs = sorted(printed.glob("*.pdf"))
    assert len(pdfs) == len(written)
    problems = [problem for pdf in pdfs for problem in _overlapping_lines(pdf) + _hashes(pdf)]
    assert not problems, "\n".join(problems)


@pytest.mark.slow
@office
@poppler
def test_no_cell_is_an_error(printed: Path) -> None:
    sheets = sorted(printed.glob("*.csv"))
    assert any(f"-{CALL_SHEET}" in p.name for p in sheets)
    assert any(f"-{INSTRUCTIONS_SHEET}" in p.name for p in sheets)
    problems = [problem for sheet in sheets for problem in _error_cells(sheet)]
    assert not problems, "\n".join(problems)


def test_wrapped_instruction_rows_are_tall_enough(written: dict[str, Path]) -> None:
    """Each wrapped row is given a height of at least a line per line of its text at
    the column's width (an unset height is one line: the next rows would be drawn over it)."""
    sheet = openpyxl.load_workbook(written["book44"])[INSTRUCTIONS_SHEET]
    width = sheet.column_dimensions["B"].width
    checked = 0
    for (cell,) in sheet.iter_rows(min_col=2, max_col=2):
        if not isinstance(cell.value, str):
            continue
        columns = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in cell.value)
        lines = math.ceil(columns / width)
        if lines > 1:
            height = sheet.row_dimensions[cell.row].height
            assert height is not None and height >= lines * 14, (cell.value, height)
            checked += 1
    assert checked >= 3


def test_dates_are_date_cells_with_a_format(written: dict[str, Path]) -> None:
    sheet = openpyxl.load_workbook(written["assignments"])["data"]
    column = [cell.value for cell in sheet[1]].index("assigned_at") + 1
    cell = sheet.cell(2, column)
    assert isinstance(cell.value, dt.datetime) and cell.number_format == "yyyy-mm-dd hh:mm"
    control = [cell.value for cell in sheet[1]].index("control") + 1
    assert {sheet.cell(r, control).value for r in range(2, sheet.max_row + 1)} <= {
        "yes",
        "no",
        "是",
        "否",
    }
    dropped = openpyxl.load_workbook(written["dropped"])
    calls = dropped[dropped.sheetnames[-1]]
    column = [cell.value for cell in calls[1]].index("last_call_at") + 1
    assert all(
        isinstance(calls.cell(r, column).value, dt.datetime | None)
        for r in range(2, calls.max_row + 1)
    )


def test_every_sheet_prints_landscape_one_page_wide_with_its_header_row(
    written: dict[str, Path],
) -> None:
    for name, path in written.items():
        for sheet in openpyxl.load_workbook(path).worksheets:
            if sheet.sheet_state != "visible":
                continue
            where = f"{name}/{sheet.title}"
            assert sheet.page_setup.orientation == "landscape", where
            assert sheet.sheet_properties.pageSetUpPr.fitToPage, where
            assert sheet.page_setup.fitToWidth in (None, 1), where  # 1 is the default
            assert "&P" in (sheet.oddFooter.center.text or ""), where
            if sheet.title not in (INSTRUCTIONS_SHEET, "summary", "汇总"):  # no header row
                assert sheet.print_title_rows == "$1:$1", where

"""Nothing dangerous leaves the system: no file we write holds a cell a spreadsheet would run.

A campaign whose clients are named like formulas (and whose rejected rows carry them)
goes through every command that writes CSV or xlsx. Every CSV cell that could start a
formula must carry a leading `'`; no xlsx cell may be a formula, as openpyxl reads it and
again after LibreOffice has opened and saved the file (LibreOffice also evaluates a
CSV's formulas on import, so each CSV is converted and checked too).
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from helpers import CAMPAIGN_FILE, ROOT
from typer.testing import CliRunner

from reactivate.cli import app
from reactivate.privacy import FORMULA_STARTS

SLUG = "2020h2-dormant"
HOSTILE = [
    '=HYPERLINK("http://evil","click")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "=1+1",
]
HEADER = "客户号,客户姓名,手机号码,所属营业部,总资产(元),最后交易日期,风险承受能力"


def _invoke(db: Path, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--db", str(db)])
    assert result.exit_code == 0, result.output
    return result.output


def _accounts(folder: Path) -> Path:
    lines = [HEADER]
    for i, name in enumerate(HOSTILE * 8):
        lines.append(
            f"00900{i:05d},{_quote(name)},1390000{i:04d},上海浦东南路营业部,30000,2019-06-01,C3"
        )
    # a row that will be rejected (bad mobile), its formula copied into the rejects file
    lines.append(f"0090099999,{_quote(HOSTILE[0])},123,上海浦东南路营业部,30000,2019-06-01,C3")
    path = folder / "accounts.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _outputs(tmp_path: Path) -> list[Path]:
    """Every CSV and xlsx file the commands write from that campaign."""
    db, out = tmp_path / "r.db", tmp_path / "out"
    out.mkdir()
    _invoke(db, "campaign", "add", str(CAMPAIGN_FILE))
    _invoke(db, "advisors", "load", str(ROOT / "data" / "advisors.xlsx"))
    rejects = out / "rejects.csv"
    _invoke(db, "load", str(_accounts(tmp_path)), "-c", SLUG, "--skip-invalid",
            "--rejects", str(rejects))  # fmt: skip
    _invoke(db, "assign", "-c", SLUG, "--assigned-at", "2020-07-01T09:00",
            "--out", str(out / "books"))  # fmt: skip
    files = [rejects, *sorted((out / "books").rglob("*.xlsx"))]
    for fmt in ("csv", "xlsx"):
        target = out / f"assignments.{fmt}"
        _invoke(db, "assignments", "export", "-c", SLUG, "-f", fmt, "--out", str(target))
        files.append(target)
        target = out / f"report.{fmt}"
        _invoke(db, "report", "-c", SLUG, "--by", "advisor", "-f", fmt, "--out", str(target))
        files.append(target)
        target = out / f"dropped.{fmt}"
        _invoke(db, "report", "-c", SLUG, "--dropped", "called", "-f", fmt, "--out", str(target))
        files.append(target)
    advisor_csv = out / "followups-A0001.csv"
    advisor_csv.write_text(
        _invoke(db, "followups", "-c", SLUG, "--advisor", "A0001", "-f", "csv"), encoding="utf-8"
    )
    files.append(advisor_csv)
    _invoke(db, "followups", "-c", SLUG, "--workbooks", str(out / "followups"))
    files += sorted((out / "followups").rglob("*.xlsx"))
    return files


def _csv_problems(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8-sig")
    found = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        for cell in row:
            if cell.startswith(FORMULA_STARTS):
                found.append(f"{path.name} line {number}: {cell[:40]!r}")
    return found


#: how LibreOffice saves a boolean cell in xlsx: a formula, but one that is only a value
_BOOLEANS = ("=TRUE()", "=FALSE()")


def _xlsx_problems(path: Path) -> list[str]:
    book = openpyxl.load_workbook(path)
    found = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f" and cell.value not in _BOOLEANS:
                    found.append(f"{path.name} {sheet.title}!{cell.coordinate}: {cell.value!r}")
    return found


def test_no_csv_or_xlsx_we_write_holds_a_formula(tmp_path: Path) -> None:
    files = _outputs(tmp_path)
    assert any(f.suffix == ".csv" for f in files) and any(f.suffix == ".xlsx" for f in files)
    problems = []
    for path in files:
        problems += _csv_problems(path) if path.suffix == ".csv" else _xlsx_problems(path)
    # the hostile names really reached the files (else the test proves nothing)
    assert any(
        "HYPERLINK" in p.read_text(encoding="utf-8-sig") for p in files if p.suffix == ".csv"
    )
    assert not problems, "\n".join(problems)


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed"
)
def test_libreoffice_finds_no_formula_in_what_we_write(tmp_path: Path) -> None:
    files = _outputs(tmp_path)
    converted = tmp_path / "converted"
    profile = tmp_path / "profile"
    for number, path in enumerate(files):  # a folder each: a.csv and a.xlsx both become a.xlsx
        subprocess.run(
            ["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to",
             "xlsx", "--outdir", str(converted / str(number)), str(path)],
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip
    back = sorted(converted.rglob("*.xlsx"))
    assert len(back) == len(files)
    problems = [p for path in back for p in _xlsx_problems(path)]
    assert not problems, "\n".join(problems)

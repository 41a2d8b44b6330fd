"""Write the small messy exports the sheet-reading tests run over.

    .venv/bin/python tests/data/make_files.py

One dormant-account list, as head office's exports hold it, in every format `load` reads:
a title row and a blank row above the header, a 序号 column, headers with full-width
brackets and stray spaces, ids with leading zeros as text and one id stored as a number,
mobiles stored as numbers and typed with +86 and dashes, date cells, Excel serials and
text dates, a blank row between clients, a 合计 row and a note under the data.

The .xls is written with xlwt, which is not a dependency: install it into a scratch
environment to regenerate (`pip install xlwt`); the committed file is what the tests use.
The names and numbers are made up.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

HERE = Path(__file__).resolve().parent

TITLE = "2020年下半年休眠客户名单(截至2020-06-30)"
HEADERS = [
    "序号",
    "客户号",
    "客户姓名",
    "手机号码",
    "所属营业部",
    "总资产（元）",
    " 最后交易 日期 ",
    "风险等级",
    "开户日期",
    "客户来源",
]


class Serial(float):
    """A date stored as a bare number, as an unformatted Excel cell holds it."""


# Each cell as typed in Excel; CSV_ROWS below is what "Save as CSV" makes of it.
XLSX_ROWS: list[list[object] | None] = [
    [1, "0010023456", "张三", 13812345678, "上海浦东营业部", 12345.67,
     dt.date(2019, 12, 1), "C3-稳健型", Serial(40000), "网点"],
    [2, "0010023457", " 李四 ", "+86 139-1234-5678", "上海浦东营业部", "¥1,234.00",
     "2020/1/5", "C1", "2010-05-06", ""],
    None,  # a blank row between clients
    [3, "10023458", "王五", 13712345678, "北京朝阳营业部", 0,
     Serial(43831), "激进型", "20150101", "APP"],
    [4, 10023459, "赵六", "137 1234 5679", "北京朝阳营业部", "12345.67元",
     "2020年1月5日", "c2", dt.date(2012, 3, 4), ""],
    ["合计", "", "", "", "", 25924.67, "", "", "", ""],
    ["注:资产为2020-06-30日终数据"],
]  # fmt: skip

CSV_ROWS: list[list[str]] = [
    [TITLE],
    [],
    [header for header in HEADERS],
    ["1", "0010023456", "张三", "13812345678", "上海浦东营业部", "12345.67",
     "2019/12/1", "C3-稳健型", "40000", "网点"],
    ["2", "0010023457", " 李四 ", "+86 139-1234-5678", "上海浦东营业部", "¥1,234.00",
     "2020/1/5", "C1", "2010-05-06", ""],
    [],
    ["3", "10023458", "王五", "13712345678", "北京朝阳营业部", "0",
     "43831", "激进型", "20150101", "APP"],
    ["4", "10023459", "赵六", "137 1234 5679", "北京朝阳营业部", "12345.67元",
     "2020年1月5日", "c2", "2012-03-04", ""],
    ["合计", "", "", "", "", "25924.67", "", "", "", ""],
    ["注:资产为2020-06-30日终数据"],
]  # fmt: skip


def write_xlsx(path: Path) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path))
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet = workbook.add_worksheet("休眠客户")
    sheet.write_string(0, 0, TITLE)
    for col, header in enumerate(HEADERS):
        sheet.write_string(2, col, header)
    for offset, cells in enumerate(XLSX_ROWS):
        for col, cell in enumerate(cells or []):
            row = 3 + offset
            if isinstance(cell, Serial):
                sheet.write_number(row, col, float(cell))
            elif isinstance(cell, dt.date):
                sheet.write_datetime(row, col, dt.datetime.combine(cell, dt.time()), date_format)
            elif isinstance(cell, (int, float)):
                sheet.write_number(row, col, cell)
            elif cell != "":
                sheet.write_string(row, col, str(cell))
    workbook.close()


def write_xls(path: Path) -> None:
    import xlwt  # type: ignore[import-untyped, import-not-found, unused-ignore]

    workbook = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    sheet = workbook.add_sheet("休眠客户")
    sheet.write(0, 0, TITLE)
    for col, header in enumerate(HEADERS):
        sheet.write(2, col, header)
    for offset, cells in enumerate(XLSX_ROWS):
        for col, cell in enumerate(cells or []):
            row = 3 + offset
            if isinstance(cell, Serial):
                sheet.write(row, col, float(cell))
            elif isinstance(cell, dt.date):
                sheet.write(row, col, cell, date_style)
            elif cell != "":
                sheet.write(row, col, cell)
    workbook.save(str(path))


def write_csv(path: Path, encoding: str) -> None:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(CSV_ROWS)


def main() -> None:
    write_xlsx(HERE / "accounts.xlsx")
    write_csv(HERE / "accounts_utf8.csv", "utf-8")
    write_csv(HERE / "accounts_utf8_bom.csv", "utf-8-sig")
    write_csv(HERE / "accounts_gb18030.csv", "gb18030")
    try:
        write_xls(HERE / "accounts.xls")
    except ImportError:
        print("xlwt is not installed: accounts.xls left as it is")


if __name__ == "__main__":
    main()

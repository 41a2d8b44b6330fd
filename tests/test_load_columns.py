"""The column-at-a-time load gives what the row-at-a-time load gives, cell by cell and file
by file; files the fast readers cannot read exactly take the row reader."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import xlsxwriter
from helpers import CAMPAIGN_FILE, query
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from reactivate import registry
from reactivate.db.engine import open_engine
from reactivate.demo import synthetic
from reactivate.load import LoadOptions, load_accounts
from reactivate.roster import load_roster
from reactivate.sheets import frames, read, values
from reactivate.sheets import values_columns as columns
from reactivate.sheets.fields import ACCOUNT_FIELDS
from reactivate.sheets.frames import ROW, open_frame
from reactivate.sheets.read import open_table, open_table_head
from reactivate.sheets.values import BadValue

PARSERS = [values.client_id, values.text, values.mobile, values.amount, values.date, values.risk]

# Pieces of the spellings exports hold, plain and odd: the fast twins must vouch only
# for cells whose value they know, and leave every other to the parser.
PIECES = [
    "0",
    "1",
    "7",
    "13812345678",
    "0010023456",
    "+86",
    "0086",
    " ",
    "  ",
    "\u3000",
    "\t",
    "-",
    ",",
    ".",
    ".0",
    "/",
    "年",
    "月",
    "日",
    "张",
    "三",
    "㐀",
    "豈",
    "ｱ",
    "Ａ",
    "１",
    "a",
    "Z",
    "C",
    "c3",
    "C3-稳健型",
    "保守型",
    "(",
    ")",
    "¥",
    "元",
    "e",
    "E+10",
    "_",
    '="',
    '"',
    "2020-01-05",
    "2020/1/5",
    "20200105",
    "2020-02-30",
    "43835",
    "00:00:00",
    "合计",
    "\x1c",
    "\u00a0",
    "\u2028",
    "·",
    "ß",
    # what makes an id look like another, or no id at all
    "\x00",
    "\u200b",
    "\ufeff",
    "\u2060",
    "\u200f",
    "\u202e",
    "\u2067",
    "０",
    "=",
]
cells_text = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=5).map("".join),
    st.text(alphabet="0123456789", min_size=30, max_size=34),  # ids about as long as allowed
)
cells_float = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**17), max_value=10**17).map(float),
    st.sampled_from([13812345678.0, 43835.0, 20200105.0, 1.0, 5.0, 0.5, -0.0, 1e16, 2e10]),
)
cells_datetime = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1))


def by_parser(parse: Any, cell: object) -> tuple[str, object]:
    try:
        return "ok", parse(columns.as_cell(cell))
    except BadValue as problem:
        return "bad", problem.reason


def by_column(parse: Any, series: pl.Series) -> list[tuple[str, object]]:
    cleaned = columns.clean(series, parse)
    return [
        ("bad", problem) if problem is not None else ("ok", value)
        for value, problem in zip(cleaned.values.to_list(), cleaned.problems.to_list(), strict=True)
    ]


@settings(max_examples=150, deadline=None)
@given(st.lists(cells_text, min_size=1, max_size=30))
def test_text_cells_clean_as_the_parsers_clean_them(cells: list[str]) -> None:
    for parse in PARSERS:
        expected = [by_parser(parse, cell) for cell in cells]
        assert by_column(parse, pl.Series(cells, dtype=pl.String)) == expected, parse.__name__


@settings(max_examples=100, deadline=None)
@given(st.lists(cells_float, min_size=1, max_size=30))
def test_number_cells_clean_as_the_parsers_clean_them(cells: list[float]) -> None:
    for parse in PARSERS:
        expected = [by_parser(parse, cell) for cell in cells]
        got = by_column(parse, pl.Series(cells, dtype=pl.Float64))
        # NaN is no value equal to itself; compare it by its place
        assert [repr(x) for x in got] == [repr(x) for x in expected], parse.__name__


@settings(max_examples=50, deadline=None)
@given(st.lists(cells_datetime, min_size=1, max_size=20))
def test_date_cells_clean_as_the_parsers_clean_them(cells: list[dt.datetime]) -> None:
    series = pl.Series(cells, dtype=pl.Datetime("ms"))
    millis = [cell.replace(microsecond=cell.microsecond // 1000 * 1000) for cell in cells]
    for parse in (values.date, values.text):
        assert by_column(parse, series) == [by_parser(parse, cell) for cell in millis]


def test_blank_cells_are_none_and_not_problems() -> None:
    series = pl.Series(["", None, "13812345678"], dtype=pl.String)
    cleaned = columns.clean(series, values.mobile)
    assert cleaned.values.to_list() == [None, None, "13812345678"]
    assert not cleaned.any_problem()


# ------------------------------------------------------------------------ whole files

HEADER = (
    "序号,客户号,客户姓名,手机号码,所属营业部,营业部代码,总资产(元),最后交易日期,"
    "风险承受能力,开户日期,原客户经理,账户状态,渠道"
)
MESSY_ROWS = [
    '1,0010000001,张三,13800000001,上海浦东南路营业部,0101,"12,345.67",2019-12-01,C3-稳健型,2015-03-01,A001,正常,网上',
    "2,0010000002,\u3000李四\u3000,+86 138-0000-0002,上海 浦东南路营业部,,5000,2019/6/5,保守型,2016/1/1,王芳,正常,",
    "3,0010000003,王五,138 0000 0003,北京金融街营业部,0201,800000,20180105,C5,20100101,,正常,电话",
    "4,0010000004,赵六,13800000004,杭州西湖营业部,,100,,C2,,,正常,",
    "",
    ",,,,,,,,,,,,",
    '5,="0010000005",Ann  Lee,13800000005,上海浦东南路营业部,0101,1.2E+5,2019-01-01 00:00:00,2,43000,B001,冻结,',
    "6,0010000006,钱七,13800000006,上海浦东南路营业部,0101,abc,2019-01-01,C9,2010-01-01,,正常,",  # two bad cells
    "7,0010000007,孙八,,上海浦东南路营业部,0101,100,2019-01-01,C1,2010-01-01,,正常,",  # no mobile
    "8,,周九,13800000008,上海浦东南路营业部,0101,100,2019-01-01,C1,2010-01-01,,正常,",  # no id
    "9,0010000001,张三,13800000001,上海浦东南路营业部,0101,12345.67,2019-12-01,C3,2015-03-01,A001,正常,网上",  # noqa: E501 (a duplicate)
    "10,0010000009,吴十,13800000009,上海浦东南路营业部,0101,100,2019-01-01,C1,2010-01-01,,正常,",
    "11,0010000009,吴十,13800000010,上海浦东南路营业部,0101,100,2019-01-01,C1,2010-01-01,,正常,",  # conflict
    "12,0010000011,郑一,13800000011,上海浦东南路营业部,0101,100,2020-06-01,C1,2010-01-01,,正常,",  # recent
    "13,0010000012,Ｍａｒｙ,13800000012,火星营业部,,100,2019-01-01,C1,2010-01-01,,销户,",
    "14,0010000013,冯二,13800000013,上海浦东南路营业部,0101,100,2019-02-30,C1,2010-01-01,,正常,",  # no such day
    "合计,,,,,,1000000,,,,,,",
    "注：数据截至2020-06-30",
]

ROSTER = """工号,姓名,营业部,营业部代码,企业微信账号,容量,状态
A001,王芳,上海浦东南路营业部,0101,wangfang,300,在职
B001,张伟,北京金融街营业部,0201,zhangwei,200,在职
"""


def row_reader_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def rows_only(path: Path, fields: Any, *, batch_rows: Any, **options: Any) -> tuple[Any, None]:
        return open_table(path, fields, **options), None

    monkeypatch.setattr(frames, "open_frames", rows_only)  # as each file is opened


def load_both_ways(
    db_url: str, tmp_path: Path, path: Path, monkeypatch: pytest.MonkeyPatch, **options: Any
) -> list[tuple[dict[str, Any], list[tuple[Any, ...]]]]:
    """Load `path` with the fast readers, then into a second database with the row reader:
    each load's JSON summary and what it wrote."""
    outcomes = []
    for way in ("frames", "rows"):
        if way == "rows":
            row_reader_only(monkeypatch)
        db = db_url if way == "frames" else str(tmp_path / "rows.db")
        engine = open_engine(db)
        registry.register(engine, CAMPAIGN_FILE)
        roster = tmp_path / "roster.csv"
        roster.write_text(ROSTER, encoding="utf-8")
        load_roster(engine, roster)
        summary = load_accounts(engine, "2020h2-dormant", path, LoadOptions(**options))
        engine.dispose()
        data = summary.to_json()
        data.pop("import_id")
        data.pop("rejects_file")
        written = query(
            db,
            """SELECT c.client_id, c.name, c.mobile, c.branch, c.assets, c.last_trade_date,
                      c.risk, c.opened_at, c.previous_advisor, c.status, c.extra, m.dnc
               FROM client c LEFT JOIN member m ON m.client_id = c.client_id
               ORDER BY c.client_id""",
        )
        outcomes.append((data, [tuple(_plain(v) for v in row) for row in written]))
    return outcomes


def test_messy_csv_loads_the_same_either_way(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(
        "休眠客户清单\n\n" + HEADER + "\n" + "\n".join(MESSY_ROWS) + "\n", encoding="utf-8-sig"
    )
    table, frame = open_frame(path, ACCOUNT_FIELDS)
    assert frame is not None  # the fast reader reads this one
    (fast, fast_rows), (slow, slow_rows) = load_both_ways(
        db_url, tmp_path, path, monkeypatch, skip_invalid=True
    )
    assert fast == slow
    assert fast_rows == slow_rows
    assert fast["rejected"] == 6 and fast["duplicates"] == 1 and fast["rows"] == 14
    extra = {row[0]: row[10] for row in fast_rows}
    assert json.loads(extra["0010000001"]) == {"渠道": "网上"}


@pytest.mark.parametrize("pad", [None, 10])
def test_ids_short_of_their_zeros_load_the_same_either_way(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pad: int | None
) -> None:
    path = tmp_path / "accounts.csv"
    shortened = [row.replace(",00100000", ",100000", 1) for row in MESSY_ROWS[:4]]
    path.write_text(HEADER + "\n" + "\n".join([*MESSY_ROWS, *shortened]) + "\n", "utf-8")
    (fast, fast_rows), (slow, slow_rows) = load_both_ways(
        db_url, tmp_path, path, monkeypatch, skip_invalid=True, pad_ids=pad
    )
    assert fast == slow
    assert fast_rows == slow_rows
    if pad is None:  # each shortened id is refused as the client it lost its zeros from
        assert fast["rejected"] == 6 + 4
    else:  # each is the client it was shortened from, once
        assert fast["rejected"] == 6 and fast["duplicates"] == 1 + 4
    assert not [row for row in fast_rows if not row[0].startswith("00")]


def test_gb18030_csv_takes_the_fast_reader(tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(HEADER + "\n" + MESSY_ROWS[0] + "\n", encoding="gb18030")
    table, frame = open_frame(path, ACCOUNT_FIELDS)
    assert frame is not None
    assert frame[ROW].to_list() == [2]
    assert frame["c2"].to_list() == ["张三"]


def test_csv_head_finds_the_table_open_table_finds(tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(
        "休眠客户清单\n\n" + HEADER + "\n" + "\n".join(MESSY_ROWS) + "\n", encoding="utf-8-sig"
    )
    head = read.open_csv_head(path, ACCOUNT_FIELDS)
    full = open_table(path, ACCOUNT_FIELDS)
    assert head is not None
    fields = ("file", "sheet", "header_row", "headers", "columns", "extra", "encoding")
    assert [getattr(head, f) for f in fields] == [getattr(full, f) for f in fields]
    assert (head.delimiter, head.total_rows) == (full.delimiter, full.total_rows)  # all in the head
    assert list(head.rows) == []
    gb18030 = tmp_path / "gb18030.csv"
    gb18030.write_text(HEADER + "\n" + MESSY_ROWS[0] + "\n", encoding="gb18030")
    assert read.open_csv_head(gb18030, ACCOUNT_FIELDS) is None  # open_table tells its encoding


@pytest.mark.parametrize("batch_rows", [100, 1000])
def test_csv_not_utf8_past_its_head_loads_the_same_either_way(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_rows: int
) -> None:
    """A GB18030 file whose head is plain ASCII, so UTF-8 too: polars refuses the first
    line past it that is not (in the first batch, or in a later one), and the file is
    read as `open_table` tells, Chinese name and all."""
    monkeypatch.setattr(read, "CSV_HEAD_BYTES", 1 << 14)
    header = "client_id,name,mobile,branch,assets,last_trade_date,risk,opened_at,status"
    row = "00100{:05},Zhang San,138000{:05},Pudong,5000,2019-06-05,C3,2015-03-01,normal"
    plain = [row.format(i, i) for i in range(1, 301)]  # 24 kB, past the head
    chinese = "0010000999,张三,13800000999,上海浦东南路营业部,5000,2019-06-05,C3,2015-03-01,正常"
    path = tmp_path / "accounts.csv"
    path.write_text("\n".join([header, *plain, chinese]) + "\n", encoding="gb18030")
    assert read.open_csv_head(path, ACCOUNT_FIELDS) is not None
    (fast, fast_rows), (slow, slow_rows) = load_both_ways(
        db_url, tmp_path, path, monkeypatch, skip_invalid=True, batch_rows=batch_rows
    )
    assert fast == slow
    assert fast_rows == slow_rows
    assert fast["rows"] == 301
    assert [row[1] for row in fast_rows if row[0] == "0010000999"] == ["张三"]


def test_csv_the_fast_reader_cannot_split_takes_the_row_reader(tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    # a stray quote inside an unquoted cell: the csv module keeps it, polars refuses
    path.write_text(HEADER + "\n" + MESSY_ROWS[0].replace("张三", 'Zhang"San') + "\n", "utf-8")
    table, frame = open_frame(path, ACCOUNT_FIELDS)
    assert frame is None
    assert [cells[2] for _, cells in table.rows] == ['Zhang"San']


def write_workbook(
    path: Path, rows: Sequence[Sequence[object]], *, start: int = 2, first_col: int = 0
) -> None:
    workbook = xlsxwriter.Workbook(str(path))
    date = workbook.add_format({"num_format": "yyyy-mm-dd"})
    cover = workbook.add_worksheet("说明")
    cover.write(0, 0, "说明：本表由核心系统导出")
    cover.hide()
    sheet = workbook.add_worksheet("客户")
    sheet.activate()
    sheet.write(0, first_col, "休眠客户清单")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                sheet.write_datetime(start + r, first_col + c, value, date)
            elif value is not None:
                sheet.write(start + r, first_col + c, value)
    workbook.close()


# One account per line, as a sheet shows it.
# fmt: off
WORKBOOK_ROWS: list[Sequence[object] | None] = [
    HEADER.split(","),
    [1, "0010000001", "张三", 13800000001.0, "上海浦东南路营业部", "0101", 12345.67, dt.date(2019, 12, 1), "C3-稳健型", dt.date(2015, 3, 1), "A001", "正常", "网上"],  # noqa: E501
    [2, "0010000002", " 李四 ", 13800000002.0, "上海 浦东南路营业部", None, 5000.0, dt.date(2019, 6, 5), "保守型", dt.date(2016, 1, 1), "王芳", "正常", None],  # noqa: E501
    None,  # a blank row
    [3, "0010000003", "王五", 13800000003.0, "火星营业部", None, 800000.0, None, "C5", dt.date(2010, 1, 1), None, "正常", "电话"],  # noqa: E501
    [4, "0010000001", "张三", 13800000001.0, "上海浦东南路营业部", "0101", 12345.67, dt.date(2019, 12, 1), "C3", dt.date(2015, 3, 1), "A001", "正常", "网上"],  # noqa: E501
    [5, "0010000005", "钱七", 12345.0, "上海浦东南路营业部", "0101", 100.0, dt.date(2019, 1, 1), "C9", dt.date(2010, 1, 1), None, "正常", None],  # noqa: E501
    ["合计", None, None, None, None, None, 830345.67, None, None, None, None, None, None],
]
# fmt: on


def test_typed_workbook_loads_the_same_either_way(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "accounts.xlsx"
    write_workbook(path, [row or [] for row in WORKBOOK_ROWS], first_col=1)
    table, frame = open_frame(path, ACCOUNT_FIELDS)
    assert frame is not None and table.sheet == "客户"
    (fast, fast_rows), (slow, slow_rows) = load_both_ways(
        db_url, tmp_path, path, monkeypatch, skip_invalid=True
    )
    assert fast == slow
    assert fast_rows == slow_rows
    assert (fast["rows"], fast["rejected"], fast["duplicates"]) == (5, 1, 1)


def test_a_column_with_no_value_reads_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # No row names a previous advisor: fastexcel reads the blank column as text and says so
    # through logging, which with nothing configured would print on the user's terminal.
    path = tmp_path / "accounts.xlsx"
    header, *accounts = (row for row in WORKBOOK_ROWS[:3] if row is not None)
    write_workbook(path, [header, *[[*row[:10], None, *row[11:]] for row in accounts]])
    with caplog.at_level(logging.WARNING):
        _table, frame = open_frame(path, ACCOUNT_FIELDS)
    assert frame is not None
    assert [record.getMessage() for record in caplog.records] == []


def test_workbook_head_finds_the_table_open_table_finds(tmp_path: Path) -> None:
    path = tmp_path / "accounts.xlsx"
    write_workbook(path, [row or [] for row in WORKBOOK_ROWS], start=4, first_col=2)
    head = open_table_head(path, ACCOUNT_FIELDS)
    full = open_table(path, ACCOUNT_FIELDS)
    assert head is not None
    assert (head.sheet, head.header_row, head.headers, head.columns, head.extra) == (
        full.sheet,
        full.header_row,
        full.headers,
        full.columns,
        full.extra,
    )
    _, frame = open_frame(path, ACCOUNT_FIELDS)
    assert frame is not None
    assert frame[ROW].to_list() == [number for number, _ in full.rows]


def test_workbook_with_shared_strings_is_read_from_its_head(tmp_path: Path) -> None:
    # openpyxl writes text to the shared-string table, as Excel does
    path = tmp_path / "accounts.xlsx"
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["客户名单"])
    sheet.append([])
    sheet.append(HEADER.split(","))
    sheet.append([1, "0010000001", "张三", 13800000001, "上海浦东南路营业部", "0101", 100.5])
    workbook.save(path)
    head = open_table_head(path, ACCOUNT_FIELDS)
    assert head is not None and head.header_row == 3
    assert head.columns == open_table(path, ACCOUNT_FIELDS).columns


def test_workbook_mixing_types_in_a_column_takes_the_row_reader(tmp_path: Path) -> None:
    path = tmp_path / "messy.xlsx"
    advisors = synthetic.advisors(5, synthetic.branches(3))
    synthetic.write_accounts_xlsx(path, synthetic.accounts(300, advisors), messy=True)
    table, frame = open_frame(path, ACCOUNT_FIELDS)
    assert frame is None  # mobiles as numbers and as '+86 ...' text
    assert sum(1 for _ in table.rows) > 300  # the row reader's rows, labels and all


def _plain(value: object) -> str | None:
    """A stored value as text, alike on SQLite and PostgreSQL (booleans as 0/1)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


def test_without_the_adbc_scratch_file_the_load_stages_through_sqlite3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reactivate.db import bulk

    path = tmp_path / "accounts.csv"
    path.write_text(HEADER + "\n" + "\n".join(MESSY_ROWS) + "\n", encoding="utf-8")
    outcomes = []
    for scratch in (True, False):
        if not scratch:  # as when the driver is missing or the temporary folder is full
            monkeypatch.setattr(bulk, "_write_scratch", lambda *_, **__: False)
        engine = open_engine(str(tmp_path / f"scratch-{scratch}.db"))
        registry.register(engine, CAMPAIGN_FILE)
        summary = load_accounts(engine, "2020h2-dormant", path, LoadOptions(skip_invalid=True))
        engine.dispose()
        rows = query(str(tmp_path / f"scratch-{scratch}.db"), "SELECT * FROM client ORDER BY 1")
        outcomes.append((summary.counts(), [row[:-1] for row in rows]))  # all but updated_at
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0]["loaded"] > 0

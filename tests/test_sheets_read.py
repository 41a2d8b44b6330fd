"""Opening exports as tables: header found under titles, columns mapped, rows numbered as Excel.

The committed files under tests/data/ (made by tests/data/make_files.py) hold one messy
dormant-account list in every format; odd shapes are written per test into tmp_path.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import hashlib
from pathlib import Path

import pytest
import xlsxwriter

from reactivate.errors import InputError
from reactivate.sheets import values
from reactivate.sheets.fields import (
    ACCOUNT_FIELDS,
    ACTIVITY_FIELDS,
    BRANCH_ALIAS_FIELDS,
    DNC_FIELDS,
    RESULT_FIELDS,
    ROSTER_FIELDS,
    ROW_NUMBER_HEADERS,
    FieldSpec,
)
from reactivate.sheets.read import (
    Table,
    fold_header,
    is_label_row,
    open_table,
    parse_mapping,
    sha256_of,
)

DATA = Path(__file__).resolve().parent / "data"

ACCOUNT_FILES = [
    "accounts.xlsx",
    "accounts.xls",
    "accounts_utf8.csv",
    "accounts_utf8_bom.csv",
    "accounts_gb18030.csv",
]

# What every format of the sample list must read as, row number -> clean values.
EXPECTED_CLIENTS = {
    4: ("0010023456", "张三", "13812345678", "上海浦东营业部", 12345.67,
        dt.date(2019, 12, 1), 3, dt.date(2009, 7, 6), "网点"),
    5: ("0010023457", "李四", "13912345678", "上海浦东营业部", 1234.0,
        dt.date(2020, 1, 5), 1, dt.date(2010, 5, 6), None),
    7: ("10023458", "王五", "13712345678", "北京朝阳营业部", 0.0,
        dt.date(2020, 1, 1), 5, dt.date(2015, 1, 1), "APP"),
    8: ("10023459", "赵六", "13712345679", "北京朝阳营业部", 12345.67,
        dt.date(2020, 1, 5), 2, dt.date(2012, 3, 4), None),
}  # fmt: skip


def clean(table: Table, cells: list[object]) -> tuple[object, ...]:
    col = table.columns
    return (
        values.client_id(cells[col["client_id"]]),
        values.text(cells[col["name"]]),
        values.mobile(cells[col["mobile"]]),
        values.text(cells[col["branch"]]),
        values.amount(cells[col["assets"]]),
        values.date(cells[col["last_trade_date"]]),
        values.risk(cells[col["risk"]]),
        values.date(cells[col["opened_at"]]),
        values.text(cells[table.extra["客户来源"]]),
    )


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def write_xlsx(
    path: Path, sheets: dict[str, list[list[object]]], hidden: frozenset[str] = frozenset()
) -> Path:
    workbook = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        sheet = workbook.add_worksheet(name)
        for r, cells in enumerate(rows):
            for c, cell in enumerate(cells):
                if cell is not None:
                    sheet.write(r, c, cell)
    if hidden:
        visible = [sheet for sheet in workbook.worksheets() if sheet.name not in hidden]
        visible[0].activate()  # the active sheet cannot be hidden
        for sheet in workbook.worksheets():
            if sheet.name in hidden:
                sheet.hide()
    workbook.close()
    return path


# ------------------------------------------------------------ the committed sample files


@pytest.mark.parametrize("name", ACCOUNT_FILES)
def test_sample_export_reads_the_same_in_every_format(name: str) -> None:
    table = open_table(DATA / name, ACCOUNT_FIELDS)

    assert table.header_row == 3  # under a title row and a blank row
    assert table.sheet == (None if name.endswith(".csv") else "休眠客户")
    assert table.columns == {
        "client_id": 1,
        "name": 2,
        "mobile": 3,
        "branch": 4,
        "assets": 5,
        "last_trade_date": 6,
        "risk": 7,
        "opened_at": 8,
    }
    # 序号 is a running number, not client data: neither a field nor kept
    assert table.extra == {"客户来源": 9}
    assert table.header_of("assets") == "总资产（元）"
    assert table.header_of("last_trade_date") == "最后交易 日期"
    assert table.total_rows == 7

    rows = list(table.rows)
    assert [number for number, _ in rows] == [4, 5, 7, 8, 9, 10]  # the blank row 6 skipped
    assert all(len(cells) == len(table.headers) for _, cells in rows)
    clients = {n: clean(table, cells) for n, cells in rows if n in EXPECTED_CLIENTS}
    assert clients == EXPECTED_CLIENTS
    id_index = table.columns["client_id"]
    labels = [n for n, cells in rows if is_label_row(cells, id_index)]
    assert labels == [9, 10]  # the 合计 row and the note under the data


def test_the_display_name_is_the_one_given() -> None:
    table = open_table(DATA / "accounts.xlsx", ACCOUNT_FIELDS, display_name="in/accounts.xlsx")
    assert table.file == "in/accounts.xlsx"
    assert open_table(DATA / "accounts_utf8.csv", ACCOUNT_FIELDS).file.endswith("utf8.csv")


@pytest.mark.parametrize("name", ["accounts_utf8.csv", "accounts_gb18030.csv"])
def test_csv_encodings_are_detected(name: str) -> None:
    table = open_table(DATA / name, ACCOUNT_FIELDS)
    assert table.headers[2] == "客户姓名"


# ------------------------------------------------------------------------ headers


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("总资产（元）", "总资产(元)"),
        ("Client ID", "clientid"),
        (" 最后交易 日期\n", "最后交易日期"),
        ("ＭＯＢＩＬＥ", "mobile"),
        ("手机号\u3000码", "手机号码"),
    ],
)
def test_fold_header_ignores_case_spaces_and_full_width(a: str, b: str) -> None:
    assert fold_header(a) == fold_header(b)


def test_fold_header_of_numbers_and_blanks() -> None:
    assert fold_header(2020.0) == "2020"
    assert fold_header(None) == ""
    assert fold_header("") == ""


@pytest.mark.parametrize(
    "fields",
    [
        ACCOUNT_FIELDS,
        ROSTER_FIELDS,
        DNC_FIELDS,
        RESULT_FIELDS,
        ACTIVITY_FIELDS,
        BRANCH_ALIAS_FIELDS,
    ],
)
def test_field_aliases_are_unambiguous_and_include_the_canonical_name(
    fields: tuple[FieldSpec, ...],
) -> None:
    folded = [fold_header(alias) for spec in fields for alias in spec.aliases]
    assert len(folded) == len(set(folded))
    assert all(spec.name in spec.aliases for spec in fields)
    row_numbers = {fold_header(header) for header in ROW_NUMBER_HEADERS}
    assert not row_numbers & set(folded)


def test_header_under_a_title_and_blank_rows_in_a_sheet_not_starting_at_a1(tmp_path: Path) -> None:
    # Data from B3: calamine's first data cell is not A1, Excel's row numbers still count.
    rows: list[list[object]] = [
        [],
        [],
        [None, "Dormant accounts"],
        [],
        [None, "No.", "Client ID", "Mobile"],
        [None, 1, "001", 13812345678],
        [],
        [None, 2, "002", "13912345678"],
    ]
    path = write_xlsx(tmp_path / "offset.xlsx", {"Sheet1": rows})
    table = open_table(path, ACCOUNT_FIELDS)
    assert table.header_row == 5
    assert table.headers == ["No.", "Client ID", "Mobile"]
    assert table.columns == {"client_id": 1, "mobile": 2}
    assert table.extra == {}
    assert list(table.rows) == [(6, [1.0, "001", 13812345678.0]), (8, [2.0, "002", "13912345678"])]


def test_two_columns_for_one_field_first_wins_second_is_kept(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "two.csv",
        [["客户号", "手机", "联系电话", "备注", "备注"], ["001", "13812345678", "x", "a", "b"]],
    )
    table = open_table(path, ACCOUNT_FIELDS)
    assert table.columns == {"client_id": 0, "mobile": 1}
    assert table.extra == {"联系电话": 2, "备注": 3, "备注 (2)": 4}


def test_blank_headers_are_not_extra_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "blank.csv", [["客户号", "", "x"], ["001", "y", "z"]])
    table = open_table(path, ACCOUNT_FIELDS)
    assert table.headers == ["客户号", "", "x"]
    assert table.extra == {"x": 2}


@pytest.mark.parametrize(
    ("fields", "header"),
    [
        (ROSTER_FIELDS, ["工号", "姓名", "营业部", "企微账号", "容量", "状态"]),
        (DNC_FIELDS, ["手机号", "原因"]),
        (DNC_FIELDS, ["资金账号"]),
        (ACTIVITY_FIELDS, ["资金账号", "最后交易日"]),
        (BRANCH_ALIAS_FIELDS, ["别名", "营业部"]),
        (RESULT_FIELDS, ["客户号", "通话结果", "是否添加企业微信", "推送产品", "是否转化"]),
        (RESULT_FIELDS, ["client_id", "call_result", "wecom_added", "product", "converted"]),
    ],
)
def test_each_kind_of_file_finds_its_header(
    tmp_path: Path, fields: tuple[FieldSpec, ...], header: list[str]
) -> None:
    path = write_csv(tmp_path / "f.csv", [["标题"], header, ["x"] * len(header)])
    table = open_table(path, fields)
    assert table.header_row == 2
    assert len(table.columns) == len(header)


# ------------------------------------------------------------------------ --map


def test_parse_mapping_by_canonical_name_or_alias() -> None:
    mapping = parse_mapping(["Cust No = client_id", "电话2=手机号", "A=B=risk"], ACCOUNT_FIELDS)
    assert mapping == {"custno": "client_id", "电话2": "mobile", "a=b": "risk"}


@pytest.mark.parametrize("spec", ["client_id", "X=nonsense", "=client_id", "X="])
def test_parse_mapping_rejects_bad_specs(spec: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_mapping([spec], ACCOUNT_FIELDS)
    assert f"--map '{spec}'" in str(caught.value)
    assert "client_id, name, mobile" in str(caught.value)


def test_a_mapped_header_is_found_and_beats_an_alias(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "m.csv",
        [["Cust No", "手机", "Mobile (new)"], ["001", "13800000000", "13812345678"]],
    )
    with pytest.raises(InputError):
        open_table(path, ACCOUNT_FIELDS)
    mapping = parse_mapping(["cust no=client_id", "MOBILE(NEW)=mobile"], ACCOUNT_FIELDS)
    table = open_table(path, ACCOUNT_FIELDS, mapping=mapping)
    assert table.columns == {"client_id": 0, "mobile": 2}
    assert table.extra == {"手机": 1}


def test_a_mapping_to_an_unknown_field_is_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", [["客户号"], ["1"]])
    with pytest.raises(InputError, match="--map"):
        open_table(path, ACCOUNT_FIELDS, mapping={"x": "nonsense"})


# ------------------------------------------------------------------------- errors


def test_no_header_names_the_missing_field_and_its_aliases(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "nohead.xlsx", {"名单": [["姓名", "手机"], ["张三", "138"]]})
    with pytest.raises(InputError) as caught:
        open_table(path, ACCOUNT_FIELDS)
    message = str(caught.value)
    assert "sheet 名单" in message
    assert "client_id" in message
    assert "客户号, 资金账号, 客户编号" in message
    assert "--map" in message


def test_no_header_in_a_csv_names_no_sheet(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "nohead.csv", [["姓名"], ["张三"]])
    with pytest.raises(InputError) as caught:
        open_table(path, ROSTER_FIELDS)
    assert "sheet" not in str(caught.value)
    assert "code" in str(caught.value)


def test_a_do_not_call_list_needs_an_id_or_a_mobile(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "dnc.csv", [["姓名", "备注"], ["张三", "投诉"]])
    with pytest.raises(InputError) as caught:
        open_table(path, DNC_FIELDS)
    assert "client_id / mobile" in str(caught.value)
    assert "手机号" in str(caught.value)


def test_the_header_must_be_within_the_first_rows(tmp_path: Path) -> None:
    rows = [[f"说明 {n}"] for n in range(40)] + [["客户号"], ["001"]]
    with pytest.raises(InputError):
        open_table(write_csv(tmp_path / "deep.csv", rows), ACCOUNT_FIELDS)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        open_table(tmp_path / "nope.xlsx", ACCOUNT_FIELDS, display_name="nope.xlsx")


@pytest.mark.parametrize("name", ["accounts.pdf", "accounts", "accounts.json"])
def test_unknown_file_type(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("x")
    with pytest.raises(InputError, match="cannot read files of type"):
        open_table(path, ACCOUNT_FIELDS)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("corrupt.xlsx", b"client_id\n001\n"),
        ("corrupt.xls", b"\x00\x01binary"),
        ("junk.csv", bytes(range(128, 256)) * 4),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match="cannot be read as a spreadsheet"):
        open_table(path, ACCOUNT_FIELDS)


def test_a_folder_is_unreadable(tmp_path: Path) -> None:
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    with pytest.raises(InputError, match="cannot be read"):
        open_table(folder, ACCOUNT_FIELDS)


def test_an_empty_csv_has_no_data(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("\n\n")
    with pytest.raises(InputError, match="the file is empty"):
        open_table(path, ACCOUNT_FIELDS)


def test_rows_of_an_upper_case_suffix_are_read(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "UPPER.CSV", [["客户号"], ["001"]])
    assert list(open_table(path, ACCOUNT_FIELDS).rows) == [(2, ["001"])]


# ------------------------------------------------------------------------- sheets


def test_sheet_option_picks_a_sheet(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "s.xlsx",
        {"一月": [["客户号"], ["001"]], "二月": [["客户号"], ["002"]]},
    )
    assert list(open_table(path, ACCOUNT_FIELDS).rows) == [(2, ["001"])]
    table = open_table(path, ACCOUNT_FIELDS, sheet="二月")
    assert table.sheet == "二月"
    assert list(table.rows) == [(2, ["002"])]


def test_sheet_names_match_ignoring_case_and_spaces(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "s.xlsx", {"Dormant List": [["客户号"], ["001"]]})
    assert open_table(path, ACCOUNT_FIELDS, sheet="dormant list").sheet == "Dormant List"


def test_a_missing_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "s.xlsx", {"一月": [["客户号"]], "二月": [["客户号"]]})
    with pytest.raises(InputError) as caught:
        open_table(path, ACCOUNT_FIELDS, sheet="三月")
    assert "三月" in str(caught.value)
    assert "一月, 二月" in str(caught.value)


def test_default_sheet_skips_empty_cover_and_hidden_sheets(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "s.xlsx",
        {
            "lookup": [["客户号"], ["hidden"]],
            "empty": [],
            "说明": [["本表为休眠客户名单"], ["请勿外传"]],
            "data": [["客户号"], ["001"]],
        },
        hidden=frozenset({"lookup"}),
    )
    table = open_table(path, ACCOUNT_FIELDS)
    assert table.sheet == "data"
    assert list(table.rows) == [(2, ["001"])]


def test_without_a_header_anywhere_the_error_names_the_first_sheet_with_data(
    tmp_path: Path,
) -> None:
    path = write_xlsx(tmp_path / "s.xlsx", {"empty": [], "a": [["x"]], "b": [["y"]]})
    with pytest.raises(InputError, match="sheet a:"):
        open_table(path, ACCOUNT_FIELDS)


def test_a_workbook_without_data(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "s.xlsx", {"empty": [], "also empty": []})
    with pytest.raises(InputError, match="no sheet holds data"):
        open_table(path, ACCOUNT_FIELDS)


# ------------------------------------------------------------------------ csv rows


def test_csv_rows_are_padded_and_blank_rows_skipped(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("客户号,姓名,手机\n001\n\n,,\n002,李四,13812345678,surplus\n", "utf-8")
    table = open_table(path, ACCOUNT_FIELDS)
    assert list(table.rows) == [
        (2, ["001", "", ""]),
        (5, ["002", "李四", "13812345678", "surplus"]),
    ]


def test_csv_row_numbers_count_records_not_lines(tmp_path: Path) -> None:
    # Excel shows a quoted cell with a line break as one row.
    path = write_csv(
        tmp_path / "multi.csv", [["客户号", "备注"], ["001", "两行\n备注"], ["002", ""]]
    )
    assert [n for n, _ in open_table(path, ACCOUNT_FIELDS).rows] == [2, 3]


def test_a_dropped_csv_iterator_closes_its_file(tmp_path: Path) -> None:
    # filterwarnings=error turns an unclosed file's ResourceWarning into a failure.
    path = write_csv(tmp_path / "a.csv", [["客户号"], ["001"], ["002"]])
    table = open_table(path, ACCOUNT_FIELDS)
    assert next(table.rows) == (2, ["001"])
    del table
    gc.collect()


def test_csv_rows_are_read_lazily(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [["客户号"], ["001"]])
    table = open_table(path, ACCOUNT_FIELDS)
    path.write_text("客户号\n999\n", "utf-8")  # changed after opening: what is read is new
    assert list(table.rows) == [(2, ["999"])]


# ------------------------------------------------------------------- label rows


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["", "", "", ""], True),
        (["", "张三", "", ""], True),  # a lone cell: a label
        (["合计", "", "", "25924.67"], True),
        (["", "总计:", "", 3.0], True),
        (["", "Total", "", 3.0], True),
        (["", "小 计", "", 3.0], True),
        (["注:数据截至6月", "", "", ""], True),
        (["", "说明", "x", "y"], True),
        (["", "备注", "x", "y"], True),
        (["", "张三", "13812345678", ""], False),  # client data without an id: reject it
        (["", "张三", 13812345678.0, 0.0], False),
        (["001", "合计", "", ""], False),  # has an id: a client, whatever it says
        (["总计", "", "", 3.0], True),  # the total in the id's column is no id
        (["001", "", "", ""], False),
    ],
)
def test_is_label_row(cells: list[object], expected: bool) -> None:
    assert is_label_row(cells, 0) is expected


def test_sha256_of(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc" * 100_000)
    assert sha256_of(path) == hashlib.sha256(b"abc" * 100_000).hexdigest()


# ------------------------------------------------------- text under other names


def test_tab_separated_text_named_xls_is_read(tmp_path: Path) -> None:
    # Some core systems export GBK tab-separated text and name it .xls.
    path = tmp_path / "export.xls"
    path.write_bytes("休眠客户\n客户号\t姓名\t手机\n0010023456\t张三\t13812345678\n".encode("gbk"))
    table = open_table(path, ACCOUNT_FIELDS)
    assert table.sheet is None
    assert table.header_row == 2
    assert table.columns == {"client_id": 0, "name": 1, "mobile": 2}
    assert list(table.rows) == [(3, ["0010023456", "张三", "13812345678"])]


def test_a_web_page_named_xls_says_so(tmp_path: Path) -> None:
    path = tmp_path / "export.xls"
    path.write_text("<html><table><tr><td>客户号</td></tr></table></html>", "utf-8")
    with pytest.raises(InputError, match="web page"):
        open_table(path, ACCOUNT_FIELDS)


def test_excel_unicode_text_utf16_tab_separated(tmp_path: Path) -> None:
    path = tmp_path / "unicode.csv"
    path.write_text("客户号\t姓名\r\n001\t张三\r\n", "utf-16")
    table = open_table(path, ACCOUNT_FIELDS)
    assert list(table.rows) == [(2, ["001", "张三"])]


def test_a_bad_csv_record_is_reported_with_its_row(tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_text("客户号,姓名\n001,张三\n" + "002," + "x" * 200_000 + "\n", "utf-8")
    rows = open_table(path, ACCOUNT_FIELDS).rows
    with pytest.raises(InputError, match="row 3"):
        list(rows)


def test_xml_read_only_in_part_frees_its_elements_without_the_cycle_collector() -> None:
    # an upload pauses the collector while it reads thousands of workbooks' heads: what a
    # head leaves must go when it is dropped (iterparse's cycle kept every element parsed)
    import gc
    import io
    import weakref

    from reactivate.sheets.xlsx_head import pull_events

    data = b"<a>" + b"<b/>" * 10_000 + b"</a>"
    gc.disable()
    try:
        events = pull_events(io.BytesIO(data))
        _, first = next(events)
        kept = weakref.ref(first)
        del first, events
        assert kept() is None
    finally:
        gc.enable()

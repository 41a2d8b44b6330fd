"""The advisor's call workbook: contents read back with openpyxl and calamine, and the stamp."""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import shutil
import subprocess
import zipfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.packaging.custom import CustomPropertyList
from python_calamine import CalamineWorkbook

from reactivate.errors import InputError
from reactivate.rules.funnel import DISPOSITION_LABELS, DISPOSITIONS
from reactivate.sheets import workbook as wbmod
from reactivate.sheets.workbook import (
    CALL_SHEET,
    CLIENT_HEADERS,
    HEADERS,
    INPUT_HEADERS,
    INSTRUCTIONS_SHEET,
    LINK_HEADER,
    MARKER_PROPERTY,
    STAMP_SHEET,
    Stamp,
    WorkbookClient,
    WorkbookProduct,
    WorkbookSpec,
    read_stamp,
    stamp_digest,
    verify_stamp,
    write_advisor_workbook,
)

SECRET = b"test-secret-0123456789"
PRODUCTS = (
    WorkbookProduct("F001", "货币基金", 1),
    WorkbookProduct("F003", "稳健理财", 2),
    WorkbookProduct("F005", "成长股票", 4),
)


def client(index: int, **changes: object) -> WorkbookClient:
    risk = index % 5 + 1
    base = WorkbookClient(
        client_id=f"{index:010d}",
        name=f"客户{index}",
        mobile=f"138{index:08d}",
        branch="上海分公司",
        asset_band="10k-50k",
        days_dormant=180 + index,
        risk=risk,
        suitable_products=tuple(p.code for p in PRODUCTS if p.risk <= risk),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def make_spec(count: int = 5, **changes: object) -> WorkbookSpec:
    base = WorkbookSpec(
        campaign_slug="spring-2024",
        campaign_name="2024 春季唤醒",
        advisor_code="A007",
        advisor_name="王芳",
        branch="上海分公司",
        issue=2,
        issued_at=datetime(2024, 3, 1, 1, 30, tzinfo=UTC),
        timezone="Asia/Shanghai",
        dispositions=DISPOSITIONS,
        products=PRODUCTS,
        clients=tuple(client(i) for i in range(count)),
        contact_link="https://work.weixin.qq.com/ca/cawcde0123456789",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, WorkbookSpec]:
    spec = make_spec(
        5,
        clients=(
            client(0, client_id="0000123", mobile="13800000001"),
            client(
                1,
                name=None,
                mobile=None,
                branch=None,
                days_dormant=None,
                risk=None,
                suitable_products=(),
            ),
            client(2, name='=HYPERLINK("http://x")', client_id="00042"),
            client(3),
            client(4),
        ),
    )
    path = tmp_path / "上海分公司" / "A007.xlsx"
    write_advisor_workbook(path, spec, SECRET)
    return path, spec


def call_sheet(path: Path) -> openpyxl.worksheet.worksheet.Worksheet:
    return openpyxl.load_workbook(path)[CALL_SHEET]


# --- contents --------------------------------------------------------------------


def test_headers_are_the_result_aliases_client_then_input(
    written: tuple[Path, WorkbookSpec],
) -> None:
    path, _ = written
    ws = call_sheet(path)
    headers = [cell.value for cell in ws[1]]
    assert headers == [
        "客户号", "姓名", "手机号", "营业部", "资产段", "休眠天数", "风险等级", "适合产品",
        "通话时间", "通话结果", "拨打次数", "预约回电时间", "是否添加企业微信", "添加时间",
        "推送产品", "推送时间", "是否转化", "转化时间", "备注",
    ]  # fmt: skip
    assert tuple(headers) == CLIENT_HEADERS + INPUT_HEADERS


def test_client_values_read_back_with_openpyxl(written: tuple[Path, WorkbookSpec]) -> None:
    path, spec = written
    ws = call_sheet(path)
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(spec.clients)
    first = rows[0]
    assert first[:8] == (
        "0000123",
        "客户0",
        "13800000001",
        "上海分公司",
        "10k-50k",
        180,
        "C1",
        "F001 货币基金",
    )
    # ids and mobiles are text cells, never numbers
    assert ws["A2"].data_type == "s" and ws["C2"].data_type == "s"
    assert ws["A4"].value == "00042"
    # a formula-looking name stays text
    assert ws["B4"].value == '=HYPERLINK("http://x")' and ws["B4"].data_type == "s"
    # missing values are blank cells
    assert rows[1][:8] == ("0000000001", None, None, None, "10k-50k", None, None, None)
    # suitable products, name and code, joined, within the client's tolerance
    assert rows[3][6] == "C4" and rows[3][7] == "F001 货币基金、F003 稳健理财、F005 成长股票"
    # input columns start empty
    assert all(value is None for row in rows for value in row[8:])


def test_client_values_read_back_with_calamine(written: tuple[Path, WorkbookSpec]) -> None:
    path, spec = written
    book = CalamineWorkbook.from_path(str(path))
    rows = book.get_sheet_by_name(CALL_SHEET).to_python()
    book.close()
    assert rows[0][:3] == ["客户号", "姓名", "手机号"]
    assert [row[0] for row in rows[1:]] == [c.client_id for c in spec.clients]
    assert rows[1][2] == "13800000001" and isinstance(rows[1][2], str)
    assert rows[1][5] == 180


def test_sheets_order_states_and_active(written: tuple[Path, WorkbookSpec]) -> None:
    path, _ = written
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [CALL_SHEET, INSTRUCTIONS_SHEET, STAMP_SHEET]
    states = {ws.title: ws.sheet_state for ws in book.worksheets}
    assert states == {
        CALL_SHEET: "visible",
        INSTRUCTIONS_SHEET: "visible",
        STAMP_SHEET: "veryHidden",
    }
    assert book.active.title == CALL_SHEET


def test_frozen_header_filter_and_widths(written: tuple[Path, WorkbookSpec]) -> None:
    path, _ = written
    ws = call_sheet(path)
    assert ws.freeze_panes == "D2"  # header row, and id/name/mobile columns
    assert ws.auto_filter.ref == "A1:S6"
    widths = {key: dim.width for key, dim in ws.column_dimensions.items()}
    assert widths["A"] > 12 and widths["S"] > 25


def test_call_sheet_is_protected_without_a_password(written: tuple[Path, WorkbookSpec]) -> None:
    path, spec = written
    ws = call_sheet(path)
    protection = ws.protection
    assert protection.sheet is True and protection.password is None
    # OOXML names what protection forbids: False is allowed (filter, sort, resize)
    assert protection.autoFilter is False and protection.sort is False
    assert protection.formatColumns is False and protection.formatRows is False
    assert protection.insertRows is True and protection.deleteRows is True
    assert protection.deleteColumns is True and protection.insertColumns is True


def test_client_cells_are_locked_and_input_cells_not(written: tuple[Path, WorkbookSpec]) -> None:
    path, spec = written
    book = openpyxl.load_workbook(path)
    ws = book[CALL_SHEET]
    client_cells = list(ws.iter_rows(min_row=1, max_row=1 + len(spec.clients), max_col=8))
    assert all(cell.protection.locked for row in client_cells for cell in row)
    assert all(cell.protection.locked for cell in ws[1])  # the header row, input headers too
    # Input cells are blank: a blank cell takes its column's style, which unlocks it.
    assert all(
        value is None
        for row in ws.iter_rows(min_row=2, min_col=9, values_only=True)
        for value in row
    )
    for letter in "IJKLMNOPQRS":
        style = ws.column_dimensions[letter]._style
        assert style is not None and book._protections[style.protectionId].locked is False
    for letter in "ABCDEFGH":
        style = ws.column_dimensions[letter]._style
        assert style is None or book._protections[style.protectionId].locked is not False


def test_client_columns_also_refuse_typing(written: tuple[Path, WorkbookSpec]) -> None:
    # Behind the protection: still guarded once someone lifts it to sort.
    path, _ = written
    ws = call_sheet(path)
    (guard,) = [dv for dv in ws.data_validations.dataValidation if dv.type == "custom"]
    assert str(guard.sqref) == "A1:H6 I1:S1"  # client cells and the whole header row
    assert guard.formula1 == "FALSE()"
    assert guard.errorStyle in (None, "stop")  # None is OOXML's default, stop
    assert guard.showErrorMessage is True
    assert guard.allow_blank is False  # clearing a client cell by typing is refused too
    assert guard.errorTitle == "客户资料不可修改"
    assert guard.error is not None and "请勿修改" in guard.error


def test_input_columns_are_filled_and_formatted(
    written: tuple[Path, WorkbookSpec],
) -> None:
    path, _ = written
    book = openpyxl.load_workbook(path)
    ws = book[CALL_SHEET]

    # openpyxl has no public accessor for a column's style: read its style ids.
    def column_style(letter: str) -> tuple[bool, str | None]:
        style = ws.column_dimensions[letter]._style
        if style is None:
            return True, None
        fill = book._fills[style.fillId].fgColor.rgb
        return book._protections[style.protectionId].locked is not False, fill

    inputs = {column_style(letter) for letter in "IJKLMNOPQRS"}
    (input_fill,) = {fill for _, fill in inputs}
    assert {locked for locked, _ in inputs} == {False}
    assert input_fill not in (None, "00000000")
    assert all(column_style(letter)[0] for letter in "ABCDEFGH")
    # date/time inputs show as yyyy-mm-dd hh:mm
    for letter in "ILNPR":
        assert ws.column_dimensions[letter].number_format == "yyyy-mm-dd hh:mm"


def test_data_validation(written: tuple[Path, WorkbookSpec]) -> None:
    path, _ = written
    ws = call_sheet(path)
    rules = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    labels = [DISPOSITION_LABELS[code][0] for code in DISPOSITIONS]
    assert labels == ["接通", "无人接听", "忙线", "空号/错号", "拒绝", "勿扰", "预约回电"]
    results = rules["J2:J6"]
    assert results.type == "list" and results.formula1 == '"' + ",".join(labels) + '"'
    assert results.showErrorMessage
    for ref in ("M2:M6", "Q2:Q6"):
        assert rules[ref].type == "list" and rules[ref].formula1 == '"是,否"'
    products = rules["O2:O6"]
    assert products.type == "list" and products.formula1 == "'_reactivate'!$D$1:$D$3"
    book = openpyxl.load_workbook(path)
    assert [row[3] for row in book[STAMP_SHEET].iter_rows(max_row=3, values_only=True)] == [
        "F001 货币基金",
        "F003 稳健理财",
        "F005 成长股票",
    ]
    attempts = rules["K2:K6"]
    assert (attempts.type, attempts.formula1, attempts.formula2) == ("whole", "0", "99")
    for ref in ("I2:I6", "L2:L6", "N2:N6", "P2:P6", "R2:R6"):
        assert rules[ref].type == "date" and rules[ref].operator in (None, "between")
    assert rules["A1:H6 I1:S1"].type == "custom"  # the client-column guard
    assert len(rules) == 11


def test_unsuitable_product_is_highlighted(written: tuple[Path, WorkbookSpec]) -> None:
    path, _ = written
    ws = call_sheet(path)
    ranges = {str(cf.sqref): cf.rules for cf in ws.conditional_formatting}
    (rule,) = ranges["O2:O6"]
    assert rule.type == "expression"
    assert "$H2" in rule.formula[0] and "$O2" in rule.formula[0]


def test_instructions_sheet(written: tuple[Path, WorkbookSpec]) -> None:
    path, spec = written
    ws = openpyxl.load_workbook(path)[INSTRUCTIONS_SHEET]
    text = "\n".join(
        str(value) for row in ws.iter_rows(values_only=True) for value in row if value is not None
    )
    assert "2024 春季唤醒" in text and "王芳" in text and "A007" in text
    assert "第 2 期" in text and "5 位客户" in text
    assert "2024-03-01 09:30" in text  # issued_at in the campaign's zone
    assert "北京时间" in text and "Asia/Shanghai" in text
    assert "永不再拨打" in text or "永远不要再拨打" in text
    for labels in DISPOSITION_LABELS.values():
        assert labels[0] in text
    assert spec.contact_link is not None and spec.contact_link in text
    assert "F005" in text and "R4" in text
    assert "适合产品" in text
    # the sheet is protected without a password: how to sort, and that a hidden stamp is fine
    assert "撤销工作表保护" in text and "没有密码" in text
    assert "另存后变为“隐藏”都不要紧" in text


def test_other_timezone_is_named(tmp_path: Path) -> None:
    path = tmp_path / "w.xlsx"
    write_advisor_workbook(path, make_spec(1, timezone="Europe/London"), SECRET)
    ws = openpyxl.load_workbook(path)[INSTRUCTIONS_SHEET]
    text = " ".join(str(v) for row in ws.iter_rows(values_only=True) for v in row if v)
    assert "Europe/London" in text and "北京时间" not in text
    assert "2024-03-01 01:30" in text


def test_empty_workbook_and_no_products(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    spec = make_spec(0, products=(), contact_link=None)
    write_advisor_workbook(path, spec, SECRET)
    ws = call_sheet(path)
    assert ws.max_row == 1
    assert all("O" not in str(dv.sqref) for dv in ws.data_validations.dataValidation)
    assert "A1:H2 I1:S1" in {str(dv.sqref) for dv in ws.data_validations.dataValidation}
    stamp = read_stamp(path)
    assert stamp is not None and stamp.client_ids == () and verify_stamp(stamp, SECRET)


def test_valid_zip_with_expected_parts(written: tuple[Path, WorkbookSpec]) -> None:
    path, _ = written
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        names = set(archive.namelist())
        for name in names:
            if name.endswith((".xml", ".rels")):
                ElementTree.fromstring(archive.read(name))  # well-formed
    assert {"[Content_Types].xml", "xl/workbook.xml", "xl/styles.xml"} <= names
    assert {f"xl/worksheets/sheet{i}.xml" for i in range(1, 4)} <= names


# --- writing is atomic -----------------------------------------------------------


def test_write_replaces_atomically_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "w.xlsx"
    write_advisor_workbook(path, make_spec(3), SECRET)
    write_advisor_workbook(path, make_spec(4, issue=3), SECRET)
    assert [p.name for p in tmp_path.iterdir()] == ["w.xlsx"]
    stamp = read_stamp(path)
    assert stamp is not None and stamp.issue == 3 and len(stamp.client_ids) == 4


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "w.xlsx"
    write_advisor_workbook(path, make_spec(3), SECRET)
    before = path.read_bytes()

    def boom(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(wbmod, "_write_stamp", boom)
    with pytest.raises(RuntimeError):
        write_advisor_workbook(path, make_spec(4), SECRET)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["w.xlsx"]


def test_a_write_in_place_is_the_same_book_and_a_failed_one_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = make_spec(3)
    write_advisor_workbook(tmp_path / "atomic.xlsx", spec, SECRET)
    write_advisor_workbook(tmp_path / "direct.xlsx", spec, SECRET, atomic=False)
    with (
        zipfile.ZipFile(tmp_path / "atomic.xlsx") as a,
        zipfile.ZipFile(tmp_path / "direct.xlsx") as b,
    ):
        assert a.namelist() == b.namelist()
        assert all(a.read(name) == b.read(name) for name in a.namelist())

    def boom(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(wbmod, "_write_stamp", boom)
    with pytest.raises(RuntimeError):
        write_advisor_workbook(tmp_path / "failed.xlsx", spec, SECRET, atomic=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atomic.xlsx", "direct.xlsx"]


@pytest.mark.parametrize(
    "changes",
    [
        {"issued_at": datetime(2024, 3, 1, 9, 0)},
        {"clients": (client(1), client(1))},
        {"clients": (client(1, client_id=""),)},
        {"dispositions": ("connected", "maybe")},
        {"timezone": "Mars/Olympus"},
    ],
)
def test_caller_mistakes_raise(tmp_path: Path, changes: dict[str, object]) -> None:
    with pytest.raises(Exception) as info:
        write_advisor_workbook(tmp_path / "w.xlsx", make_spec(2, **changes), SECRET)
    assert isinstance(info.value, ValueError | KeyError)  # ZoneInfoNotFoundError is a KeyError
    assert list(tmp_path.iterdir()) == []


# --- the stamp -------------------------------------------------------------------


def test_stamp_round_trip(written: tuple[Path, WorkbookSpec]) -> None:
    path, spec = written
    stamp = read_stamp(path)
    assert stamp is not None
    assert (stamp.campaign, stamp.advisor, stamp.issue) == ("spring-2024", "A007", 2)
    assert stamp.client_ids == tuple(c.client_id for c in spec.clients)
    assert verify_stamp(stamp, SECRET)
    assert not verify_stamp(stamp, b"another-secret")


@pytest.mark.parametrize(
    "change",
    [
        {"campaign": "autumn-2024"},
        {"advisor": "A008"},
        {"issue": 3},
        {"client_ids": ("0000123", "00042", "9999999999")},
        {"digest": "0" * 64},
        {"digest": "非十六进制"},
    ],
)
def test_changed_stamp_fails_verification(
    written: tuple[Path, WorkbookSpec], change: dict[str, object]
) -> None:
    stamp = read_stamp(written[0])
    assert stamp is not None
    assert not verify_stamp(replace(stamp, **change), SECRET)  # type: ignore[arg-type]


def test_tampered_file_is_recognised(written: tuple[Path, WorkbookSpec], tmp_path: Path) -> None:
    path, _ = written
    book = openpyxl.load_workbook(path)
    ws = book[STAMP_SHEET]
    for row in ws.iter_rows():
        if row[0].value == "advisor":
            row[1].value = "A999"  # claim another advisor's list
    tampered = tmp_path / "tampered.xlsx"
    book.save(tampered)
    stamp = read_stamp(tampered)
    assert stamp is not None and stamp.advisor == "A999"
    assert not verify_stamp(stamp, SECRET)


def test_stamp_survives_a_resave(written: tuple[Path, WorkbookSpec], tmp_path: Path) -> None:
    # An advisor filling the sheet and saving it (here with openpyxl) keeps the stamp valid.
    path, _ = written
    book = openpyxl.load_workbook(path)
    book[CALL_SHEET]["J2"] = "接通"
    filled = tmp_path / "filled.xlsx"
    book.save(filled)
    stamp = read_stamp(filled)
    assert stamp is not None and verify_stamp(stamp, SECRET)


def test_many_and_unusual_ids_are_chunked_and_round_trip(tmp_path: Path) -> None:
    ids = [f"客户-{i:030d}-😀" for i in range(1200)]  # > 32,000 characters of JSON
    spec = make_spec(0, clients=tuple(client(i, client_id=cid) for i, cid in enumerate(ids)))
    path = tmp_path / "w.xlsx"
    write_advisor_workbook(path, spec, SECRET)
    book = openpyxl.load_workbook(path)
    chunks = [r[1] for r in book[STAMP_SHEET].iter_rows(values_only=True) if r[0] == "client_ids"]
    assert len(chunks) > 1 and all(len(c) <= 32_000 for c in chunks)
    stamp = read_stamp(path)
    assert stamp is not None and list(stamp.client_ids) == ids and verify_stamp(stamp, SECRET)


def test_plain_sheets_have_no_stamp(tmp_path: Path) -> None:
    plain = tmp_path / "plain.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["客户号", "通话结果"])
    book.active.append(["0001", "接通"])
    book.save(plain)
    assert read_stamp(plain) is None
    csv = tmp_path / "plain.csv"
    csv.write_text("客户号,通话结果\n0001,接通\n", encoding="utf-8")
    assert read_stamp(csv) is None


def test_a_sheet_named_like_the_call_sheet_alone_is_still_plain(tmp_path: Path) -> None:
    plain = tmp_path / "plain.xlsx"
    book = openpyxl.Workbook()
    book.active.title = CALL_SHEET  # a common name for any list of clients
    book.active.append(["客户号", "通话结果"])
    book.save(plain)
    assert read_stamp(plain) is None


def test_issued_workbooks_carry_a_marker_property(written: tuple[Path, WorkbookSpec]) -> None:
    path, _ = written
    with zipfile.ZipFile(path) as archive:
        root = ElementTree.fromstring(archive.read("docProps/custom.xml"))
    names = {element.get("name") for element in root}
    assert MARKER_PROPERTY in names


@pytest.mark.parametrize("state", ["hidden", "visible"])
def test_stamp_sheet_need_not_be_very_hidden(
    written: tuple[Path, WorkbookSpec], tmp_path: Path, state: str
) -> None:
    # LibreOffice saves a very hidden sheet as hidden; the HMAC, not the state, vouches.
    path, _ = written
    book = openpyxl.load_workbook(path)
    book[STAMP_SHEET].sheet_state = state
    shown = tmp_path / f"{state}.xlsx"
    book.save(shown)
    stamp = read_stamp(shown)
    assert stamp is not None and verify_stamp(stamp, SECRET)


def _without_property(book: openpyxl.Workbook) -> None:
    book.custom_doc_props = CustomPropertyList()


@pytest.mark.parametrize(
    "also",
    [
        lambda book: None,
        lambda book: setattr(book[CALL_SHEET], "title", "Sheet1"),  # the property is left
        _without_property,  # the sheet names are left
    ],
    ids=["stamp-deleted", "sheets-renamed", "property-removed"],
)
def test_an_issued_workbook_without_its_stamp_is_not_as_issued(
    written: tuple[Path, WorkbookSpec], tmp_path: Path, also: object
) -> None:
    path, _ = written
    book = openpyxl.load_workbook(path)
    del book[STAMP_SHEET]
    also(book)  # type: ignore[operator]
    stripped = tmp_path / "stripped.xlsx"
    book.save(stripped)
    with pytest.raises(InputError, match=r"stripped\.xlsx is not as issued.*deleted"):
        read_stamp(stripped)


def test_without_stamp_and_every_marker_a_workbook_is_a_plain_sheet(
    written: tuple[Path, WorkbookSpec], tmp_path: Path
) -> None:
    # What the markers are for: without them a stamp-less workbook passes as plain.
    path, _ = written
    book = openpyxl.load_workbook(path)
    del book[STAMP_SHEET]
    del book[INSTRUCTIONS_SHEET]
    _without_property(book)
    bare = tmp_path / "bare.xlsx"
    book.save(bare)
    assert read_stamp(bare) is None


def test_unreadable_file_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="bad.xlsx"):
        read_stamp(bad)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda rows: [r for r in rows if r[0] != "format"],
        lambda rows: [r for r in rows if r[0] != "digest"],
        lambda rows: [r if r[0] != "issue" else ["issue", "two"] for r in rows],
        lambda rows: [r if r[0] != "client_ids" else ["client_ids", "[1, 2"] for r in rows],
        lambda rows: [r if r[0] != "client_ids" else ["client_ids", "[1, 2]"] for r in rows],
        lambda rows: [r for r in rows if r[0] != "client_ids"],
    ],
)
def test_damaged_stamp_is_an_input_error_not_a_plain_sheet(
    written: tuple[Path, WorkbookSpec], tmp_path: Path, mutate: object
) -> None:
    path, _ = written
    book = openpyxl.load_workbook(path)
    ws = book[STAMP_SHEET]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    ws.delete_rows(1, ws.max_row)
    for row in mutate(rows):  # type: ignore[operator]
        ws.append(row)
    damaged = tmp_path / "damaged.xlsx"
    book.save(damaged)
    with pytest.raises(InputError, match=STAMP_SHEET):
        read_stamp(damaged)


def test_stamp_sheet_holds_readable_fields(written: tuple[Path, WorkbookSpec]) -> None:
    path, spec = written
    rows = openpyxl.load_workbook(path)[STAMP_SHEET].iter_rows(values_only=True)
    fields = {r[0]: r[1] for r in rows}
    assert fields["campaign"] == "spring-2024" and fields["issue"] == "2"
    assert fields["clients"] == "5"
    assert datetime.fromisoformat(str(fields["issued_at"])) == spec.issued_at
    assert json.loads(str(fields["client_ids"])) == [c.client_id for c in spec.clients]


# --- the digest ------------------------------------------------------------------


def _length_prefixed(*fields: str) -> bytes:
    return b"".join(len(f.encode()).to_bytes(4, "big") + f.encode() for f in fields)


def test_digest_is_hmac_sha256_of_the_length_prefixed_fields() -> None:
    # Written out here, not taken from the module: workbooks already issued carry digests
    # of exactly this message, and must keep verifying after an upgrade. The fields: campaign,
    # advisor, issue, how many ids, the ids sorted.
    message = b"reactivate.workbook.v1" + _length_prefixed("c", "a", "1", "2", "1", "2")
    expected = hmac.new(SECRET, message, hashlib.sha256).hexdigest()
    assert stamp_digest(SECRET, "c", "a", 1, ["2", "1"]) == expected


def test_digest_changes_with_every_field_and_the_secret() -> None:
    digest = stamp_digest(SECRET, "c", "a", 1, ["1"])
    changed = [
        stamp_digest(b"other", "c", "a", 1, ["1"]),
        stamp_digest(SECRET, "d", "a", 1, ["1"]),
        stamp_digest(SECRET, "c", "b", 1, ["1"]),
        stamp_digest(SECRET, "c", "a", 2, ["1"]),
        stamp_digest(SECRET, "c", "a", 1, ["2"]),
        stamp_digest(SECRET, "c", "a", 1, ["1", "2"]),
        stamp_digest(SECRET, "c", "a", 1, []),
    ]
    assert len({digest, *changed}) == 1 + len(changed)
    with pytest.raises(ValueError):
        stamp_digest(b"", "c", "a", 1, ["1"])


def test_digest_does_not_depend_on_id_order() -> None:
    assert stamp_digest(SECRET, "c", "a", 1, ["1", "2"]) == stamp_digest(
        SECRET, "c", "a", 1, ["2", "1"]
    )


text = st.text(max_size=8)


@given(
    st.tuples(text, text, st.integers(0, 10**6), st.lists(text, max_size=4)),
    st.tuples(text, text, st.integers(0, 10**6), st.lists(text, max_size=4)),
)
def test_digest_encoding_is_unambiguous(
    one: tuple[str, str, int, list[str]], two: tuple[str, str, int, list[str]]
) -> None:
    same = one[:3] == two[:3] and set(one[3]) == set(two[3])
    assert (stamp_digest(SECRET, *one) == stamp_digest(SECRET, *two)) == same


def test_digest_separates_shifted_fields() -> None:
    assert stamp_digest(SECRET, "ab", "c", 1, []) != stamp_digest(SECRET, "a", "bc", 1, [])
    assert stamp_digest(SECRET, "a", "b", 1, ["c,d"]) != stamp_digest(
        SECRET, "a", "b", 1, ["c", "d"]
    )
    assert stamp_digest(SECRET, "a", "b", 12, []) != stamp_digest(SECRET, "a", "b1", 2, [])


def test_stamp_is_a_frozen_value() -> None:
    stamp = Stamp("c", "a", 1, ("1",), "x")
    with pytest.raises(AttributeError):
        stamp.issue = 2  # type: ignore[misc]


def test_issued_at_in_any_zone_is_the_same_instant(tmp_path: Path) -> None:
    east8 = timezone(timedelta(hours=8))
    path = tmp_path / "w.xlsx"
    write_advisor_workbook(
        path, make_spec(1, issued_at=datetime(2024, 3, 1, 9, 30, tzinfo=east8)), SECRET
    )
    ws = openpyxl.load_workbook(path)[INSTRUCTIONS_SHEET]
    text = " ".join(str(v) for row in ws.iter_rows(values_only=True) for v in row if v)
    assert "2024-03-01 09:30" in text


# --- other applications ----------------------------------------------------------


def test_libreoffice_opens_and_converts(written: tuple[Path, WorkbookSpec], tmp_path: Path) -> None:
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("LibreOffice (soffice) is not installed: cannot check it opens the workbook")
    path, spec = written
    out = tmp_path / "converted"
    subprocess.run(
        [office, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/lo",
         "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1", "--outdir", str(out),
         str(path)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    (converted,) = out.glob("*.csv")
    rows = list(csv.reader(converted.read_text(encoding="utf-8").splitlines()))
    assert rows[0][:3] == ["客户号", "姓名", "手机号"]
    assert len(rows) == 1 + len(spec.clients)
    assert rows[1][0] == "0000123"  # the id stays text, leading zeros kept


def test_libreoffice_keeps_the_protection_and_the_markers(
    written: tuple[Path, WorkbookSpec], tmp_path: Path
) -> None:
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("LibreOffice (soffice) is not installed: cannot check what its save keeps")
    path, _ = written
    book = openpyxl.load_workbook(path)
    del book[STAMP_SHEET]
    stripped = tmp_path / "stripped.xlsx"
    book.save(stripped)
    out = tmp_path / "saved"
    for source in (path, stripped):
        subprocess.run(
            [office, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/lo",
             "--convert-to", "xlsx", "--outdir", str(out), str(source)],
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip
    saved = openpyxl.load_workbook(out / path.name)
    assert saved[STAMP_SHEET].sheet_state == "hidden"  # no longer very hidden
    stamp = read_stamp(out / path.name)
    assert stamp is not None and verify_stamp(stamp, SECRET)
    protection = saved[CALL_SHEET].protection
    assert protection.sheet is True and protection.sort is False and protection.autoFilter is False
    with pytest.raises(InputError, match="not as issued"):
        read_stamp(out / stripped.name)


def test_long_product_list_runs_past_the_stamp_rows(tmp_path: Path) -> None:
    products = tuple(WorkbookProduct(f"P{i:03d}", f"产品{i},含逗号", i % 5 + 1) for i in range(40))
    path = tmp_path / "w.xlsx"
    write_advisor_workbook(path, make_spec(3, products=products), SECRET)
    ws = call_sheet(path)
    (rule,) = [dv for dv in ws.data_validations.dataValidation if str(dv.sqref) == "O2:O4"]
    assert rule.formula1 == "'_reactivate'!$D$1:$D$40"
    stamp = read_stamp(path)
    assert stamp is not None and verify_stamp(stamp, SECRET)


def test_per_client_links_get_a_last_guarded_column(tmp_path: Path) -> None:
    base = make_spec(3)
    clients = (
        replace(base.clients[0], contact_link="https://work.weixin.qq.com/ca/c1"),
        base.clients[1],
        replace(base.clients[2], contact_link="https://work.weixin.qq.com/ca/c3"),
    )
    path = tmp_path / "w.xlsx"
    write_advisor_workbook(path, replace(base, clients=clients), SECRET)
    ws = call_sheet(path)
    headers = [cell.value for cell in ws[1]]
    assert headers[: len(HEADERS)] == list(HEADERS) and headers[len(HEADERS)] == LINK_HEADER
    column = len(HEADERS) + 1
    assert [ws.cell(row=r, column=column).value for r in (2, 3, 4)] == [
        "https://work.weixin.qq.com/ca/c1",
        None,
        "https://work.weixin.qq.com/ca/c3",
    ]
    (guard,) = [dv for dv in ws.data_validations.dataValidation if dv.formula1 == "FALSE()"]
    assert "T1:T4" in str(guard.sqref)  # the link column refuses typing like client data
    stamp = read_stamp(path)
    assert stamp is not None and verify_stamp(stamp, SECRET)
    # without links the sheet keeps its usual columns
    plain = tmp_path / "plain.xlsx"
    write_advisor_workbook(plain, base, SECRET)
    assert [cell.value for cell in call_sheet(plain)[1]] == list(HEADERS)

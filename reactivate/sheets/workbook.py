"""The advisor's call workbook: writing it, and reading its hidden stamp back.

`assign` hands each advisor one .xlsx per issue. Its sheets:

- `客户名单` (`CALL_SHEET`): one row per client. The sheet is protected without a
  password (`_PROTECTION`): against slips, not attackers, which the stamp's HMAC is for.
  The client columns (`CLIENT_HEADERS`) and the header row are locked, so pasting or
  Delete cannot change them, and also refuse typing through an always-false validation,
  which still guards them once someone lifts the protection (to sort: Excel refuses to
  sort a range holding locked cells even where the protection allows sorting). The input
  columns (`INPUT_HEADERS`) are unlocked, filled in a light colour and carry dropdowns or
  date/number validation. Filtering and resizing columns and rows stay allowed. The
  headers are the Chinese aliases results upload reads, so a filled workbook uploads like
  a plain results sheet. A follow-up workbook (`followups --workbooks`) adds locked
  columns after the client's (`FOLLOWUP_HEADERS`: why the client is listed, the last
  call and when it is due) and starts 拨打次数 at the calls so far.
- `填写说明` (`INSTRUCTIONS_SHEET`): how to fill it in, what each call result means, the
  products.
- `_reactivate` (very hidden; LibreOffice saves it back as merely hidden, which upload
  accepts alike): the stamp in columns A:B: campaign, advisor, issue number, the client
  ids issued and an HMAC-SHA256 over them, keyed by the campaign database's secret.
  Upload recomputes it (`verify_stamp`) to attribute rows to what was issued and to
  recognise a tampered or foreign sheet. Column D holds the product list the 推送产品
  dropdown points at (an inline dropdown list is capped at 255 characters). One sheet
  for both: every sheet costs xlsxwriter two temp files per workbook.

A workbook that lost its stamp sheet must not pass for a plain results sheet, so every
issued workbook also carries markers that Excel, WPS and LibreOffice keep when they save
it: a custom document property (`MARKER_PROPERTY`) and the pair of sheet names
`CALL_SHEET` and `INSTRUCTIONS_SHEET` (`read_stamp` refuses a marked file without a stamp).

Both sheets print as they are (`sheets.layout`): landscape, one page wide, the header row
on every page, campaign and advisor at the top, the page number at the bottom; columns
are as wide as their content and wrapped rows as tall as their lines.

Writing uses xlsxwriter: a book of up to 20,000 clients is assembled in memory, a bigger
one streams its rows to disk in order (constant_memory), so memory stays flat however
many clients a workbook holds. Everything beyond cell values (validation, column
formats, conditional formats) is sheet-level metadata written once per sheet, and input
cells take their fill and unlocked state from column formats: no per-cell writes for
empty input cells. What a book costs beyond bare xlsxwriter writing the same cells is
its fixed parts (two more sheets, formats, validations), a few milliseconds a book; the
rows themselves cost no more (benchmarks/README.md, bench_scale.py assign_pg).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from reactivate.errors import InputError
from reactivate.files import written_whole
from reactivate.messages import t
from reactivate.privacy import SAFE_XLSX
from reactivate.rules.funnel import (
    BUSY,
    CALLBACK,
    CONNECTED,
    DISPOSITION_LABELS,
    DO_NOT_CALL,
    NO_ANSWER,
    REFUSED,
    WRONG_NUMBER,
)
from reactivate.sheets import layout
from reactivate.sheets.clean import cyclic_gc_paused
from reactivate.sheets.limits import check_workbook

# --- the file format -------------------------------------------------------------

CALL_SHEET: Final = "客户名单"
INSTRUCTIONS_SHEET: Final = "填写说明"
STAMP_SHEET: Final = "_reactivate"

#: Client columns, closed to typing. Their order is the sheet's column order.
CLIENT_HEADERS: Final[tuple[str, ...]] = (
    "客户号",
    "姓名",
    "手机号",
    "营业部",
    "资产段",
    "休眠天数",
    "风险等级",
    "适合产品",
)
#: Input columns the advisor fills, after the client columns.
INPUT_HEADERS: Final[tuple[str, ...]] = (
    "通话时间",
    "通话结果",
    "拨打次数",
    "预约回电时间",
    "是否添加企业微信",
    "添加时间",
    "推送产品",
    "推送时间",
    "是否转化",
    "转化时间",
    "备注",
)
HEADERS: Final[tuple[str, ...]] = CLIENT_HEADERS + INPUT_HEADERS
#: A last, locked column when clients have their own WeCom 「联系我」 links.
LINK_HEADER: Final = "企业微信二维码"

YES: Final = "是"
NO: Final = "否"
#: How `适合产品` joins its 'CODE 名称' entries, and how the suitability warning finds a
#: code in it.
PRODUCT_SEPARATOR: Final = "、"
DATETIME_FORMAT: Final = layout.DATETIME_FORMAT

#: Every printed page's footer (`&P`, `&N`: the page and the number of pages).
PAGE_FOOTER: Final = "第 &P 页，共 &N 页"

_STAMP_FORMAT: Final = "reactivate-workbook"
#: The custom document property every issued workbook carries (value `_STAMP_FORMAT`).
MARKER_PROPERTY: Final = "reactivate"
_CUSTOM_PROPERTIES_PART: Final = "docProps/custom.xml"
_CUSTOM_PROPERTY_TAG: Final = (
    "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}property"
)
#: What the call sheet's protection still allows (xlsxwriter `protect()` options; cells
#: unlocked by their format stay editable). No password: it guards against accidents.
_PROTECTION: Final[dict[str, bool]] = {
    "sort": True,
    "autofilter": True,
    "format_columns": True,
    "format_rows": True,
}
_STAMP_VERSION: Final = "1"
# Excel caps a cell at 32,767 UTF-16 units; the JSON is ASCII (ensure_ascii), one unit a char.
_STAMP_CHUNK: Final = 32_000
_DIGEST_DOMAIN: Final = b"reactivate.workbook.v1"
# Excel's last row; row 1 is the header.
_MAX_CLIENTS: Final = 1_048_575

#: Locked columns a follow-up workbook adds after the client columns: why the client is
#: on the list, the last call's result and time, and when the follow-up is due.
FOLLOWUP_HEADERS: Final[tuple[str, ...]] = (
    "跟进原因",
    "上次通话结果",
    "上次通话时间",
    "应跟进时间",
)

#: What the empty input columns will hold, for their widths: a time, a result, a count.
_INPUT_SAMPLES: Final[dict[str, str]] = {
    "通话时间": "2024-03-05 14:30",
    "通话结果": "预约回电",
    "拨打次数": "99",
    "预约回电时间": "2024-03-05 14:30",
    "是否添加企业微信": "是",
    "添加时间": "2024-03-05 14:30",
    "推送时间": "2024-03-05 14:30",
    "是否转化": "是",
    "转化时间": "2024-03-05 14:30",
    "备注": "x" * 24,
}
#: The instructions sheet's wrapped text column, in characters.
_INSTRUCTION_WIDTH: Final = 80
#: The widest a call sheet column gets (Excel's limit is 255).
_MAX_CALL_WIDTH: Final = 150
#: The header row's height: two lines, for the long headers that wrap.
_HEADER_LINES: Final = 2
_DATETIME_HEADERS: Final = ("通话时间", "预约回电时间", "添加时间", "推送时间", "转化时间")

_CLIENT_FILL: Final = "#E7E6E6"
_INPUT_FILL: Final = "#FFF2CC"
_INPUT_HEADER_FILL: Final = "#FFD966"
_WARN_FILL: Final = "#FFC7CE"
_WARN_FONT: Final = "#9C0006"

#: What each call result means, shown on the instructions sheet.
_DISPOSITION_MEANINGS: Final[dict[str, str]] = {
    CONNECTED: "客户接听并正常交流",
    NO_ANSWER: "响铃无人接听",
    BUSY: "占线或正在通话",
    WRONG_NUMBER: "号码不存在、停机,或接听人不是客户本人",
    REFUSED: "接听但拒绝沟通或明确不感兴趣",
    DO_NOT_CALL: "客户要求不再联系:以后永不再拨打此客户",
    CALLBACK: "客户约定其他时间再联系:请同时填写“预约回电时间”",
}


# --- the data a workbook is made from ---------------------------------------------


@dataclass(frozen=True)
class WorkbookClient:
    """One client row of an advisor's workbook."""

    client_id: str
    name: str | None
    mobile: str | None
    branch: str | None
    asset_band: str
    days_dormant: int | None
    risk: int | None  # tolerance 1-5, shown as C1..C5
    suitable_products: tuple[str, ...]  # product codes whose risk <= the client's tolerance
    contact_link: str | None = (
        None  # this client's own WeCom 「联系我」 link (`wecom qr --per-client`)
    )
    followup: WorkbookFollowup | None = None  # why a follow-up workbook lists the client


@dataclass(frozen=True)
class WorkbookFollowup:
    """Why a follow-up workbook lists a client, and the calls so far."""

    reason: str  # in words, e.g. 预约回电时间已到
    attempts: int  # calls so far: the 拨打次数 column starts at it
    last_result: str | None  # the last call's result (internal code)
    last_call_at: datetime | None  # aware
    due_at: datetime | None  # aware: the call-back asked for, or when a retry is due


@dataclass(frozen=True)
class WorkbookProduct:
    """A product the campaign pushes, with its risk rating (1-5, shown as R1..R5)."""

    code: str
    name: str
    risk: int


@dataclass(frozen=True)
class WorkbookSpec:
    """Everything one advisor's workbook holds."""

    campaign_slug: str
    campaign_name: str
    advisor_code: str
    advisor_name: str
    branch: str
    issue: int  # 1, 2, ... per advisor per campaign
    issued_at: datetime  # aware
    timezone: str  # the campaign's, e.g. 'Asia/Shanghai'
    dispositions: tuple[str, ...]  # internal codes; the first label of each is offered
    products: tuple[WorkbookProduct, ...]
    clients: tuple[WorkbookClient, ...]
    contact_link: str | None = None  # the advisor's WeCom "contact me" link


@dataclass(frozen=True)
class Stamp:
    """What the hidden sheet of an issued workbook says was issued."""

    campaign: str
    advisor: str
    issue: int
    client_ids: tuple[str, ...]
    digest: str


def product_label(product: WorkbookProduct) -> str:
    """The 推送产品 dropdown entry for `product`: 'CODE 名称' (the code is the first word)."""
    return f"{product.code} {product.name}" if product.name else product.code


def disposition_label(code: str) -> str:
    """The Chinese label a workbook offers for the disposition `code`."""
    return DISPOSITION_LABELS[code][0]


# --- the stamp -------------------------------------------------------------------


def _canonical(campaign: str, advisor: str, issue: int, client_ids: Sequence[str]) -> bytes:
    # Every field is length-prefixed, so no two different inputs share an encoding.
    # The ids are a set (sorted, deduplicated): the stamp says which clients were issued.
    ids = sorted(set(client_ids))
    fields = [campaign, advisor, str(issue), str(len(ids)), *ids]
    out = bytearray(_DIGEST_DOMAIN)
    for text in fields:
        data = text.encode("utf-8")
        out += struct.pack(">I", len(data))
        out += data
    return bytes(out)


def stamp_digest(
    secret: bytes, campaign: str, advisor: str, issue: int, client_ids: Sequence[str]
) -> str:
    """HMAC-SHA256 (hex) over campaign, advisor, issue and the set of client ids."""
    if not secret:
        raise ValueError("stamp_digest needs a non-empty secret")
    message = _canonical(campaign, advisor, issue, client_ids)
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def stamp_message(stamp: Stamp) -> bytes:
    """What a stamp's HMAC is over (for a check made where the secret is, the database)."""
    return _canonical(stamp.campaign, stamp.advisor, stamp.issue, stamp.client_ids)


def verify_stamp(stamp: Stamp, secret: bytes) -> bool:
    """Whether `stamp` was made with `secret` and is unchanged since."""
    expected = stamp_digest(secret, stamp.campaign, stamp.advisor, stamp.issue, stamp.client_ids)
    return hmac.compare_digest(stamp.digest.encode("utf-8"), expected.encode("ascii"))


def read_stamp(path: Path) -> Stamp | None:
    """The stamp of an issued workbook; None for a sheet that never was one (a plain
    results sheet). The stamp sheet may be very hidden, hidden or visible: its HMAC, not
    its state, is what vouches for it.

    Raises `InputError` when the file cannot be read, or when it is not as issued: it has
    a stamp sheet that is damaged, or it carries an issued workbook's markers but no stamp
    sheet. Neither must pass as a plain sheet.
    """
    if path.suffix.lower() not in (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"):
        return None
    from python_calamine import CalamineWorkbook

    check_workbook(path, str(path))
    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several types for unreadable files
        raise InputError(t("error.file_unreadable", file=path, problem=exc)) from exc
    try:
        names = list(book.sheet_names)
        rows = book.get_sheet_by_name(STAMP_SHEET).to_python() if STAMP_SHEET in names else None
    except Exception as exc:
        raise InputError(t("error.file_unreadable", file=path, problem=exc)) from exc
    finally:
        book.close()
    if rows is not None:
        return _parse_stamp(path, rows)
    if {CALL_SHEET, INSTRUCTIONS_SHEET}.issubset(names) or _has_marker_property(path):
        raise InputError(t("error.stamp_missing", file=path, sheet=STAMP_SHEET))
    return None


def _has_marker_property(path: Path) -> bool:
    """Whether an xlsx or xlsm file's custom document properties hold `MARKER_PROPERTY`."""
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return False  # other formats keep the sheet names, the other marker
    import zipfile
    from xml.etree.ElementTree import ParseError

    from reactivate.sheets.xlsx_head import pull_events

    try:
        with zipfile.ZipFile(path) as archive:
            if _CUSTOM_PROPERTIES_PART not in archive.namelist():
                return False
            with archive.open(_CUSTOM_PROPERTIES_PART) as part:
                return any(
                    element.tag == _CUSTOM_PROPERTY_TAG and element.get("name") == MARKER_PROPERTY
                    for _, element in pull_events(part)
                )
    except (zipfile.BadZipFile, ParseError, OSError) as exc:
        raise InputError(t("error.file_unreadable", file=path, problem=exc)) from exc


def _parse_stamp(path: Path, rows: list[list[Any]]) -> Stamp:
    def damaged(problem: str) -> InputError:
        return InputError(t("error.stamp_damaged", file=path, sheet=STAMP_SHEET, problem=problem))

    values: dict[str, str] = {}
    chunks: list[str] = []
    for row in rows:
        # Rows past the stamp (the product list runs on in column D) have empty keys.
        if len(row) < 2 or not row[0] or not isinstance(row[0], str) or not isinstance(row[1], str):
            continue
        if row[0] == "client_ids":
            chunks.append(row[1])
        else:
            values.setdefault(row[0], row[1])
    if values.get("format") != _STAMP_FORMAT or values.get("version") != _STAMP_VERSION:
        raise damaged(f"format {values.get('format')!r} version {values.get('version')!r}")
    missing = [key for key in ("campaign", "advisor", "issue", "digest") if key not in values]
    if missing:
        raise damaged(f"missing {', '.join(missing)}")
    try:
        issue = int(values["issue"])
        ids = json.loads("".join(chunks)) if chunks else None
    except (ValueError, RecursionError) as exc:
        raise damaged(str(exc)) from exc
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise damaged("client_ids")
    return Stamp(
        campaign=values["campaign"],
        advisor=values["advisor"],
        issue=issue,
        client_ids=tuple(ids),
        digest=values["digest"],
    )


# --- writing ---------------------------------------------------------------------


#: Books of at most this many clients are assembled in memory (a few MB), bigger ones
#: stream their rows through temporary files (xlsxwriter's constant_memory).
_IN_MEMORY_CLIENTS = 20_000


def write_advisor_workbook(
    path: Path, spec: WorkbookSpec, secret: bytes, *, atomic: bool = True
) -> None:
    """Write `spec` as an advisor's call workbook at `path`, atomically.

    The workbook is written to a temporary file in the same folder and moved into
    place, so a reader never sees half a workbook and a failure leaves no file behind.
    `atomic=False` is for a folder no one reads before the writer is done (assign's
    scratch folder, moved into place after its commit): the book is written where it
    goes, saving a file and a rename a book, and removed if the write fails.
    """
    _check_spec(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not atomic:
        try:
            _write(path, spec, secret)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return
    with written_whole(path, suffix=".xlsx") as temp:
        _write(temp, spec, secret)


def _check_spec(spec: WorkbookSpec) -> None:
    # These are programming errors of the caller (assign builds the spec), not user input.
    if spec.issued_at.tzinfo is None or spec.issued_at.utcoffset() is None:
        raise ValueError("WorkbookSpec.issued_at must be timezone-aware")
    if len(spec.clients) > _MAX_CLIENTS:
        raise ValueError(f"a sheet holds at most {_MAX_CLIENTS} clients")
    ids = [client.client_id for client in spec.clients]
    if not all(ids) or len(set(ids)) != len(ids):
        raise ValueError("WorkbookSpec.clients need distinct, non-empty client ids")
    unknown = [code for code in spec.dispositions if code not in DISPOSITION_LABELS]
    if unknown:
        raise ValueError(f"unknown dispositions: {unknown}")
    ZoneInfo(spec.timezone)  # raises for an unknown zone


def _write(path: Path, spec: WorkbookSpec, secret: bytes) -> None:
    # xlsxwriter makes a tuple or more a cell, and the cycle collector's passes over them
    # (and every older object of the process) cost a sixth of a book's writing; the
    # book's own cycles are collected once the collector runs again, after it
    # (benchmarks/README.md, bench_scale.py assign_pg)
    with cyclic_gc_paused():
        _write_book(path, spec, secret)


def _write_book(path: Path, spec: WorkbookSpec, secret: bytes) -> None:
    import xlsxwriter

    issued_utc = spec.issued_at.astimezone(UTC).replace(tzinfo=None)
    # A book of a few hundred clients (5,000 advisors' share of a campaign) is assembled in
    # memory: xlsxwriter's temporary file per part cost it more than its cells (5,000
    # books: benchmarks/README.md, bench_scale.py assign_pg). A big one streams its rows.
    streamed = len(spec.clients) > _IN_MEMORY_CLIENTS
    book = xlsxwriter.Workbook(
        str(path), {**SAFE_XLSX, "constant_memory": streamed, "in_memory": not streamed}
    )
    try:
        book.set_properties(
            {
                "title": f"{spec.campaign_name} - {spec.advisor_name} ({spec.advisor_code})",
                "created": issued_utc,
            }
        )
        book.set_custom_property(MARKER_PROPERTY, _STAMP_FORMAT)
        calls = book.add_worksheet(CALL_SHEET, _call_sheet_class())
        instructions = book.add_worksheet(INSTRUCTIONS_SHEET)
        stamp = book.add_worksheet(STAMP_SHEET)
        product_range = _write_stamp(stamp, spec, secret)
        _write_calls(book, calls, spec, product_range)
        _write_instructions(book, instructions, spec)
        calls.activate()
    finally:
        book.close()


@functools.cache
def _call_sheet_class() -> type:
    """xlsxwriter's worksheet, remembering the formulas it prepares.

    As it saves a sheet, xlsxwriter passes every validation and conditional format
    formula through some 150 regular expressions (to prefix Excel's newer functions,
    which ours do not use): about a millisecond a book for the same three formulas in
    every book of a run. The preparation depends on the formula alone, so it is kept."""
    from xlsxwriter.worksheet import Worksheet

    prepared: dict[tuple[str, bool, bool], str] = {}

    class CallSheet(Worksheet):  # type: ignore[misc]
        def _prepare_formula(self, formula: str, expand_future_functions: bool = False) -> str:
            key = (formula, expand_future_functions, self.use_future_functions)
            done = prepared.get(key)
            if done is None:
                if len(prepared) >= 256:  # a few formulas a campaign; never a heap
                    prepared.clear()
                done = prepared[key] = super()._prepare_formula(formula, expand_future_functions)
            return done

    return CallSheet


def call_headers(spec: WorkbookSpec) -> tuple[str, ...]:
    """The call sheet's headers: client columns, a follow-up's columns, input columns."""
    followups = any(client.followup is not None for client in spec.clients)
    return CLIENT_HEADERS + (FOLLOWUP_HEADERS if followups else ()) + INPUT_HEADERS


def _write_calls(book: Any, ws: Any, spec: WorkbookSpec, product_range: str | None) -> None:
    formats = _CallFormats.add_to(book)
    headers = call_headers(spec)
    col = {header: index for index, header in enumerate(headers)}
    last_col = len(headers) - 1
    # per-client WeCom links: a last, locked column. Rows are written in order (constant
    # memory), so the header goes in now and each link with its row.
    links = any(client.contact_link for client in spec.clients)
    if links:
        last_col += 1
        ws.write_string(0, last_col, LINK_HEADER, formats.client_header)
    # no cell cut: 适合产品 may list five products with their names (the page shrinks instead)
    widths = layout.ColumnWidths(header_lines=_HEADER_LINES, maximum=_MAX_CALL_WIDTH)
    ws.set_row(0, layout.LINE_HEIGHT * _HEADER_LINES)
    for header, index in col.items():
        ws.write_string(
            0,
            index,
            header,
            formats.input_header if header in INPUT_HEADERS else formats.client_header,
        )
        widths.see_header(index, header)
    _write_call_rows(ws, spec, col, last_col if links else None, formats, widths)
    _format_call_columns(ws, spec, col, formats, widths)
    if links:
        ws.set_column(last_col, last_col, 40)
    last_row = max(len(spec.clients), 1)
    ws.freeze_panes(1, 3)  # header, and client id / name / mobile while scrolling right
    ws.autofilter(0, 0, last_row, last_col)
    _validate(ws, spec, col, last_row, product_range, last_col)
    if product_range is not None:
        _warn_unsuitable_products(ws, col, last_row, formats.warn)
    ws.hide_gridlines(0)  # printed too: a call list on paper is read along its lines
    layout.print_ready(
        ws,
        title=f"{spec.campaign_name} 客户回访名单",
        detail=f"{spec.advisor_name}({spec.advisor_code}) {spec.branch} 第 {spec.issue} 期",
        page=PAGE_FOOTER,
    )
    ws.protect("", _PROTECTION)


@dataclass(frozen=True)
class _CallFormats:
    """The call sheet's cell formats."""

    client_header: Any
    input_header: Any
    input_plain: Any
    input_datetime: Any
    client_datetime: Any
    warn: Any

    @classmethod
    def add_to(cls, book: Any) -> _CallFormats:
        header = {"bold": True, "border": 1, "text_wrap": True, "valign": "vcenter"}
        return cls(
            client_header=book.add_format({**header, "bg_color": _CLIENT_FILL}),
            input_header=book.add_format({**header, "bg_color": _INPUT_HEADER_FILL}),
            # Unlocked: the only cells of the protected sheet anyone may change.
            input_plain=book.add_format({"locked": False, "bg_color": _INPUT_FILL}),
            input_datetime=book.add_format(
                {"locked": False, "bg_color": _INPUT_FILL, "num_format": DATETIME_FORMAT}
            ),
            client_datetime=book.add_format({"num_format": DATETIME_FORMAT}),
            warn=book.add_format({"bg_color": _WARN_FILL, "font_color": _WARN_FONT}),
        )


def _format_call_columns(
    ws: Any,
    spec: WorkbookSpec,
    col: dict[str, int],
    formats: _CallFormats,
    widths: layout.ColumnWidths,
) -> None:
    """Column widths from content; input columns take their fill (and date format) from
    the column, and their widths from what they will hold."""
    samples = dict(_INPUT_SAMPLES)
    samples["通话结果"] = max(
        (disposition_label(code) for code in spec.dispositions),
        key=layout.text_width,
        default=samples["通话结果"],
    )
    samples["推送产品"] = max(
        (product_label(product) for product in spec.products), key=layout.text_width, default=""
    )
    column_formats: dict[int, Any] = {}
    for header, index in col.items():
        if header in INPUT_HEADERS:
            widths.see(index, samples[header])
            datetime_column = header in _DATETIME_HEADERS
            column_formats[index] = (
                formats.input_datetime if datetime_column else formats.input_plain
            )
        # Ids and mobiles are written as text cells; a '@' column format on them would
        # cost a style attribute per cell (~5% of the write) and no one types in them.
    widths.apply(ws, column_formats)


def _write_call_rows(
    ws: Any,
    spec: WorkbookSpec,
    col: dict[str, int],
    link_col: int | None,
    formats: _CallFormats,
    widths: layout.ColumnWidths,
) -> None:
    """One row per client from row 1; each client's own link in `link_col`, when given.
    The client columns' widths are taken after the rows, a column at a time (`layout.widest`)."""
    clients = spec.clients
    zone = ZoneInfo(spec.timezone)
    labels = {product.code: product_label(product) for product in spec.products}
    suitable: dict[tuple[str, ...], str] = {}  # product codes -> the 适合产品 cell
    # Hot loop: one call per non-empty cell, nothing else (see the module docstring).
    # xlsxwriter's public writers only add a check for "A1"-style cell names before
    # calling these (a third of a string cell's cost); rows and columns here are numbers.
    write_string = getattr(ws, "_write_string", ws.write_string)
    write_number = getattr(ws, "_write_number", ws.write_number)
    for row, client in enumerate(clients, start=1):
        write_string(row, 0, client.client_id)
        if client.name:
            write_string(row, 1, client.name)
        if client.mobile:
            write_string(row, 2, client.mobile)
        if client.branch:
            write_string(row, 3, client.branch)
        if client.asset_band:
            write_string(row, 4, client.asset_band)
        if client.days_dormant is not None:
            write_number(row, 5, client.days_dormant)
        if client.risk is not None:
            write_string(row, 6, f"C{client.risk}")
        if client.suitable_products:
            shown = suitable.get(client.suitable_products)
            if shown is None:
                shown = PRODUCT_SEPARATOR.join(
                    labels.get(code, code) for code in client.suitable_products
                )
                suitable[client.suitable_products] = shown
            write_string(row, 7, shown)
        if client.followup is not None:
            _write_followup(ws, row, col, client.followup, zone, formats, widths)
        if link_col is not None and client.contact_link:
            write_string(row, link_col, client.contact_link)
    days = [c.days_dormant for c in clients if c.days_dormant is not None]
    for index, values in enumerate(
        (
            [c.client_id for c in clients],
            [c.name for c in clients if c.name],
            [c.mobile for c in clients if c.mobile],
            [c.branch for c in clients if c.branch],
            [c.asset_band for c in clients],
            [str(min(days)), str(max(days))] if days else [],  # the longest of whole numbers
            ["C5"],
            suitable.values(),
        )
    ):
        widths.see_all(index, values)


def _write_followup(
    ws: Any,
    row: int,
    col: dict[str, int],
    followup: WorkbookFollowup,
    zone: ZoneInfo,
    formats: _CallFormats,
    widths: layout.ColumnWidths,
) -> None:
    """A follow-up workbook's row: why, the last call, when due (on the campaign's
    clock); 拨打次数 starts at the calls so far."""
    ws.write_string(row, col["跟进原因"], followup.reason)
    widths.see(col["跟进原因"], followup.reason)
    if followup.last_result:
        label = DISPOSITION_LABELS.get(followup.last_result, (followup.last_result,))[0]
        ws.write_string(row, col["上次通话结果"], label)
        widths.see(col["上次通话结果"], label)
    for header, moment in (
        ("上次通话时间", followup.last_call_at),
        ("应跟进时间", followup.due_at),
    ):
        if moment is not None:
            local = moment.astimezone(zone)
            layout.write_time(ws, row, col[header], local, formats.client_datetime)
            widths.see(col[header], local)
    ws.write_number(row, col["拨打次数"], followup.attempts, formats.input_plain)


def _warn_unsuitable_products(ws: Any, col: dict[str, int], last_row: int, warn: Any) -> None:
    """Warn in red when a pushed product's code is not among the row's suitable ones;
    upload rejects such rows (suitability), this makes the mistake visible at once."""
    from xlsxwriter.utility import xl_col_to_name

    product_cell = f"${xl_col_to_name(col['推送产品'])}2"
    suitable_cell = f"${xl_col_to_name(col['适合产品'])}2"
    sep = PRODUCT_SEPARATOR
    code = f'IFERROR(LEFT({product_cell},FIND(" ",{product_cell})-1),{product_cell})'
    # 适合产品 lists 'CODE 名称' entries (or bare codes): each entry's code ends at a space
    # once every separator is preceded by one and the text ends with one.
    entries = f'"{sep}"&SUBSTITUTE({suitable_cell},"{sep}"," {sep}")&" "'
    formula = f'=AND({product_cell}<>"",ISERROR(SEARCH("{sep}"&{code}&" ",{entries})))'
    ws.conditional_format(
        1,
        col["推送产品"],
        last_row,
        col["推送产品"],
        {"type": "formula", "criteria": formula, "format": warn},
    )


def _validate(
    ws: Any,
    spec: WorkbookSpec,
    col: dict[str, int],
    last_row: int,
    product_range: str | None,
    last_col: int,
) -> None:
    """Client cells refuse typing; input cells take their dropdowns and checks."""
    _refuse_typing_in_client_cells(ws, col, last_row, last_col)
    for header, options in (*_choice_rules(spec, product_range), *_typed_rules()):
        index = col[header]
        ws.data_validation(1, index, last_row, index, options)


def _refuse_typing_in_client_cells(
    ws: Any, col: dict[str, int], last_row: int, last_col: int
) -> None:
    """Client cells and headers refuse whatever is typed (a formula that is never true).

    Behind the sheet protection, which stops pasting and Delete too: this still guards
    them once someone lifts the protection to sort. Integrity comes from the stamp's HMAC
    and upload's checks. One rule over two ranges, so no per-cell cost."""
    from xlsxwriter.utility import xl_rowcol_to_cell

    first_input, last_input = col[INPUT_HEADERS[0]], col[INPUT_HEADERS[-1]]
    client_last = xl_rowcol_to_cell(last_row, first_input - 1)
    input_headers = f"{xl_rowcol_to_cell(0, first_input)}:{xl_rowcol_to_cell(0, last_input)}"
    links = ""  # the per-client link column, when there is one, is client data too
    if last_col > last_input:
        links = f" {xl_rowcol_to_cell(0, last_col)}:{xl_rowcol_to_cell(last_row, last_col)}"
    ws.data_validation(
        0,
        0,
        last_row,
        first_input - 1,
        {
            "validate": "custom",
            "value": "=FALSE()",
            "ignore_blank": False,
            "show_input": False,
            "error_type": "stop",
            "error_title": "客户资料不可修改",
            "error_message": "客户号、姓名、手机号等客户信息列和表头由总部下发,请勿修改;"
            "如有错误请在“备注”中说明。",
            "multi_range": f"A1:{client_last} {input_headers}{links}",
        },
    )


def _choice_rules(
    spec: WorkbookSpec, product_range: str | None
) -> list[tuple[str, dict[str, Any]]]:
    """The dropdowns of the input columns: (header, validation options)."""
    rules: list[tuple[str, dict[str, Any]]] = []
    labels = [disposition_label(code) for code in spec.dispositions]
    if labels:
        rules.append(
            (
                "通话结果",
                {
                    "validate": "list",
                    "source": labels,
                    "error_title": "通话结果",
                    "error_message": "请从下拉列表中选择通话结果。",
                },
            )
        )
    for header in ("是否添加企业微信", "是否转化"):
        rules.append(
            (
                header,
                {
                    "validate": "list",
                    "source": [YES, NO],
                    "error_title": header,
                    "error_message": "请选择“是”或“否”。",
                },
            )
        )
    if product_range is not None:
        rules.append(
            (
                "推送产品",
                {
                    "validate": "list",
                    "source": product_range,
                    "input_title": "推送产品",
                    "input_message": "只能选本行“适合产品”里列出的产品。",
                    "error_title": "推送产品",
                    "error_message": "请从下拉列表中选择产品。",
                },
            )
        )
    return rules


def _typed_rules() -> list[tuple[str, dict[str, Any]]]:
    """The number and date-time checks of the input columns: (header, validation options)."""
    attempts = {
        "validate": "integer",
        "criteria": "between",
        "minimum": 0,
        "maximum": 99,
        "error_title": "拨打次数",
        "error_message": "请填写 0 到 99 的整数。",
    }
    return [("拨打次数", attempts)] + [
        (
            header,
            {
                "validate": "date",
                "criteria": "between",
                "minimum": datetime(2000, 1, 1),
                "maximum": datetime(2099, 12, 31, 23, 59),
                "input_title": header,
                "input_message": "格式:2024-03-05 14:30",
                "error_title": header,
                "error_message": "请按 2024-03-05 14:30 的格式填写日期和时间。",
            },
        )
        for header in _DATETIME_HEADERS
    ]


def _zone_label(timezone: str) -> str:
    return "北京时间(Asia/Shanghai)" if timezone == "Asia/Shanghai" else timezone


def _write_instructions(book: Any, ws: Any, spec: WorkbookSpec) -> None:
    title = book.add_format({"bold": True, "font_size": 14})
    bold = book.add_format({"bold": True})
    head = book.add_format({"bold": True, "bg_color": _CLIENT_FILL, "border": 1})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    top = book.add_format({"valign": "top"})  # a label beside wrapped text: on its first line
    # the labels' column and the product table's last two as wide as what they hold; the
    # text column wraps at a fixed width, its rows as tall as their lines
    widths = layout.ColumnWidths()
    for label in ("企业微信“联系我”", "产品代码", *map(disposition_label, spec.dispositions)):
        widths.see(0, label)
    for product in spec.products:
        widths.see(0, product.code)
    widths.see(2, "产品风险")
    widths.see(3, "适合的客户 C5 及以上")
    widths.apply(ws)
    ws.set_column(1, 1, _INSTRUCTION_WIDTH, wrap)
    layout.print_ready(
        ws,
        title=f"{spec.campaign_name} 填写说明",
        detail=f"{spec.advisor_name}({spec.advisor_code})",
        page=PAGE_FOOTER,
        header_rows=0,
        one_page=True,
    )

    zone = _zone_label(spec.timezone)
    issued = spec.issued_at.astimezone(ZoneInfo(spec.timezone)).strftime("%Y-%m-%d %H:%M")
    row = 0

    def line(label: str, text: str = "", label_format: Any = None) -> None:
        nonlocal row
        if text:
            # an unset height is one line: wrapped lines would be drawn over the next rows
            ws.set_row(row, layout.wrapped_height(text, _INSTRUCTION_WIDTH))
        ws.write_string(row, 0, label, label_format or top)
        if text:
            ws.write_string(row, 1, text)
        row += 1

    ws.set_row(row, 24)  # the 14-point title
    line(f"{spec.campaign_name} 客户回访名单 填写说明", label_format=title)
    line("活动", f"{spec.campaign_name}({spec.campaign_slug})")
    line("客户经理", f"{spec.advisor_name}({spec.advisor_code}),{spec.branch}")
    line("名单", f"第 {spec.issue} 期,{len(spec.clients)} 位客户,生成于 {issued}({zone})")
    if spec.contact_link:
        ws.set_row(row, layout.wrapped_height(spec.contact_link, _INSTRUCTION_WIDTH))
        ws.write_string(row, 0, "企业微信“联系我”")
        if spec.contact_link.startswith(("http://", "https://")) and len(spec.contact_link) < 2000:
            ws.write_url(row, 1, spec.contact_link)
        else:
            ws.write_string(row, 1, spec.contact_link)
        row += 1
    row += 1

    line("怎么填", label_format=bold)
    steps = (
        f"只在“{CALL_SHEET}”表的黄色列里填写;表头为灰色的客户信息列和表头已锁定,不能修改;"
        "可以用表头的筛选按钮筛选,可以调整列宽和行高。"
        "工作表保护没有密码:需要排序时可在“审阅”中撤销工作表保护,排序后请勿改动客户信息列。",
        "每打一次电话,填写“通话时间”和“通话结果”(下拉选择),并把“拨打次数”加 1。"
        "再次拨打时改成最新一次的时间和结果即可,已上传过的记录不会丢失。",
        f"所有时间按{zone}填写,格式为 2024-03-05 14:30,不能填写未来的时间。",
        "通话结果为“预约回电”时,在“预约回电时间”里填写约定的时间。",
        "客户添加了您的企业微信后,“是否添加企业微信”选“是”,并填写“添加时间”。",
        "“推送产品”只能选本行“适合产品”里列出的产品(适当性要求);"
        "选了不适合的产品,单元格会变红,上传时该行会被拒绝。填写推送产品后请填写“推送时间”。",
        "客户购买或办理了推送的产品,“是否转化”选“是”,并填写“转化时间”。",
        "“勿扰”表示客户要求不再联系:以后永远不要再拨打这位客户。",
        "不要改动表名、列名,不要增加、删除或移动列,不要删除、修改隐藏的工作表"
        "(取消隐藏或另存后变为“隐藏”都不要紧),否则上传会被拒绝;保存为 .xlsx 后上传。"
        "同一份表可以多次上传,相同的内容不会重复计算。",
        "本表含客户姓名和手机号,仅供您本人使用,请勿转发或外传。",
    )
    for number, text in enumerate(steps, start=1):
        line(f"{number}.", text)
    row += 1

    line("通话结果", label_format=bold)
    ws.write_string(row, 0, "结果", head)
    ws.write_string(row, 1, "含义", head)
    row += 1
    for code in spec.dispositions:
        line(disposition_label(code), _DISPOSITION_MEANINGS.get(code, ""))
    row += 1

    if spec.products:
        line("产品", label_format=bold)
        for index, text in enumerate(("产品代码", "产品名称", "产品风险", "适合的客户")):
            ws.write_string(row, index, text, head)
        row += 1
        for product in spec.products:
            ws.set_row(row, layout.wrapped_height(product.name, _INSTRUCTION_WIDTH))
            ws.write_string(row, 0, product.code)
            ws.write_string(row, 1, product.name)
            ws.write_string(row, 2, f"R{product.risk}")
            ws.write_string(row, 3, f"C{product.risk} 及以上")
            row += 1


def _write_stamp(ws: Any, spec: WorkbookSpec, secret: bytes) -> str | None:
    """Write the stamp (A:B) and the product list (D); return the list's range, if any."""
    ws.very_hidden()  # out of the unhide menu; upload accepts it hidden or shown alike
    ws.protect()  # an accidental edit, once shown, would void the stamp
    ids = [client.client_id for client in spec.clients]
    digest = stamp_digest(secret, spec.campaign_slug, spec.advisor_code, spec.issue, ids)
    pairs = [
        ("format", _STAMP_FORMAT),
        ("version", _STAMP_VERSION),
        ("campaign", spec.campaign_slug),
        ("advisor", spec.advisor_code),
        ("issue", str(spec.issue)),
        ("issued_at", spec.issued_at.isoformat()),
        ("clients", str(len(ids))),
        ("digest", digest),
    ]
    # The ids as one JSON array, cut into cells: a few cells instead of one per client.
    text = json.dumps(ids, ensure_ascii=True, separators=(",", ":"))
    pairs += [
        ("client_ids", text[start : start + _STAMP_CHUNK])
        for start in range(0, len(text), _STAMP_CHUNK)
    ]
    labels = [product_label(product) for product in spec.products]
    # constant_memory writes rows in order, so both columns are written row by row.
    for row in range(max(len(pairs), len(labels))):
        if row < len(pairs):
            ws.write_string(row, 0, pairs[row][0])
            ws.write_string(row, 1, pairs[row][1])
        if row < len(labels):
            ws.write_string(row, 3, labels[row])
    if not labels:
        return None
    return f"='{STAMP_SHEET}'!$D$1:$D${len(labels)}"

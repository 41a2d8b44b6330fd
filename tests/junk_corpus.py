"""A seeded corpus of hostile and broken input files, as real offices and attackers make them.

`make_corpus(folder)` writes at least 300 files: truncated and binary workbooks, zip bombs,
far-away cells, 16,384 columns, wrong encodings, lone surrogates, NUL bytes, huge cells,
formulas, look-alike ids, impossible dates and numbers, and broken campaign TOML. Each
file is named for what is wrong with it, so a failure names its cause.
"""

from __future__ import annotations

import codecs
import io
import random
import zipfile
from collections.abc import Callable
from pathlib import Path

ACCOUNT_HEADER = [
    "客户号",
    "客户姓名",
    "手机号码",
    "所属营业部",
    "总资产(元)",
    "最后交易日期",
    "风险承受能力",
]
GOOD_ROW = ["0010000001", "张三", "13800000001", "上海浦东南路营业部", "20000", "2019-06-01", "C3"]
RESULT_HEADER = ["客户号", "客户经理", "通话时间", "通话结果", "拨打次数", "推送产品", "推送时间"]

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)


def _column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cells(row: int, values: list[object]) -> str:
    out = []
    for col, value in enumerate(values):
        ref = f"{_column(col)}{row}"
        if isinstance(value, (int, float)):
            out.append(f'<c r="{ref}"><v>{value}</v></c>')
        else:
            out.append(f'<c r="{ref}" t="inlineStr"><is><t>{_escape(str(value))}</t></is></c>')
    return f'<row r="{row}">{"".join(out)}</row>'


def sheet_xml(rows: list[list[object]], *, dimension: str | None = None, extra: str = "") -> str:
    """A worksheet's XML holding `rows` (inline strings), with an optional declared dimension."""
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    body = "".join(_cells(i + 1, r) for i, r in enumerate(rows))
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{dim}<sheetData>{body}{extra}</sheetData></worksheet>"
    )


def xlsx_bytes(sheet: str, *, members: dict[str, str | bytes] | None = None) -> bytes:
    """A minimal workbook whose only sheet is `sheet` (XML text), deflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        parts: dict[str, str | bytes] = {
            "[Content_Types].xml": _CONTENT_TYPES,
            "_rels/.rels": _ROOT_RELS,
            "xl/workbook.xml": _WORKBOOK,
            "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS,
            "xl/worksheets/sheet1.xml": sheet,
        }
        parts.update(members or {})
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _csv(rows: list[list[str]], *, sep: str = ",") -> str:
    return "\n".join(sep.join(r) for r in rows) + "\n"


def _rows(header: list[str], body: list[list[str]]) -> list[list[str]]:
    return [header, *body]


def _zip_bomb(mib: int) -> bytes:
    """A workbook whose sheet decompresses to `mib` MiB of one repeated row."""
    row = _cells(2, GOOD_ROW)
    head = sheet_xml([ACCOUNT_HEADER]).split("</sheetData>")[0]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in {
            "[Content_Types].xml": _CONTENT_TYPES,
            "_rels/.rels": _ROOT_RELS,
            "xl/workbook.xml": _WORKBOOK,
            "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS,
        }.items():
            archive.writestr(name, data)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(head.encode())
            chunk = (row * (1024 * 1024 // len(row) + 1)).encode()[: 1024 * 1024]
            for _ in range(mib):
                sheet.write(chunk)
            sheet.write(b"</sheetData></worksheet>")
    return buffer.getvalue()


def make_corpus(folder: Path, *, seed: int = 20201231, good_xlsx: Path | None = None) -> list[Path]:
    """Write the corpus into `folder`; returns the files, in a stable order."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []

    def put(name: str, data: bytes | str) -> None:
        path = folder / name
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        made.append(path)

    good = xlsx_bytes(sheet_xml([ACCOUNT_HEADER, GOOD_ROW, GOOD_ROW[:1] + ["李四"] + GOOD_ROW[2:]]))
    real = good_xlsx.read_bytes() if good_xlsx is not None else good
    # truncated workbooks, at many cut points
    for i in range(40):
        cut = rng.randrange(1, len(real))
        put(f"truncated_{i:02d}_at_{cut}.xlsx", real[:cut])
    # random bytes under every extension a reader accepts
    for i in range(40):
        ext = ("xlsx", "xls", "csv", "ods", "xlsm", "txt")[i % 6]
        put(f"binary_{i:02d}.{ext}", rng.randbytes(rng.choice([1, 7, 512, 4096, 65536])))
    # a zip with a wrong inside
    for i, (member, data) in enumerate(
        [
            ("xl/worksheets/sheet1.xml", "<not xml"),
            ("xl/worksheets/sheet1.xml", ""),
            ("xl/workbook.xml", "<workbook/>"),
            ("[Content_Types].xml", "garbage"),
            ("xl/sharedStrings.xml", "<sst><si><t>unterminated"),
            ("xl/worksheets/sheet1.xml", sheet_xml([ACCOUNT_HEADER]).replace("</worksheet>", "")),
            (
                "xl/worksheets/sheet1.xml",
                '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
                '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
                ']><worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&c;</t></is></c>'
                "</row></sheetData></worksheet>",
            ),
            (
                "xl/worksheets/sheet1.xml",
                '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM '
                '"file:///etc/passwd">]><worksheet><sheetData><row r="1"><c r="A1" t="inlineStr">'
                "<is><t>&e;</t></is></c></row></sheetData></worksheet>",
            ),
        ]
    ):
        base = xlsx_bytes(sheet_xml([ACCOUNT_HEADER, GOOD_ROW]), members={member: data})
        put(f"broken_member_{i:02d}.xlsx", base)
    for i in range(12):
        put(f"zip_not_workbook_{i:02d}.xlsx", _plain_zip(rng))
    # far-away cells and wide sheets
    for ref in ("XFD1048576", "CV1048576", "A1048576", "ZZ100000"):
        far = sheet_xml(
            [ACCOUNT_HEADER, GOOD_ROW],
            extra=f'<row r="{ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}">'
            f'<c r="{ref}"><v>1</v></c></row>',
        )
        put(f"far_cell_{ref}.xlsx", xlsx_bytes(far))
        put(
            f"far_dimension_{ref}.xlsx",
            xlsx_bytes(sheet_xml([ACCOUNT_HEADER, GOOD_ROW], dimension=f"A1:{ref}")),
        )
    wide = [f"列{i}" for i in range(16384)]
    put("columns_16384.xlsx", xlsx_bytes(sheet_xml([ACCOUNT_HEADER + wide[7:], GOOD_ROW])))
    put("columns_16384.csv", _csv([ACCOUNT_HEADER + wide[7:], GOOD_ROW]))
    put("columns_16385.csv", _csv([ACCOUNT_HEADER + wide, GOOD_ROW]))
    put("columns_100000_row.csv", ",".join(["x"] * 100000) + "\n")
    # zip bombs: small files that decompress to hundreds of MiB
    for mib in (64, 256, 1024):
        put(f"zip_bomb_{mib}MiB.xlsx", _zip_bomb(mib))
    # encodings
    text = _csv(_rows(ACCOUNT_HEADER, [GOOD_ROW]))
    for codec in (
        "gbk",
        "gb18030",
        "big5",
        "utf-16-le",
        "utf-16-be",
        "utf-32",
        "shift_jis",
        "euc-kr",
    ):
        try:
            put(f"encoding_{codec}.csv", text.encode(codec, errors="replace"))
        except LookupError:
            continue
    put("encoding_utf16_bom.csv", codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    put("encoding_utf8_bom_twice.csv", codecs.BOM_UTF8 * 2 + text.encode())
    put("encoding_latin1.csv", text.encode("utf-8").decode("latin-1").encode("latin-1"))
    put("encoding_mixed.csv", text.encode("gbk") + _csv([GOOD_ROW]).encode("utf-8"))
    for i in range(10):
        surrogate = b"\xed\xa0\x80" if i % 2 else b"\xed\xbf\xbf"
        row = ",".join(GOOD_ROW).encode().replace("张三".encode(), surrogate * (i + 1))
        put(f"lone_surrogate_{i}.csv", ",".join(ACCOUNT_HEADER).encode() + b"\n" + row + b"\n")
    for i in range(6):
        put(
            f"invalid_utf8_{i}.csv",
            ",".join(ACCOUNT_HEADER).encode() + b"\n" + rng.randbytes(200) + b"\n",
        )
    # empty and nearly empty
    for name, data in {
        "empty.csv": "",
        "empty.xlsx": b"",
        "only_bom.csv": codecs.BOM_UTF8,
        "only_newlines.csv": "\n\n\n",
        "only_commas.csv": ",,,,\n,,,\n",
        "header_only.csv": _csv([ACCOUNT_HEADER]),
        "header_only_results.csv": _csv([RESULT_HEADER]),
        "header_only.xlsx": xlsx_bytes(sheet_xml([ACCOUNT_HEADER])),
        "header_only_results.xlsx": xlsx_bytes(sheet_xml([RESULT_HEADER])),
        "empty_sheet.xlsx": xlsx_bytes(sheet_xml([])),
        "whitespace_cells.csv": _csv([[" "] * 7, ["\t"] * 7]),
    }.items():
        put(name, data)
    # CSV structure
    structural: dict[str, str | bytes] = {
        "nul_bytes.csv": text.replace("张三", "张\x00三"),
        "nul_in_header.csv": text.replace("客户号", "客户\x00号"),
        "unterminated_quote.csv": text.replace("张三", '"张三'),
        "quote_in_field.csv": text.replace("张三", 'a"b"c'),
        "semicolons.csv": _csv(_rows(ACCOUNT_HEADER, [GOOD_ROW]), sep=";"),
        "tabs.csv": _csv(_rows(ACCOUNT_HEADER, [GOOD_ROW]), sep="\t"),
        "pipes.csv": _csv(_rows(ACCOUNT_HEADER, [GOOD_ROW]), sep="|"),
        "ragged.csv": _csv([ACCOUNT_HEADER, GOOD_ROW[:2], GOOD_ROW + ["x", "y", "z"]]),
        "cr_only.csv": text.replace("\n", "\r"),
        "crlf_mixed.csv": text.replace("\n", "\r\n", 1),
        "duplicate_headers.csv": _csv([ACCOUNT_HEADER + ACCOUNT_HEADER, GOOD_ROW + GOOD_ROW]),
        "header_not_first.csv": _csv([["x"]] * 50 + [ACCOUNT_HEADER, GOOD_ROW]),
        "long_line.csv": _csv([ACCOUNT_HEADER, [GOOD_ROW[0], "名" * 200000] + GOOD_ROW[2:]]),
        "huge_cell_10MB.csv": _csv(
            [ACCOUNT_HEADER, [GOOD_ROW[0], "x" * 10_000_000] + GOOD_ROW[2:]]
        ),
        "huge_id.csv": _csv([ACCOUNT_HEADER, ["1" * 5000] + GOOD_ROW[1:]]),
        "many_rows_bad.csv": _csv([ACCOUNT_HEADER] + [["bad"] * 7] * 20000),
        "backslashes.csv": text.replace("张三", "\\\\\\"),
        "html.csv": "<html><body><table><tr><td>客户号</td></tr></table></body></html>",
        "json.csv": '{"客户号": "0010000001"}',
        "xml.xlsx": "<?xml version='1.0'?><root/>",
        "csv_named_xlsx.xlsx": text,
        "xlsx_named_csv.csv": good,
        "xlsx_named_xls.xls": good,
        "pdf.xlsx": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + rng.randbytes(300),
        "gzip.csv": b"\x1f\x8b\x08\x00" + rng.randbytes(300),
        "ole_header.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + rng.randbytes(2000),
        "ole_header_short.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    }
    for name, data in structural.items():
        put(name, data)
    # cells an attacker or a careless hand writes
    formulas = [
        '=HYPERLINK("http://evil","click")',
        "=1+1",
        "@SUM(A1:A2)",
        "+cmd|' /C calc'!A0",
        "-2+3",
        "\t=1",
        "\r=1",
        '=WEBSERVICE("http://x")',
        "=cmd|'/c calc'!A1",
        "＝1+1",
    ]
    for i, formula in enumerate(formulas):
        rows = [ACCOUNT_HEADER, [GOOD_ROW[0], formula] + GOOD_ROW[2:]]
        put(f"formula_name_{i:02d}.csv", _csv(rows))
        cell = f"<f>{_escape(formula.lstrip('=@+-'))}</f><v>0</v>"
        with_formula = sheet_xml([ACCOUNT_HEADER, GOOD_ROW]).replace(
            "</row></sheetData>", f'<c r="H2">{cell}</c></row></sheetData>'
        )
        put(f"formula_cell_{i:02d}.xlsx", xlsx_bytes(with_formula))
        put(f"formula_id_{i:02d}.csv", _csv([ACCOUNT_HEADER, [formula] + GOOD_ROW[1:]]))
    look_alikes = [
        "0010\u200b000001",
        "0010000001\u202e",
        "\u202d0010000001",
        "0010 000001",
        "0010\u00a0000001",
        "００１００００００１",
        "0010000001\x07",
        "\ufeff0010000001",
        "0010\u2060000001",
        "0010\u200f000001",
        "ＡＢＣ１２３",
        "0010\x1f000001",
    ]
    for i, bad_id in enumerate(look_alikes):
        put(f"id_lookalike_{i:02d}.csv", _csv([ACCOUNT_HEADER, [bad_id] + GOOD_ROW[1:]]))
        put(
            f"id_lookalike_results_{i:02d}.csv",
            _csv([RESULT_HEADER, [bad_id, "A0001", "2020-07-02 10:00", "接通", "1", "", ""]]),
        )
    strange = {
        "date_9999": ["0010000001", "张三", "13800000001", "x", "20000", "9999-12-31", "C3"],
        "date_0000": ["0010000001", "张三", "13800000001", "x", "20000", "0000-00-00", "C3"],
        "date_negative_serial": ["0010000001", "张三", "13800000001", "x", "20000", "-5", "C3"],
        "date_huge_serial": [
            "0010000001",
            "张三",
            "13800000001",
            "x",
            "20000",
            "99999999999",
            "C3",
        ],
        "date_feb30": ["0010000001", "张三", "13800000001", "x", "20000", "2020-02-30", "C3"],
        "date_year_1": ["0010000001", "张三", "13800000001", "x", "20000", "0001-01-01", "C3"],
        "assets_1e400": ["0010000001", "张三", "13800000001", "x", "1e400", "2019-06-01", "C3"],
        "assets_nan": ["0010000001", "张三", "13800000001", "x", "NaN", "2019-06-01", "C3"],
        "assets_inf": ["0010000001", "张三", "13800000001", "x", "-inf", "2019-06-01", "C3"],
        "assets_huge_int": [
            "0010000001",
            "张三",
            "13800000001",
            "x",
            "9" * 400,
            "2019-06-01",
            "C3",
        ],
        "assets_negative": ["0010000001", "张三", "13800000001", "x", "-20000", "2019-06-01", "C3"],
        "mobile_letters": ["0010000001", "张三", "1380000000x", "x", "20000", "2019-06-01", "C3"],
        "mobile_huge": ["0010000001", "张三", "1" * 300, "x", "20000", "2019-06-01", "C3"],
        "risk_c99": ["0010000001", "张三", "13800000001", "x", "20000", "2019-06-01", "C99"],
    }
    for name, row in strange.items():
        put(f"value_{name}.csv", _csv([ACCOUNT_HEADER, row]))
        put(f"value_{name}.xlsx", xlsx_bytes(sheet_xml([ACCOUNT_HEADER, row])))
    result_rows = {
        "call_in_9999": ["0010000001", "A0001", "9999-12-31 10:00", "接通", "1", "", ""],
        "call_in_1900": ["0010000001", "A0001", "1900-01-01 10:00", "接通", "1", "", ""],
        "attempts_huge": ["0010000001", "A0001", "2020-07-02 10:00", "接通", "9" * 30, "", ""],
        "attempts_negative": ["0010000001", "A0001", "2020-07-02 10:00", "接通", "-3", "", ""],
        "unknown_disposition": ["0010000001", "A0001", "2020-07-02 10:00", "=1+1", "1", "", ""],
        "product_formula": [
            "0010000001",
            "A0001",
            "2020-07-02 10:00",
            "接通",
            "1",
            "=HYPERLINK(1)",
            "2020-07-02 11:00",
        ],
        "time_garbage": ["0010000001", "A0001", "25:61", "接通", "1", "", ""],
    }
    for name, row in result_rows.items():
        put(f"results_{name}.csv", _csv([RESULT_HEADER, row]))
        put(f"results_{name}.xlsx", xlsx_bytes(sheet_xml([RESULT_HEADER, row])))
    _campaigns(put)
    while len(made) < 300:  # top up with more truncations of the sample's own workbook
        cut = rng.randrange(1, len(real))
        put(f"truncated_extra_{len(made)}_at_{cut}.xlsx", real[:cut])
    return made


def _plain_zip(rng: random.Random) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"file{rng.randrange(100)}.txt", rng.randbytes(100))
    return buffer.getvalue()


def _campaigns(put: Callable[[str, bytes | str], None]) -> None:
    """Broken campaign definitions (TOML), for `campaign add`."""
    base = (
        'slug = "junk"\nname = "Junk"\nstart = 2020-07-01\nend = 2020-12-31\n'
        "[dormancy]\nmin_idle_days = 180\n"
    )
    cases: dict[str, str | bytes] = {
        "bom": codecs.BOM_UTF8 + base.encode(),
        "nested_deep": "a = " + "[" * 100000 + "]" * 100000 + "\n",
        "nested_tables": "".join(f"[{'.'.join(['t'] * i)}]\n" for i in range(1, 300)),
        "asset_bands_text": base + 'asset_bands = ["a", "b"]\n',
        "asset_bands_huge": base + "asset_bands = [1e400, 2]\n",
        "huge_int": base.replace("180", "1" + "0" * 30),
        "negative_days": base.replace("180", "-180"),
        "end_before_start": base.replace("2020-12-31", "2019-01-01"),
        "binary": bytes(range(256)) * 4,
        "utf16": base.encode("utf-16"),
        "not_toml": "<xml/>",
        "empty": "",
        "slug_injection": base.replace('"junk"', '"x\'; DROP TABLE campaign; --"'),
        "slug_path": base.replace('"junk"', '"../../etc/passwd"'),
        "date_9999": base.replace("2020-12-31", "9999-12-31"),
        "long_string": base.replace('"Junk"', '"' + "x" * 1_000_000 + '"'),
        "nul": base.replace("Junk", "Ju\\u0000nk"),
        "stages_unknown": base + 'stages = ["called", "teleported"]\n',
        "products_bad_risk": base + '[[products]]\nname = "P"\nrisk = "R9"\n',
    }
    for name, data in cases.items():
        put(f"campaign_{name}.toml", data)

"""Small workbooks that would take gigabytes to read are refused with a reason, never an abort.

Each command runs in a child process whose address space is capped at 2 GiB, so a reader
that tried to lay out a far cell's grid or unpack a zip bomb would die there (exit 134,
or a MemoryError) instead of refusing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from helpers import CAMPAIGN_FILE, ROOT
from typer.testing import CliRunner

from reactivate.cli import app
from reactivate.errors import InputError
from reactivate.sheets import limits

SLUG = "2020h2-dormant"
ADDRESS_SPACE = 2 << 30
HEADER = [
    "客户号",
    "客户姓名",
    "手机号码",
    "所属营业部",
    "总资产(元)",
    "最后交易日期",
    "风险承受能力",
]

# Runs the CLI under a 2 GiB address-space cap (a child's own limit: pytest's is untouched).
_CHILD = f"""
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE}, {ADDRESS_SPACE}))
from reactivate.cli import main
sys.argv = ["reactivate", *sys.argv[1:]]
main()
"""


def accounts_xlsx(path: Path, far: tuple[int, int] | None = None) -> Path:
    """Six rows of accounts, and one cell at `far` (0-based row, column) when given."""
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("客户")
    sheet.write_row(0, 0, HEADER)
    for i in range(5):
        row = [f"00100000{i}", "张三", f"1380000000{i}", "上海浦东南路营业部", 5000, "2019-12-01"]
        sheet.write_row(i + 1, 0, [*row, "C3"])
    if far is not None:
        sheet.write(*far, "x")
    workbook.close()
    return path


def replace_sheet(path: Path, sheet_xml: bytes, out: Path) -> Path:
    """`path` with its first sheet's XML replaced (highly compressed)."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = sheet_xml if info.filename == "xl/worksheets/sheet1.xml" else source.read(info)
            target.writestr(info.filename, data, zipfile.ZIP_DEFLATED, compresslevel=9)
    return out


def zip_bomb(path: Path, out: Path, unpacked: int) -> Path:
    """A workbook whose sheet unpacks to about `unpacked` bytes of cells (one repeated row)."""
    with zipfile.ZipFile(path) as source:
        xml = source.read("xl/worksheets/sheet1.xml")
        others = {i.filename: source.read(i) for i in source.infolist()}
    head, _, tail = xml.partition(b"</sheetData>")
    block = b'<row r="7"><c r="A7"><v>1</v></c></row>' * 25_000
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for name, data in others.items():
            if name != "xl/worksheets/sheet1.xml":
                target.writestr(name, data)
        with target.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(head)
            for _ in range(unpacked // len(block)):
                sheet.write(block)
            sheet.write(b"</sheetData>" + tail)
    return out


def run_capped(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REACTIVATE_LANG": "en", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-c", _CHILD, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A SQLite database with the sample campaign and roster."""
    url = f"sqlite:///{tmp_path / 'test.db'}"
    for args in (
        ["campaign", "add", str(CAMPAIGN_FILE)],
        ["advisors", "load", str(ROOT / "data" / "advisors.xlsx")],
    ):
        result = CliRunner().invoke(app, [*args, "--db", url])
        assert result.exit_code == 0, result.output
    return url


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    message = " ".join(lines)
    assert message.startswith("Error: "), result.stderr[-2000:]
    for word in words:
        assert word in message, message


COMMANDS = {
    "load": ["load", "{file}", "-c", SLUG],
    "advisors load": ["advisors", "load", "{file}"],
    "dnc load": ["dnc", "load", "{file}"],
    "activity load": ["activity", "load", "{file}"],
    "results upload": ["results", "upload", "{file}", "-c", SLUG],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_cell_at_xfd1048576_is_refused_by_every_loader(
    command: str, db: str, tmp_path: Path
) -> None:
    far = accounts_xlsx(tmp_path / "far.xlsx", (1_048_575, 16_383))
    args = [a.replace("{file}", str(far)) for a in COMMANDS[command]]
    result = run_capped(*args, "--db", db, cwd=tmp_path)
    assert_refused(result, "far.xlsx", "sheet 客户", "A1:XFD1048576", "16,777,216")


@pytest.mark.parametrize("command", ["load", "results upload"])
def test_a_cell_at_cv1048576_is_refused(command: str, db: str, tmp_path: Path) -> None:
    far = accounts_xlsx(tmp_path / "far.xlsx", (1_048_575, 99))
    args = [a.replace("{file}", str(far)) for a in COMMANDS[command]]
    result = run_capped(*args, "--db", db, cwd=tmp_path)
    assert_refused(result, "far.xlsx", "A1:CV1048576", "104,857,600 cells")


@pytest.mark.parametrize("command", ["load", "results upload"])
def test_a_far_cell_the_dimension_hides_is_found_in_the_cells(
    command: str, db: str, tmp_path: Path
) -> None:
    """The declared range says A1:G6; the cell at XFD1048576 is there all the same, and a
    namespace prefix on every tag does not hide it either."""
    source = accounts_xlsx(tmp_path / "far.xlsx", (1_048_575, 16_383))
    with zipfile.ZipFile(source) as workbook:
        xml = workbook.read("xl/worksheets/sheet1.xml")
    xml = xml.replace(b'ref="A1:XFD1048576"', b'ref="A1:G6"')
    xml = xml.replace(b"<", b"<x:").replace(b"<x:/", b"</x:").replace(b"<x:?", b"<?")
    xml = xml.replace(b'xmlns="', b'xmlns:x="', 1)
    hidden = replace_sheet(source, xml, tmp_path / "hidden.xlsx")
    args = [a.replace("{file}", str(hidden)) for a in COMMANDS[command]]
    result = run_capped(*args, "--db", db, cwd=tmp_path)
    assert_refused(result, "hidden.xlsx", "XFD1048576", "17,179,869,184 cells")


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2.5 GB of cells packed into a few megabytes (read whole, they take more than 2 GiB);
    made once, in seconds."""
    folder = tmp_path_factory.mktemp("bomb")
    made = zip_bomb(accounts_xlsx(folder / "ok.xlsx"), folder / "bomb.xlsx", 2_500 << 20)
    assert made.stat().st_size < 10 << 20
    return made


@pytest.mark.parametrize("command", ["load", "results upload"])
def test_a_zip_bomb_is_refused(command: str, db: str, bomb: Path, tmp_path: Path) -> None:
    args = [a.replace("{file}", str(bomb)) for a in COMMANDS[command]]
    result = run_capped(*args, "--db", db, cwd=tmp_path)
    assert_refused(result, "bomb.xlsx", "more than the 1024 MiB read")


def test_a_part_that_unpacks_far_beyond_its_packed_size_is_refused(tmp_path: Path) -> None:
    bomb = zip_bomb(accounts_xlsx(tmp_path / "ok.xlsx"), tmp_path / "bomb.xlsx", 200 << 20)
    with pytest.raises(InputError, match="more than 100 times its packed size"):
        limits.check_workbook(bomb, "bomb.xlsx")


def test_workbooks_within_the_caps_pass(tmp_path: Path) -> None:
    plain = accounts_xlsx(tmp_path / "ok.xlsx")
    limits.check_workbook(plain, "ok.xlsx")
    # Without a dimension every cell is placed: a formatted but empty far cell holds no
    # value (calamine keeps none), and a row of cells without references ends where it is.
    with zipfile.ZipFile(plain) as workbook:
        xml = workbook.read("xl/worksheets/sheet1.xml")
    head, _, tail = xml.replace(b'<dimension ref="A1:G6"/>', b"").partition(b"</sheetData>")
    extra = b'<row r="9"><c><v>1</v></c><c><v>2</v></c></row><row><c r="XFD1048576" s="1"/></row>'
    limits.check_workbook(
        replace_sheet(plain, head + extra + b"</sheetData>" + tail, tmp_path / "a.xlsx"), "a"
    )


def test_cells_without_references_are_placed_where_calamine_puts_them(tmp_path: Path) -> None:
    """A row of 16,384 cells without references, then a row numbered 1,048,576."""
    plain = accounts_xlsx(tmp_path / "ok.xlsx")
    with zipfile.ZipFile(plain) as workbook:
        xml = workbook.read("xl/worksheets/sheet1.xml")
    head, _, tail = xml.partition(b"</sheetData>")
    wide = b'<row r="7">' + b"<c><v>1</v></c>" * 16_384 + b"</row>"
    far = b'<row r="1048576"><c><v>1</v></c></row>'
    sheet = replace_sheet(plain, head + wide + far + b"</sheetData>" + tail, tmp_path / "w.xlsx")
    with pytest.raises(InputError, match="XFD1048576"):
        limits.check_workbook(sheet, "w.xlsx")


def test_too_many_shared_strings_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_SHARED_STRINGS", 5)
    with pytest.raises(InputError, match="more than 5 shared strings"):
        limits.check_workbook(accounts_xlsx(tmp_path / "ok.xlsx"), "ok.xlsx")


@pytest.mark.parametrize(
    ("limit", "inside", "outside"),
    [
        (
            1_000_003,
            ["1", "999999", "1000000", "1000003"],
            ["0", "01", "1000004", "1000010", "2000000"],
        ),
        (6, ["1", "6"], ["7", "10", "06"]),
        (1_048_576, ["1048576", "999", "1048499"], ["1048577", "1049000", "10485760"]),
    ],
)
def test_the_row_pattern_takes_exactly_the_numbers_up_to_the_limit(
    limit: int, inside: list[str], outside: list[str]
) -> None:
    import re

    pattern = re.compile(b"(?:" + limits._at_most_number(limit) + b")")
    assert all(pattern.fullmatch(n.encode()) for n in inside)
    assert not any(pattern.fullmatch(n.encode()) for n in outside)


@pytest.mark.parametrize(
    ("limit", "inside", "outside"),
    [
        ("L", ["A", "K", "L"], ["M", "Z", "AA"]),
        ("CV", ["A", "Z", "AA", "BZ", "CA", "CV"], ["CW", "DA", "ZZ", "AAA"]),
        ("XFD", ["ZZ", "AAA", "XFC", "XED", "WZZ"], ["XFE", "XGA", "YAA", "AAAA"]),
    ],
)
def test_the_column_pattern_takes_exactly_the_columns_up_to_the_limit(
    limit: str, inside: list[str], outside: list[str]
) -> None:
    import re

    pattern = re.compile(b"(?:" + limits._at_most_letters(limit) + b")")
    assert all(pattern.fullmatch(n.encode()) for n in inside)
    assert not any(pattern.fullmatch(n.encode()) for n in outside)


def test_the_patterns_take_exactly_the_rows_and_columns_up_to_every_limit() -> None:
    """Every row limit up to 1,200 (and a few wide ones) against every number near it,
    with and without a leading zero; every column limit up to AEF against names of one to
    three letters."""
    import itertools
    import re
    import string

    for limit in [*range(1, 1201), 9_999, 10_000, 10_001, 1_000_003, 1_048_576]:
        pattern = re.compile(b"(?:" + limits._at_most_number(limit) + b")")
        for number in [*range(min(2 * limit + 12, 1300)), limit - 1, limit, limit + 1, 10 * limit]:
            for text in (str(number), f"0{number}"):
                inside = text == str(number) and 1 <= number <= limit
                assert bool(pattern.fullmatch(text.encode())) == inside, (limit, text)
    names = [
        "".join(letters)
        for width in (1, 2, 3)
        for letters in itertools.product(string.ascii_uppercase, repeat=width)
    ]
    for limit in [*names[:812], "XFD", "ZZZ"]:
        pattern = re.compile(b"(?:" + limits._at_most_letters(limit) + b")")
        last = limits._column_number(limit)
        for name in [*names[:800:3], *names[800::97], limit]:
            inside = limits._column_number(name) <= last
            assert bool(pattern.fullmatch(name.encode())) == inside, (limit, name)


def test_a_bomb_among_the_workbooks_of_a_folder_is_refused_at_its_turn(
    db: str, tmp_path: Path
) -> None:
    """A folder's workbooks are checked and parsed ahead of their turn (`frames.
    open_each_frames`): a bomb among them is still refused, by name, when its turn comes,
    and none of the files after it is waited for."""
    from reactivate.sheets.fields import ACCOUNT_FIELDS
    from reactivate.sheets.frames import open_each_frames

    folder = tmp_path / "regions"
    folder.mkdir()
    first = accounts_xlsx(folder / "a.xlsx")
    bomb = zip_bomb(accounts_xlsx(tmp_path / "ok.xlsx"), folder / "b.xlsx", 200 << 20)
    last = accounts_xlsx(folder / "c.xlsx")
    opened = open_each_frames([first, bomb, last], ACCOUNT_FIELDS)
    assert next(opened)[0] == first
    with pytest.raises(InputError, match="b.xlsx.*more than 100 times its packed size"):
        next(opened)
    opened.close()
    result = run_capped("load", str(folder), "-c", SLUG, "--db", db, cwd=tmp_path)
    assert_refused(result, "b.xlsx", "more than 100 times its packed size")

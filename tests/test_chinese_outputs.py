"""In Chinese, everything a person reads is Chinese: the demo, every table, the report in
each format, exports, follow-up lists and workbooks, reject files, error lines and the
WeCom messages hold none of the English words of our own labels."""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from english_words import english_left, label_words, typed_words
from helpers import ROOT
from typer.testing import CliRunner

from reactivate.cli import app

SLUG = "2020h2-dormant"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The demo run in Chinese: its database and what it printed."""
    out = tmp_path_factory.mktemp("zh") / "demo"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        patch.setenv("REACTIVATE_LANG", "zh")
        patch.setenv("COLUMNS", "100")
        result = CliRunner().invoke(app, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    yield out / "demo.db", result.output


@pytest.fixture
def zh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("REACTIVATE_LANG", "zh")
    monkeypatch.setenv("COLUMNS", "100")


def words() -> set[str]:
    return label_words()


def run(db: Path, *args: str, ok: bool = True) -> str:
    result = CliRunner().invoke(app, [*args, "--db", str(db)])
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 1, result.output
    return result.output


def xlsx_text(path: Path) -> str:
    """The text of every cell a person sees (not the hidden stamp sheet) and of the charts;
    a boolean cell shows as TRUE or FALSE."""
    book = openpyxl.load_workbook(path)
    cells = [
        str(value)
        for sheet in book.worksheets
        if sheet.sheet_state == "visible"
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if isinstance(value, str | bool)
    ]
    cells += [s.title for s in book.worksheets if s.sheet_state == "visible"]
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/charts/"):
                cells += re.findall(r"<a:t>([^<]*)</a:t>", archive.read(name).decode())
    return "\n".join(cells)


def page_text(path: Path) -> str:
    """What a browser shows of a page or a picture: its text, not its markup or script."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", path.read_text(encoding="utf-8"), flags=re.S)
    return re.sub(r"<[^>]+>", " ", page)


def assert_chinese(text: str, typed: bool = False) -> None:
    """`text` is Chinese and holds no word of our English labels (but those the user types,
    such as stage ids, when it may list them: `typed`)."""
    assert re.search(r"[\u4e00-\u9fff]", text), text[:500]
    left = english_left(text, words() - (typed_words() if typed else set()))
    assert not left, f"English left: {sorted(left)}\n{text[:3000]}"


def test_the_demo_speaks_chinese(demo: tuple[Path, str]) -> None:
    assert_chinese(demo[1])


SCREENS = [
    ["report", "-c", SLUG, "--by", "advisor"],
    ["report", "-c", SLUG, "--by", "branch"],
    ["report", "-c", SLUG, "--by", "risk"],
    ["report", "-c", SLUG, "--by", "attempt"],
    ["report", "-c", SLUG, "--dropped", "wecom_added"],
    ["report", "-c", SLUG, "-f", "markdown"],
    ["report", "-c", SLUG, "-f", "chart"],
    ["followups", "-c", SLUG],
    ["followups", "-c", SLUG, "-f", "csv"],
    ["imports", "list"],
    ["campaign", "list"],
    ["campaign", "show", SLUG],
    ["advisors", "list"],
    ["branches", "list"],
    ["client", "show", "0021792843", "-c", SLUG],
    ["dnc", "load", "data/do_not_call.csv"],
    ["assign", "-c", SLUG, "--dry-run", "--assigned-at", "2020-07-02T09:00"],
    ["reassign", "-c", SLUG, "--from", "A0001", "--to", "A0002", "--dry-run"],
    ["wecom", "notify", "-c", SLUG, "--dry-run"],
]


@pytest.mark.usefixtures("zh")
@pytest.mark.parametrize("args", SCREENS, ids=lambda a: " ".join(a[:4]))
def test_every_screen_speaks_chinese(demo: tuple[Path, str], args: list[str]) -> None:
    assert_chinese(run(demo[0], *args))


FILES = [
    (["report", "-c", SLUG, "-f", "csv", "--by", "advisor"], "report.csv"),
    (["report", "-c", SLUG, "-f", "csv", "--by", "attempt"], "attempts.csv"),
    (["report", "-c", SLUG, "-f", "csv", "--dropped", "pushed"], "dropped.csv"),
    (["report", "-c", SLUG, "-f", "xlsx", "--by", "advisor"], "report.xlsx"),
    (["report", "-c", SLUG, "-f", "xlsx", "--by", "attempt"], "attempts.xlsx"),
    (["report", "-c", SLUG, "-f", "xlsx", "--dropped", "pushed"], "dropped.xlsx"),
    (["report", "-c", SLUG, "-f", "html", "--by", "advisor"], "report.html"),
    (["report", "-c", SLUG, "-f", "svg"], "funnel.svg"),
    (["assignments", "export", "-c", SLUG, "-f", "csv"], "who.csv"),
    (["assignments", "export", "-c", SLUG, "-f", "xlsx"], "who.xlsx"),
]


@pytest.mark.usefixtures("zh")
@pytest.mark.parametrize(("args", "name"), FILES, ids=[name for _args, name in FILES])
def test_every_file_speaks_chinese(
    demo: tuple[Path, str], tmp_path: Path, args: list[str], name: str
) -> None:
    path = tmp_path / name
    assert_chinese(run(demo[0], *args, "--out", str(path)))
    if name.endswith(".xlsx"):
        assert_chinese(xlsx_text(path))
    elif name.endswith((".html", ".svg")):
        assert_chinese(page_text(path))
    else:
        assert_chinese(path.read_text(encoding="utf-8-sig"))


@pytest.mark.usefixtures("zh")
def test_follow_up_workbooks_speak_chinese(demo: tuple[Path, str], tmp_path: Path) -> None:
    run(demo[0], "followups", "-c", SLUG, "--advisor", "A0001", "--workbooks", str(tmp_path))
    books = list(tmp_path.rglob("*.xlsx"))
    assert books
    for book in books:
        assert_chinese(xlsx_text(book))


@pytest.mark.usefixtures("zh")
def test_rejections_and_reject_files_speak_chinese(tmp_path: Path) -> None:
    with (ROOT / "tests/data/accounts_utf8.csv").open(encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    header = next(i for i, row in enumerate(rows) if "客户号" in row)
    rows[header + 1][rows[header].index("手机号码")] = "123"
    bad = tmp_path / "bad.csv"
    with bad.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows(rows)
    db = tmp_path / "x.db"
    run(db, "campaign", "add", "campaigns/2020h2-dormant.toml")
    refused = run(db, "load", str(bad), "-c", SLUG, ok=False)
    assert "第" in refused and "行、手机号码列：" in refused
    assert_chinese(refused)
    loaded = run(db, "load", str(bad), "-c", SLUG, "--skip-invalid", "--yes")
    assert_chinese(loaded)
    rejects = (tmp_path / "bad.csv.rejects.csv").read_text(encoding="utf-8-sig")
    assert rejects.startswith("行,") and "手机号码列：" in rejects
    assert_chinese(rejects)


@pytest.mark.usefixtures("zh")
def test_upload_rejections_speak_chinese(demo: tuple[Path, str], tmp_path: Path) -> None:
    sheet = tmp_path / "results.csv"
    sheet.write_text(
        "客户号,工号,通话时间,通话结果\n"
        "0021792843,A0001,2020-07-10 10:00,打不通\n"
        "0021792843,A0001,2099-07-10 10:00,接通\n"
        "9999999999,A0001,2020-07-10 10:00,接通\n",
        encoding="utf-8",
    )
    db = tmp_path / "copy.db"
    db.write_bytes(demo[0].read_bytes())
    refused = run(db, "results", "upload", str(sheet), "-c", SLUG, ok=False)
    assert "第2行、通话结果列：" in refused
    assert_chinese(refused)
    written = run(db, "results", "upload", str(sheet), "-c", SLUG, "--skip-invalid")
    assert_chinese(written)
    assert_chinese((tmp_path / "results.csv.rejects.csv").read_text(encoding="utf-8-sig"))


@pytest.mark.usefixtures("zh")
def test_loads_and_the_database_commands_speak_chinese(
    demo: tuple[Path, str], tmp_path: Path
) -> None:
    db = tmp_path / "copy.db"
    db.write_bytes(demo[0].read_bytes())
    activity = demo[0].parent / "activity_simulated.csv"
    for args in (
        ["activity", "load", str(activity)],
        ["advisors", "load", "data/advisors.xlsx", "--dry-run"],
        ["db", "upgrade"],
        ["db", "backup", str(tmp_path / "backup.db")],
        ["campaign", "close", SLUG, "--purge-personal-data"],
        ["init"],
    ):
        assert_chinese(run(db, *args))


@pytest.mark.usefixtures("zh")
@pytest.mark.parametrize(
    "args",
    [
        ["report", "-c", "nosuch"],
        ["load", "nosuch.xlsx", "-c", SLUG],
        ["load", "README.md", "-c", SLUG],
        ["results", "undo", "999"],
        ["results", "correct", "0021792843", "-c", SLUG, "--stage", "foo", "--reason", "x"],
    ],
    ids=lambda a: " ".join(a[:3]),
)
def test_errors_speak_chinese(demo: tuple[Path, str], args: list[str]) -> None:
    out = run(demo[0], *args, ok=False)
    assert out.startswith("错误")
    assert_chinese(out, typed=True)  # "use one of called, reached, ..." names what to type

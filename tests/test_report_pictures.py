"""The funnel as a picture: bars in the terminal, PNG, SVG, and the self-contained HTML page
(opened in a real browser where chromium is installed)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_campaign import AS_OF, SLUG, Data, registered, run
from rich.cells import cell_len
from typer.testing import CliRunner

from reactivate.cli import app
from reactivate.db.engine import open_engine
from reactivate.errors import ConfigError
from reactivate.render import chart
from reactivate.render.html import to_html
from reactivate.report import Report, ReportOptions, build_report


@pytest.fixture
def setup(sqlite_url: str) -> tuple[str, Data]:
    return sqlite_url, registered(sqlite_url, 11, 80)


def built(db: str, by: str | None = "advisor") -> Report:
    engine = open_engine(db)
    try:
        return build_report(engine, SLUG, ReportOptions(by=by, as_of=AS_OF))
    finally:
        engine.dispose()


def font_or_skip() -> Path:
    try:
        return chart.find_font()
    except ConfigError as exc:
        pytest.skip(f"no font with Chinese characters here ({exc})")


def assert_no_personal_data(text: str, data: Data) -> None:
    for client in data.clients.values():
        assert client["mobile"] not in text and client["name"] not in text


def test_terminal_chart_draws_a_bar_per_stage_within_the_width(
    setup: tuple[str, Data], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, _data = setup
    report = built(db)
    monkeypatch.setenv("COLUMNS", "80")
    out = run(db, "report", "--campaign", SLUG, "-f", "chart").stdout
    assert max(cell_len(line) for line in out.splitlines()) <= 80
    bars = {line.split()[0]: line for line in out.splitlines() if "%" in line}
    assert list(bars)[:2] == ["called", "reached"]
    lengths = [line.count("█") for line in bars.values()]
    shares = [s.of_assigned or 0.0 for s in report.stages]
    # bars as long as their shares: the funnel never widens, and neither do they
    assert lengths == sorted(lengths, reverse=True) and lengths[0] > lengths[-1]
    assert abs(lengths[0] / max(lengths[1], 1) - shares[0] / max(shares[1], 1e-9)) < 0.3


def test_png_is_a_picture_of_the_funnel_with_chinese_labels(
    setup: tuple[str, Data], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image, ImageDraw, ImageFont

    db, _data = setup
    font = font_or_skip()
    monkeypatch.setenv("REACTIVATE_LANG", "zh")
    path = tmp_path / "funnel.png"
    run(db, "report", "--campaign", SLUG, "-f", "png", "--out", str(path))
    raw = path.read_bytes()
    assert raw.startswith(b"\x89PNG") and len(raw) < 2 * 1024 * 1024
    image = Image.open(io.BytesIO(raw)).convert("RGB")
    assert image.width == chart.FRAME.width and image.height == chart.FRAME.height(5)
    # the font draws the Chinese labels with their own glyphs, not the missing-glyph box
    face = ImageFont.truetype(str(font), 20)

    def glyph(ch: str) -> bytes:
        drawn = Image.new("L", (32, 32))
        ImageDraw.Draw(drawn).text((2, 2), ch, font=face, fill=255)
        return drawn.tobytes()

    missing = glyph("\U0010fffd")
    for label in ("已拨打", "已转化", "漏斗"):
        assert all(glyph(ch) != missing and any(glyph(ch)) for ch in label)
    # the bars are drawn in the stages' colours, longest first
    rows = [chart.FRAME.top + i * chart.FRAME.row + chart.FRAME.bar // 2 for i in range(5)]

    def coloured(x: int, y: int) -> bool:  # a bar's colour, not the grey track nor white
        red, green, blue = image.getpixel((x, y))
        return max(red, green, blue) - min(red, green, blue) > 60

    lengths = [sum(coloured(x, y) for x in range(chart.FRAME.left, 800)) for y in rows]
    assert lengths == sorted(lengths, reverse=True) and lengths[0] > lengths[-1] > 0


def test_png_without_a_chinese_font_says_how_to_get_one(
    setup: tuple[str, Data], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, _data = setup
    monkeypatch.setattr(chart, "CJK_FONTS", ())
    monkeypatch.setattr(chart.shutil, "which", lambda _name: None)
    args = ["report", "--campaign", SLUG, "-f", "png", "--out", str(tmp_path / "f.png")]
    result = CliRunner().invoke(app, [*args, "--db", db])
    assert result.exit_code == 1
    assert "fonts-wqy-microhei" in result.output and "REACTIVATE_FONT" in result.output
    assert not (tmp_path / "f.png").exists()
    monkeypatch.setenv("REACTIVATE_FONT", str(tmp_path / "nothing.ttc"))
    with pytest.raises(ConfigError, match="nothing.ttc"):
        chart.find_font()


def test_svg_draws_each_stage_its_share_and_target(setup: tuple[str, Data]) -> None:
    db, _data = setup
    report = built(db)
    svg = run(db, "report", "--campaign", SLUG, "-f", "svg").stdout
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    texts = [el.text for el in root.iter(f"{ns}text")]
    for s in report.stages:
        assert chart.t(f"report.stage.{s.stage}") in texts
    rects = list(root.iter(f"{ns}rect"))[1:]  # the background first
    filled = [float(r.get("width", 0)) for r in rects[1::2]]
    expected = [(s.of_assigned or 0.0) * chart.FRAME.span for s in report.stages]
    assert filled == pytest.approx(expected, abs=0.1)
    targets = [s for s in report.stages if s.target is not None]
    assert len(list(root.iter(f"{ns}line"))) == len(targets) > 0


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_html_is_one_self_contained_page(
    setup: tuple[str, Data], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, data = setup
    report = built(db)
    path = tmp_path / "report.html"
    run(db, "report", "--campaign", SLUG, "--by", "advisor", "-f", "html", "--out", str(path))
    page = path.read_text(encoding="utf-8")
    parser = _Page()
    parser.feed(page)
    tags = [tag for tag, _ in parser.tags]
    assert tags.count("svg") == 1 and "script" in tags
    # nothing fetched: no external script, style, image, font or frame
    for tag, attrs in parser.tags:
        assert not attrs.get("src"), tag
        assert tag != "link", attrs
    assert not re.search(r"url\(|@import|https?://(?!www\.w3\.org/2000/svg)", page)
    breakdown = page[page.index('id="breakdown"') :]
    breakdown = breakdown[: breakdown.index("</table>")]
    assert breakdown.count("<tr><td>") == len(report.groups)
    assert all(f"<td>{g.key}</td>" in breakdown for g in report.groups)
    assert_no_personal_data(page, data)
    monkeypatch.setenv("REACTIVATE_LANG", "zh")
    assert '<html lang="zh-CN">' in to_html(report) and "已转化" in to_html(report)
    by_branch = to_html(built(db, "branch"))
    rows = re.findall(r"<tr><td>([^<]+)</td>(.*?)</tr>", by_branch)
    assert rows and all(branch not in rest for branch, rest in rows)  # a branch named once


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium is not installed: cannot open the HTML report in a real browser")
    return found


def _browser(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-extensions", *args],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip


def test_html_opens_in_chromium_and_sorts_its_breakdown(
    setup: tuple[str, Data], tmp_path: Path
) -> None:
    db, _data = setup
    _chromium()
    report = built(db)
    path = tmp_path / "report.html"
    run(db, "report", "--campaign", SLUG, "--by", "advisor", "-f", "html", "--out", str(path))
    assigned_column = 2
    dom = _browser(f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                   f"{path.as_uri()}#sort={assigned_column}-asc").stdout  # fmt: skip
    table = dom[dom.index('id="breakdown"') :]
    assert 'data-ready="1"' in table[:80]  # the script ran
    table = table[: table.index("</table>")]
    assert 'aria-sort="ascending"' in table
    keys = re.findall(r"<tr><td>([^<]+)</td>", table)
    by_assigned = sorted(report.groups, key=lambda g: g.assigned)
    assert [report.groups[[g.key for g in report.groups].index(k)].assigned for k in keys] == [
        g.assigned for g in by_assigned
    ]
    shot = tmp_path / "shot.png"
    _browser(f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
             "--window-size=1100,1400", path.as_uri())  # fmt: skip
    from PIL import Image

    image = Image.open(shot).convert("RGB")
    colours = {image.getpixel((x, y)) for x in range(0, 1100, 7) for y in range(0, 700, 7)}
    assert (31, 95, 168) in colours or (46, 125, 50) in colours or (198, 40, 40) in colours

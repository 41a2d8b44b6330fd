"""The report on a screen: breakdowns fitted to 80 columns, `--wide`, and the markdown's
count of the advisors it leaves out."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from report_campaign import AS_OF, SLUG, Data, registered, run
from rich.cells import cell_len
from rich.console import Console

from reactivate.db.engine import open_engine
from reactivate.render import report as render
from reactivate.report import Group, Report, ReportOptions, build_report

STAGE_NAMES = ("called", "reached", "WeCom added", "pushed", "converted")


@pytest.fixture
def setup(sqlite_url: str) -> tuple[str, Data]:
    return sqlite_url, registered(sqlite_url, 7, 60)


def built(db: str, by: str) -> Report:
    engine = open_engine(db)
    try:
        return build_report(engine, SLUG, ReportOptions(by=by, as_of=AS_OF))
    finally:
        engine.dispose()


def many_advisors(report: Report, count: int, name: str = "欧阳娜娜") -> Report:
    template = report.groups[0]
    groups = tuple(
        Group(f"A{i:04d}", name, template.assigned, template.stages) for i in range(count)
    )
    return dataclasses.replace(report, groups=groups)


def shown(renderable: Any, width: int) -> str:
    screen = Console(width=width, record=True, file=None, force_terminal=False)
    with screen.capture() as captured:
        screen.print(renderable)
    return captured.get()


def breakdown_lines(text: str) -> list[str]:
    """The breakdown table's lines (the second table, after the funnel's), border to border."""
    lines = text.splitlines()
    top = [i for i, line in enumerate(lines) if line.startswith("┏")][1]
    bottom = next(i for i in range(top, len(lines)) if lines[i].startswith("└"))
    return lines[top : bottom + 1]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_by_advisor_fits_80_columns_without_wrapping_or_cutting(
    setup: tuple[str, Data], monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    db, _data = setup
    monkeypatch.setenv("REACTIVATE_LANG", lang)
    report = many_advisors(built(db, "advisor"), 12)
    text = shown(render.to_table(report, width=80), 80)
    table = breakdown_lines(text)
    assert max(cell_len(line) for line in text.splitlines()) <= 80
    body = [line for line in table if line.startswith("│")]
    assert len(body) == len(report.groups)  # one line per advisor: no cell wrapped
    header = next(line for line in table if line.startswith("┃"))
    assert "…" not in header
    cells = [c.strip() for c in header.strip("┃").split("┃")]
    assert cells[1] == render.t("report.name.advisor")  # the name kept: the counts go first
    said = re.split("[:：]", render.t("report.narrow", left_out=""))[0] in text
    counts = any(re.search(r"\d \d+\.\d%", line) for line in body)
    assert said != counts  # the counts beside the shares are shown, or said to be left out


def test_by_advisor_drops_columns_step_by_step_as_the_screen_narrows(
    setup: tuple[str, Data],
) -> None:
    db, _data = setup
    report = many_advisors(built(db, "advisor"), 5, name="司马相如大学士")
    previous = None
    for width in (140, 100, 80, 70, 60, 50):
        text = shown(render.to_table(report, width=width), width)
        table = breakdown_lines(text)
        assert max(cell_len(line) for line in table) <= width, width
        assert sum(line.startswith("│") for line in table) == len(report.groups)
        columns = next(line for line in table if line.startswith("┃")).count("┃") - 1
        assert previous is None or columns <= previous
        previous = columns
    assert previous is not None and previous < 8  # at 50 columns something had to go
    wide = shown(render.to_table(report, width=50, wide=True), 400)
    header = next(line for line in breakdown_lines(wide) if line.startswith("┃"))
    assert all(stage in header for stage in STAGE_NAMES)
    assert "Left out" not in wide


def test_wide_shows_every_column_through_the_cli(
    setup: tuple[str, Data], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, _data = setup
    monkeypatch.setenv("COLUMNS", "60")
    narrow = run(db, "report", "--campaign", SLUG, "--by", "advisor").stdout
    assert "--wide shows every column" in narrow
    wide = run(db, "report", "--campaign", SLUG, "--by", "advisor", "--wide").stdout
    header = next(line for line in breakdown_lines(wide) if line.startswith("┃"))
    assert all(stage in header for stage in STAGE_NAMES) and "name" in header
    assert "--wide shows every column" not in wide


def test_by_branch_names_the_branch_once(
    setup: tuple[str, Data], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, _data = setup
    monkeypatch.setenv("COLUMNS", "120")
    out = run(db, "report", "--campaign", SLUG, "--by", "branch").stdout
    rows = [line for line in breakdown_lines(out) if line.startswith("│")]
    assert rows
    for row in rows:
        branch = row.strip("│").split("│")[0].strip()
        assert row.count(branch) == 1, row


def test_markdown_says_how_many_advisors_it_leaves_out(setup: tuple[str, Data]) -> None:
    db, _data = setup
    report = many_advisors(built(db, "advisor"), 23)
    text = render.to_markdown(report)
    ranks = [line for line in text.splitlines() if line.split(".")[0].isdigit()]
    assert len(ranks) == 10
    assert "… 13 more not listed (rank 6-18)" in text
    tiny = render.to_markdown(report, limit=700)
    listed = sum(line.split(".")[0].isdigit() for line in tiny.splitlines())
    if listed:
        assert f"{23 - listed} more not listed" in tiny
    else:
        assert "23 advisors not listed" in tiny
    every = render.to_markdown(many_advisors(report, 10))
    assert "not listed" not in every


def test_the_dropped_list_fits_the_screen_too(setup: tuple[str, Data]) -> None:
    db, data = setup
    engine = open_engine(db)
    report = build_report(engine, SLUG, ReportOptions(dropped="reached", as_of=AS_OF))
    engine.dispose()
    assert report.dropped
    for width in (120, 80, 60):
        text = shown(render.to_table(report, width=width), width)
        lines = text.splitlines()
        top = next(i for i, line in enumerate(lines) if "Dropped before" in line) + 1
        bottom = next(i for i in range(top, len(lines)) if lines[i].startswith("└"))
        table = lines[top : bottom + 1]
        assert max(cell_len(line) for line in table) <= width, width
        rows = [line for line in table if line.startswith("│")]
        assert len(rows) == min(len(report.dropped), render.DROPPED_SHOWN)  # none wrapped
        for client in data.clients.values():
            assert client["mobile"] not in text and client["name"] not in text
    narrow = " ".join(shown(render.to_table(report, width=60), 60).split())
    assert "--wide shows every column" in narrow

"""`reactivate report` in every format, and `reactivate client show`, through the CLI."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import uuid
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy
from conftest import PG_ENV
from helpers import CAMPAIGN_FILE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from report_campaign import AS_OF, SLUG, Data, generate, insert, registered, run
from typer.testing import CliRunner

import reactivate.report.dropped as dropped_module
from reactivate import registry
from reactivate.cli import app
from reactivate.db import models as tables
from reactivate.db.dialect import sorts_by_code_point
from reactivate.db.engine import open_engine
from reactivate.render import report as render
from reactivate.report import Group, ReportOptions, build_report, open_report
from reactivate.rules import funnel
from reactivate.sheets import layout


@pytest.fixture
def setup(sqlite_url: str) -> tuple[str, Data]:
    return sqlite_url, registered(sqlite_url, 7, 60)


def _set_client(
    conn: Any, client_id: str, name: Any, mobile: Any, last_call: Any, callback: Any
) -> None:
    """Give a listed client these values, as stored (times aware, or None)."""
    conn.execute(
        tables.CLIENTS.update()
        .where(tables.CLIENTS.c.client_id == client_id)
        .values(name=name, mobile=mobile)
    )
    conn.execute(
        tables.CLIENT_STAGES.update()
        .where(tables.CLIENT_STAGES.c.client_id == client_id)
        .values(last_call_at=last_call, callback_at=callback)
    )


def assert_no_personal_data(text: str, data: Data) -> None:
    for client in data.clients.values():
        assert client["mobile"] not in text
        assert client["name"] not in text


def test_table_has_bars_targets_and_quality(
    setup: tuple[str, Data], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, data = setup
    monkeypatch.setenv("COLUMNS", "100")
    out = run(db, "report", "--campaign", SLUG, "--by", "advisor").stdout
    for label in (
        "called",
        "reached",
        "WeCom added",
        "pushed",
        "converted",
        "Data quality",
        "ranked by",
    ):
        assert label in out
    assert "█" in out and "confirmed by WeCom" in out
    assert max(len(line) for line in out.splitlines()) <= 100
    assert_no_personal_data(out, data)
    again = run(db, "report", "--campaign", SLUG, "--by", "advisor").stdout
    assert [line for line in again.splitlines() if "%" in line] == [
        line for line in out.splitlines() if "%" in line
    ]


def test_json_is_the_report(setup: tuple[str, Data]) -> None:
    db, _data = setup
    out = json.loads(
        run(db, "report", "--campaign", SLUG, "--format", "json", "--by", "branch").stdout
    )
    engine = open_engine(db)
    direct = build_report(engine, SLUG, ReportOptions(by="branch")).to_json()
    engine.dispose()
    out.pop("generated_at"), direct.pop("generated_at")
    assert out == direct
    assert out["by"] == "branch" and [s["stage"] for s in out["stages"]] == list(funnel.STAGES)


def test_csv_has_a_bom_and_one_row_per_group_and_stage(
    setup: tuple[str, Data], tmp_path: Path
) -> None:
    db, _data = setup
    path = tmp_path / "report.csv"
    run(db, "report", "--campaign", SLUG, "--format", "csv", "--by", "advisor", "--out", str(path))
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    groups = {r["key"] for r in rows if r["by"] == "advisor"}
    assert len(rows) == (1 + len(groups)) * len(funnel.STAGES)
    overall = [r for r in rows if r["by"] == "all"]
    assert [r["stage"] for r in overall] == list(funnel.STAGES)
    assert overall[0]["of_previous"] == "" and overall[1]["of_previous"] != ""
    stdout = run(db, "report", "--campaign", SLUG, "--format", "csv").stdout
    assert stdout.startswith("\ufeff")


def test_dropped_csv_is_masked(setup: tuple[str, Data]) -> None:
    db, data = setup
    out = run(db, "report", "--campaign", SLUG, "--format", "csv", "--dropped", "reached").stdout
    rows = list(csv.DictReader(io.StringIO(out.lstrip("\ufeff"))))
    assert rows and all("****" in r["mobile"] for r in rows)
    assert_no_personal_data(out, data)
    table = run(db, "report", "--campaign", SLUG, "--dropped", "reached").stdout
    assert "Dropped before reached" in table
    assert_no_personal_data(table, data)


def _streamed(db: str, options: ReportOptions) -> tuple[str, str]:
    """The CSV and JSON of a `--dropped` report as the command writes them (the whole list
    written by the database, `Report.dropped_text`)."""
    engine = open_engine(db)
    texts = []
    for write in (render.write_csv, render.write_json):
        with open_report(engine, SLUG, dataclasses.replace(options, dropped_shown=0)) as report:
            assert report.dropped_text is not None and report.dropped == ()
            stream = io.StringIO()
            write(report, stream)
            texts.append(stream.getvalue())
    engine.dispose()
    return texts[0], texts[1]


def _in_memory(db: str, options: ReportOptions) -> tuple[Any, str, str]:
    """The same report with every client read into `Report.dropped`, and its CSV (a row
    each through Python's csv writer) and JSON (`json.dumps` of `to_json`)."""
    engine = open_engine(db)
    report = build_report(engine, SLUG, options)
    engine.dispose()
    assert report.dropped_text is None
    expected_json = json.dumps(report.to_json(), ensure_ascii=False, indent=2)
    assert render.to_json(report) == expected_json
    return report, render.to_csv(report), expected_json


def test_the_streamed_dropped_list_is_the_list_written_row_by_row(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On either database, the whole list as the command writes it (CSV and JSON made by
    the database, `dropped_text`, in blocks small enough here to cut it many times) is
    byte for byte the list read as clients then written by Python; and the table's count
    is the list's."""
    monkeypatch.setattr(dropped_module, "_BLOCK_ROWS", 7)
    monkeypatch.setattr(dropped_module, "_SUMMARY_PART", 16)
    registered(db_url, 7, 60)
    lengths = []
    windowed = (("reached", dt.date(2020, 7, 8)),)  # who dropped within a window too
    for stage, since in (("called", None), ("reached", None), ("converted", None), *windowed):
        options = ReportOptions(dropped=stage, as_of=AS_OF, since=since)
        report, csv_text, json_text = _in_memory(db_url, options)
        assert _streamed(db_url, options) == (csv_text, json_text)
        window = ("--since", since.isoformat()) if since else ()
        command = ("report", "-c", SLUG, "--dropped", stage, *window, "-f")
        assert run(db_url, *command, "csv").stdout == csv_text.replace("\r\n", "\n")
        printed = json.loads(run(db_url, *command, "json").stdout)
        assert printed["dropped"] == json.loads(json_text)["dropped"]
        engine = open_engine(db_url)
        shown = build_report(engine, SLUG, dataclasses.replace(options, dropped_shown=3))
        engine.dispose()
        assert shown.dropped == report.dropped[:3]
        assert shown.dropped_total == len(report.dropped)
        lengths.append(len(report.dropped))
    assert max(lengths) > 3


def test_the_dropped_list_as_files_byte_for_byte(sqlite_url: str, tmp_path: Path) -> None:
    """The whole `--dropped` list as the command writes its CSV and JSON files, pinned: the
    CSV's BOM, header and CRLF, formula guard and quoting; masks; times on the campaign's
    clock (no fraction when it is 0; Shanghai's summer time); NULL as nothing in the CSV
    and null in JSON; by advisor, then client id."""
    registered(sqlite_url, 7, 60)
    engine = open_engine(sqlite_url)
    first = build_report(engine, SLUG, ReportOptions(dropped="called", as_of=AS_OF)).dropped[:3]
    values = [
        ("=欧阳娜", None, dt.datetime(2020, 7, 11, 16, 0), None),
        (None, "+86 138", dt.datetime(1991, 4, 13, 18, 0, 0, 500000), None),
        ("张", "13800001234", None, dt.datetime(2020, 7, 11, 4, 57, 13, 999546)),
    ]
    with engine.begin() as conn:
        for client, (name, mobile, last_call, callback) in zip(first, values, strict=True):
            _set_client(
                conn,
                client.client_id,
                name,
                mobile,
                last_call and last_call.replace(tzinfo=dt.UTC),
                callback and callback.replace(tzinfo=dt.UTC),
            )
        conn.execute(
            tables.ADVISORS.update()
            .where(tables.ADVISORS.c.code == first[0].advisor_code)
            .values(name='Li, "Jr"')
        )
    engine.dispose()
    assert [(c.client_id, c.advisor_code) for c in first] == [
        ("0007000017", "A001"),
        ("0007000033", "A001"),
        ("0007000043", "A001"),
    ]
    written = {}
    for fmt in ("csv", "json"):
        out = tmp_path / f"dropped.{fmt}"
        run(sqlite_url, "report", "-c", SLUG, "--dropped", "called", "-f", fmt, "--out", str(out))
        written[fmt] = out.read_bytes()
    lines = written["csv"].decode().split("\r\n")
    assert lines[:4] == [
        "\ufeffcampaign,stage,client_id,name,mobile,advisor,advisor_name,last_call_at,callback_at",
        '2020h2-dormant,called,0007000017,\'=***,,A001,"Li, ""Jr""",2020-07-12T00:00:00+08:00,',
        '2020h2-dormant,called,0007000033,,*******,A001,"Li, ""Jr""",'
        "1991-04-14T03:00:00.500000+09:00,",
        '2020h2-dormant,called,0007000043,张*,138****1234,A001,"Li, ""Jr""",,'
        "2020-07-11T12:57:13.999546+08:00",
    ]
    assert written["csv"].endswith(b"\r\n") and b"\n" not in written["csv"].replace(b"\r\n", b"")
    text = written["json"].decode()
    assert not text.startswith("\ufeff") and text.endswith("\n  }\n}")
    shown = text[text.index('  "dropped": {') :]
    assert shown.startswith(
        """  "dropped": {
    "stage": "called",
    "clients": [
      {
        "client_id": "0007000017",
        "name": "=***",
        "mobile": "",
        "advisor": "A001",
        "advisor_name": "Li, \\"Jr\\"",
        "last_call_at": "2020-07-12T00:00:00+08:00",
        "callback_at": null
      },
      {
        "client_id": "0007000033",
        "name": "",
        "mobile": "*******",
        "advisor": "A001",
        "advisor_name": "Li, \\"Jr\\"",
        "last_call_at": "1991-04-14T03:00:00.500000+09:00",
        "callback_at": null
      },
      {
        "client_id": "0007000043",
        "name": "张*",
        "mobile": "138****1234",
        "advisor": "A001",
        "advisor_name": "Li, \\"Jr\\"",
        "last_call_at": null,
        "callback_at": "2020-07-11T12:57:13.999546+08:00"
      },
      {
"""
    )
    assert json.loads(text)["dropped"]["clients"][3]["advisor"] >= "A001"


_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=6) | (
    st.sampled_from(
        [
            "=HYPERLINK(1)",
            "-1",
            '"},\n        {',
            "张*",
            "\t",
            "a\nb",
            "",
            "\\n",
            "a,b",
            "x\ry",
            "\r",
            "a\x1fb",
            "\x1e",
        ]
    )
)
_MOMENT = st.datetimes(
    dt.datetime(1900, 1, 1), dt.datetime(2099, 12, 31), timezones=st.just(dt.UTC)
) | st.sampled_from(
    [
        dt.datetime(2020, 7, 11, 4, 57, 13, 999546, tzinfo=dt.UTC),  # SQLite's ms round up
        dt.datetime(2020, 7, 11, 16, 0, tzinfo=dt.UTC),  # no fraction, the next day there
        dt.datetime(1991, 4, 13, 18, 0, tzinfo=dt.UTC),  # Shanghai's last summer time
        dt.datetime(1901, 1, 1, tzinfo=dt.UTC),  # and its mean time (+08:05:43) before
    ]
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(st.none() | _TEXT, min_size=3, max_size=3),
    mobiles=st.lists(st.none() | _TEXT, min_size=3, max_size=3),
    advisor_name=_TEXT,
    times=st.lists(st.none() | _MOMENT, min_size=6, max_size=6),
    chinese=st.booleans(),
)
def test_the_streamed_dropped_list_whatever_the_text_holds(
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    names: list[str | None],
    mobiles: list[str | None],
    advisor_name: str,
    times: list[dt.datetime | None],
    chinese: bool,
) -> None:
    """Names, mobiles and advisors' names holding quotes, commas, newlines, backslashes,
    tabs or formulas, and times of any fraction, offset or summer time: the database
    writes the CSV and JSON of the list as Python writes the clients (in Chinese too)."""
    monkeypatch.setenv("REACTIVATE_LANG", "zh" if chinese else "en")
    if db_url not in _SET_UP:  # the examples share the fixture's database
        registered(db_url, 7, 60)
        _SET_UP.add(db_url)
    options = ReportOptions(dropped="called", as_of=AS_OF)
    engine = open_engine(db_url)
    report = build_report(engine, SLUG, options)
    first = report.dropped[:3]
    with engine.begin() as conn:
        for client, name, mobile, (last_call, callback) in zip(
            first, names, mobiles, zip(times[::2], times[1::2], strict=True), strict=True
        ):
            _set_client(conn, client.client_id, name, mobile, last_call, callback)
        conn.execute(
            tables.ADVISORS.update()
            .where(tables.ADVISORS.c.code == first[0].advisor_code)
            .values(name=advisor_name)
        )
    engine.dispose()
    _report, csv_text, json_text = _in_memory(db_url, options)
    assert _streamed(db_url, options) == (csv_text, json_text)


_SET_UP: set[str] = set()


def test_a_part_of_the_list_whose_text_would_not_read_back_is_read_row_by_row() -> None:
    """SQLite hands the list over a column at a time as text, the values joined by a
    control character: a part whose values hold it is not read from that text; a time
    '' is NULL."""
    names = ["client_id", "name", "mobile", "advisor_code", "last_call_at", "callback_at"]
    columns = [b"1\x1e2", b"\x1e\xe5\xbc\xa0", b"\r\x1e", b"A\x1eB", b"x\x1e", b"\x1ey"]
    read = dropped_module._part_frame(columns, 2, names)
    assert read is not None and read.rows() == [
        ("1", "", "\r", "A", "x", None),
        ("2", "张", "", "B", None, "y"),
    ]
    assert dropped_module._part_frame([b"1\x1e\x1e2", *columns[1:]], 2, names) is None
    assert dropped_module._part_frame([None, *columns[1:]], 2, names) is None


def test_the_list_is_ordered_by_advisor_then_client_id_as_text() -> None:
    """The whole list's order (`dropped._order`): by advisor code, then client id byte by
    byte, whether the ids are digits of one length (sorted as numbers) or not."""
    import polars as pl

    for ids in (["0000000010", "0000000009", "0000000100"], ["10", "9", "100"], ["b", "A1", "9"]):
        rows = [(code, client) for code in ("B2", "A10", "B10") for client in ids]
        frame = pl.DataFrame(rows, schema=["advisor_code", "client_id"], orient="row")
        ordered = frame[dropped_module._order(frame)].rows()
        assert ordered == sorted(rows, key=lambda row: (row[0].encode(), row[1].encode()))


def _cased(data: Data) -> Data:
    """`data` with every other client id starting in a capital and the rest in a small
    letter ("B0007000001", "a0007000002"): ids a linguistic collation orders otherwise
    than their bytes do."""
    ids = {cid: ("a" if i % 2 else "B") + cid for i, cid in enumerate(data.clients)}
    return Data(
        clients={ids[c]: {**row, "client_id": ids[c]} for c, row in data.clients.items()},
        members={ids[c]: {**row, "client_id": ids[c]} for c, row in data.members.items()},
        events=[dataclasses.replace(e, client=ids[e.client]) for e in data.events],
    )


def test_every_form_of_the_list_is_in_byte_order_under_a_linguistic_collation() -> None:
    """In a PostgreSQL database whose text sorts by ICU's rules (a7 before B3), the list
    read as clients (the table, a workbook, a page) comes in the order of its CSV and
    JSON, which polars sorts byte by byte (B3 before a7): one order in every form."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1/test)")
    server = sqlalchemy.make_url(base).set(drivername="postgresql+psycopg")
    name = f"reactivate_icu_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(
            f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'"
            " LOCALE_PROVIDER icu ICU_LOCALE 'und' LOCALE 'C.UTF-8'"
        )
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        engine = open_engine(url)
        registry.register(engine, CAMPAIGN_FILE)
        with engine.connect() as conn:
            assert not sorts_by_code_point(conn)
        insert(engine, registry.get(engine, SLUG).id, _cased(generate(7, n=60)))
        engine.dispose()
        options = ReportOptions(dropped="called", as_of=AS_OF)
        report, csv_text, json_text = _in_memory(url, options)
        keys = [(c.advisor_code or "", c.client_id) for c in report.dropped]
        assert keys == sorted(keys, key=lambda k: (k[0].encode(), k[1].encode()))
        assert {c.client_id[0] for c in report.dropped} == {"a", "B"}
        assert _streamed(url, options) == (csv_text, json_text)
        engine = open_engine(url)
        shown = build_report(engine, SLUG, dataclasses.replace(options, dropped_shown=5))
        engine.dispose()
        assert shown.dropped == report.dropped[:5]
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def test_an_interrupt_while_postgresql_reads_the_list_stops_it(db_url: str) -> None:
    """The list is read by ADBC on a thread of its own (`dropped._read`): an interrupt
    meanwhile reaches the command as one (on the main thread ADBC would take it, cancel
    the statement and leave only the statement's error), and the statement is cancelled."""
    import os
    import signal
    import threading
    import time

    import adbc_driver_postgresql.dbapi as adbc
    import sqlalchemy

    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite reads the list without ADBC: no second connection to interrupt")

    class Stopped(Exception):
        pass

    def stop(_signum: int, _frame: Any) -> None:
        raise Stopped

    url = sqlalchemy.make_url(db_url).set(drivername="postgresql")
    before = signal.signal(signal.SIGINT, stop)
    began = time.perf_counter()
    try:
        with (
            adbc.connect(url.render_as_string(hide_password=False), autocommit=True) as conn,
            conn.cursor() as cursor,
        ):
            threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
            with pytest.raises(Stopped):
                dropped_module._read(cursor, "SELECT pg_sleep(30) AS waited")
    finally:
        signal.signal(signal.SIGINT, before)
    assert time.perf_counter() - began < 10


def test_markdown_fits_wecom(setup: tuple[str, Data]) -> None:
    db, _data = setup
    out = run(db, "report", "--campaign", SLUG, "--format", "markdown").stdout
    assert len(out.encode("utf-8")) <= render.MARKDOWN_LIMIT
    assert "| reached |" in out and "Top 4" in out and "uplift" in out


def test_markdown_stays_within_4096_bytes_with_many_long_named_advisors(
    setup: tuple[str, Data],
) -> None:
    db, _data = setup
    engine = open_engine(db)
    base = build_report(engine, SLUG, ReportOptions(by="advisor", as_of=AS_OF))
    engine.dispose()
    template = base.groups[0]
    groups = tuple(
        Group(f"A{i:05d}|*_", "欧阳" * 40 + f"顾问{i}", template.assigned, template.stages)
        for i in range(800)
    )
    long_named = dataclasses.replace(base, groups=groups, campaign_name="很长的活动名" * 30)
    text = render.to_markdown(long_named)
    assert len(text.encode("utf-8")) <= render.MARKDOWN_LIMIT
    assert "Top 5" in text or "Top 3" in text or "Top 1" in text
    text.encode("utf-8").decode("utf-8")  # never cut mid-character
    for limit in (300, 700, 1200):
        assert len(render.to_markdown(long_named, limit=limit).encode("utf-8")) <= limit


def test_xlsx_has_a_summary_chart_and_a_sheet_per_breakdown(
    setup: tuple[str, Data], tmp_path: Path
) -> None:
    db, data = setup
    path = tmp_path / "out" / "report.xlsx"
    run(db, "report", "--campaign", SLUG, "--format", "xlsx", "--by", "cohort", "--out", str(path))
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["summary", "week assigned"]
    summary = book["summary"]
    assert [summary.cell(row=r, column=1).value for r in range(4, 9)] == [
        "called",
        "reached",
        "WeCom added",
        "pushed",
        "converted",
    ]
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert any(n.startswith("xl/charts/chart") for n in names)
        text = "".join(archive.read(n).decode("utf-8") for n in names if n.endswith(".xml"))
    assert_no_personal_data(text, data)


def test_a_dropped_list_longer_than_a_sheet_goes_on_in_more_sheets(
    setup: tuple[str, Data], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, _ = setup
    engine = open_engine(db)
    report = build_report(engine, SLUG, ReportOptions(dropped="wecom_added", as_of=AS_OF))
    engine.dispose()
    listed = [c.to_json()["client_id"] for c in report.dropped]
    assert len(listed) > 4
    # a sheet of 2 clients stands for Excel's 1,048,575: past it xlsxwriter drops cells
    monkeypatch.setattr(layout, "SHEET_DATA_ROWS", 2)
    path = tmp_path / "dropped.xlsx"
    render.write_xlsx(report, path)
    book = openpyxl.load_workbook(path)
    parts = [name for name in book.sheetnames if name.startswith("dropped")]
    assert parts == ["dropped"] + [f"dropped {n}" for n in range(2, len(parts) + 1)]
    assert len(parts) == (len(listed) + 1) // 2
    header = next(book["dropped"].iter_rows(values_only=True))
    written = []
    for name in parts:
        rows = list(book[name].iter_rows(values_only=True))
        assert rows[0] == header and 1 <= len(rows) - 1 <= 2
        written += [row[0] for row in rows[1:]]
    assert written == listed


def test_libreoffice_opens_the_report_workbook(setup: tuple[str, Data], tmp_path: Path) -> None:
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("LibreOffice (soffice) is not installed: cannot check it opens the report")
    db, _data = setup
    path = tmp_path / "report.xlsx"
    run(db, "report", "--campaign", SLUG, "--format", "xlsx", "--by", "advisor", "--out", str(path))
    out = tmp_path / "converted"
    subprocess.run(
        [office, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/lo",
         "--convert-to", "csv", "--outdir", str(out), str(path)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    (converted,) = out.glob("*.csv")
    rows = list(csv.reader(converted.read_text(encoding="utf-8").splitlines()))
    assert any(row and row[0] == "converted" for row in rows)  # the summary sheet's funnel


def test_xlsx_needs_out(setup: tuple[str, Data]) -> None:
    db, _data = setup
    result = CliRunner().invoke(app, ["report", "--campaign", SLUG, "--format", "xlsx", "--db", db])
    assert result.exit_code == 2
    assert "--out" in result.output


def test_bad_stage_is_an_error_naming_the_flag(setup: tuple[str, Data]) -> None:
    db, _data = setup
    result = CliRunner().invoke(
        app, ["report", "--campaign", SLUG, "--rank-by", "married", "--db", db]
    )
    assert result.exit_code == 1
    assert "--rank-by" in result.output


def test_client_show_marks_voids_and_masks(
    setup: tuple[str, Data], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, data = setup
    monkeypatch.setenv("COLUMNS", "160")
    voided = next(e for e in data.events if e.stage == funnel.EVENT_VOID)
    client = data.clients[voided.client]
    out = run(db, "client", "show", voided.client, "--campaign", SLUG).stdout
    assert f"voided by #{voided.id}" in out and f"voids #{voided.voids}" in out
    assert client["mobile"][:3] + "****" + client["mobile"][-4:] in out
    assert client["mobile"] not in out and client["name"] not in out
    timeline = json.loads(
        run(db, "client", "show", voided.client, "--campaign", SLUG, "--format", "json").stdout
    )
    by_id = {e["id"]: e for e in timeline["events"]}
    assert by_id[voided.voids]["voided_by"] == voided.id
    assert len(by_id) == sum(e.client == voided.client for e in data.events)
    missing = CliRunner().invoke(app, ["client", "show", "9999", "--campaign", SLUG, "--db", db])
    assert missing.exit_code == 1 and "9999" in missing.output


@pytest.mark.parametrize(
    "fmt", ["table", "chart", "markdown", "svg", "html", "png", "csv", "json", "xlsx"]
)
def test_a_report_that_cannot_finish_its_file_leaves_the_one_before(
    setup: tuple[str, Data], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """Every `--out` is written beside the file and moved over it when whole: when the
    writing fails (here the last step, the move, as a full disk or Ctrl+C would), the
    report that was there stays as it was and nothing is left beside it."""
    import reactivate.files

    db, _ = setup
    folder = tmp_path / "reports"
    folder.mkdir()
    path = folder / f"report.{fmt}"
    path.write_bytes(b"last week's report")

    def refused(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(reactivate.files.os, "replace", refused)
    result = CliRunner().invoke(
        app, ["report", "-c", SLUG, "-f", fmt, "--by", "advisor", "--out", str(path), "--db", db]
    )
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    assert f"Cannot write {path} (No space left on device)" in said  # an error, no traceback
    assert path.read_bytes() == b"last week's report"
    assert list(folder.iterdir()) == [path]
    monkeypatch.undo()
    run(db, "report", "-c", SLUG, "-f", fmt, "--by", "advisor", "--out", str(path))
    assert path.read_bytes() != b"last week's report"
    assert list(folder.iterdir()) == [path]

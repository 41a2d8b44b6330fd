"""The upload's column checks (`upload.columns`) held to the row checker, row by row.

An upload checks its rows a column at a time and hands every row those checks do not
accept to the row checker (`upload.rows.RowChecker`), where each rule and its message live.
So a row the columns accept must be one the row checker accepts, with the same facts,
the same advisor and the same do-not-call times; and the columns should accept every row
the row checker accepts (else the upload is only slower). hypothesis draws rows and
clients across every rule: unknown, non-member, control and do-not-call clients, foreign
advisors, times before the start, before assignment or in the future, times a clock
change skips or repeats, unknown and unsuitable products, times given without their
value, notes, and both databases' ways of staging times.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from helpers import CAMPAIGN_FILE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reactivate.clock import to_utc
from reactivate.db.dialect import stored_time
from reactivate.rules import campaign as campaigns
from reactivate.rules import funnel
from reactivate.sheets.workbook import Stamp
from reactivate.upload import columns as rc
from reactivate.upload.model import (
    Context,
    FileSummary,
    UploadFile,
    UploadOptions,
    find_product,
    member_of,
)
from reactivate.upload.rows import RowChecker

BASE = campaigns.from_toml(CAMPAIGN_FILE.read_text(encoding="utf-8"), str(CAMPAIGN_FILE))
# New York changes its clocks: 2020-11-01 01:00-02:00 happens twice, 2021-03-14 02:00-03:00
# never. Lord Howe changes by half an hour, inside an hour: 2020-10-04 02:00-02:30 never
# happens, 02:30-03:00 does (at the new offset). Shanghai does not change.
ZONES = ("Asia/Shanghai", "America/New_York", "Australia/Lord_Howe")
NOW = dt.datetime(2021, 3, 20, 12, 0, tzinfo=dt.UTC)
CLIENTS = ("C1", "C2", "C3", "C4", "C5", "C6")
CODES = ("A001", "A002")
MOMENT = pl.Datetime("us")
NAMES = {"王芳": "A001"}


def moments() -> st.SearchStrategy[dt.datetime]:
    """Wall-clock times around the campaign's start and end, the clock changes and now."""
    near = [
        dt.datetime(2020, 6, 30, 23, 59),
        dt.datetime(2020, 7, 1, 0, 0),
        dt.datetime(2020, 11, 1, 1, 30),
        dt.datetime(2020, 11, 1, 0, 59, 59, 999999),
        dt.datetime(2021, 3, 14, 2, 30),
        dt.datetime(2021, 3, 14, 3, 0),
        dt.datetime(2020, 10, 4, 1, 59),
        dt.datetime(2020, 10, 4, 2, 15),
        dt.datetime(2020, 10, 4, 2, 45),
        dt.datetime(2021, 3, 20, 7, 59),
        dt.datetime(2021, 3, 20, 20, 1),
        # the assignment, now and the do-not-call time below, on either clock
        dt.datetime(2020, 7, 1, 9, 0),
        dt.datetime(2021, 3, 20, 20, 0),
        dt.datetime(2021, 3, 20, 8, 0),
        dt.datetime(2020, 12, 1, 10, 0),
        dt.datetime(2020, 11, 30, 21, 0),
        # the campaign's last minute and the first after it
        dt.datetime(2020, 12, 31, 23, 59),
        dt.datetime(2021, 1, 1, 0, 0),
    ]
    spread = st.datetimes(dt.datetime(2020, 6, 29), dt.datetime(2021, 3, 21))
    minutes = spread.map(lambda moment: moment.replace(second=0, microsecond=0))
    return st.one_of(st.sampled_from(near), minutes, minutes, spread)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def mostly(usual: Any, *others: Any) -> st.SearchStrategy[Any]:
    """`usual` three times in four: most rows pass most rules, so that each rule decides
    some rows on its own."""
    return st.sampled_from((usual, usual, usual, *others) if others else (usual,))


def seldom_not(usual: bool) -> st.SearchStrategy[bool]:
    """`usual` but one time in eight: a client's flags are mostly clear."""
    return st.sampled_from((usual,) * 7 + (not usual,))


@st.composite
def row_fields(draw: st.DrawFn) -> dict[str, Any]:
    """A row's cleaned fields, as an advisor mostly fills them in, sometimes wrongly."""

    def given_with(value: Any) -> Any:
        # a time mostly comes with the value it is the time of, and sometimes alone
        return draw(maybe(moments())) if value or draw(st.integers(0, 5)) == 0 else None

    result = draw(maybe(st.sampled_from((*funnel.DISPOSITIONS, "made_up"))))
    wecom = draw(mostly(None, True, False))
    product = draw(mostly(None, "MMF01", "BOND02 稳健债券基金", "EQ04", "成长股票基金", "X"))
    converted = draw(mostly(None, True, False))
    return {
        "client_id": draw(st.sampled_from((*CLIENTS, *CLIENTS, "C9"))),
        "advisor": draw(mostly(None, *CODES, "王芳", "nobody")),
        "called_at": given_with(result),
        "call_result": result,
        "attempts": draw(maybe(st.integers(0, 5))),
        "callback_at": draw(mostly(None, *[draw(moments()) for _ in range(2)])),
        "wecom_added": wecom,
        "wecom_added_at": given_with(wecom),
        "product": product,
        "pushed_at": given_with(product),
        "converted": converted,
        "converted_at": given_with(converted),
        "note": draw(mostly(None, "下月再联系", "busy")),
    }


MEMBERS = st.fixed_dictionaries(
    {
        "known": seldom_not(True),
        "member": seldom_not(True),
        "member_advisor": mostly("A001", "A002", None),
        "assigned_at": st.sampled_from(
            (
                None,
                dt.datetime(2020, 7, 1, 1, 0, tzinfo=dt.UTC),
                dt.datetime(2020, 11, 1, 5, 30, tzinfo=dt.UTC),
            )
        ),
        "control": seldom_not(False),
        "dnc": seldom_not(False),
        "risk": st.sampled_from((None, 1, 2, 3, 4, 4, 5)),
        "dnc_call_at": maybe(st.just(dt.datetime(2020, 12, 1, 2, 0, tzinfo=dt.UTC))),
        "attempts_so_far": st.sampled_from((None, 0, 1, 3)),
    }
)


def _column_outcome(
    rows: list[dict[str, Any]], rules: rc.Rules, now_stored: Any
) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = pl.DataFrame(
        rows,
        schema={
            rc.FILE: pl.Int64,
            rc.ROW: pl.Int64,
            rc.STAMP_ADVISOR: pl.String,
            **rc.field_types(),
            **{name: dtype for name, dtype in rc.member_types().items() if name != "client_id"},
        },
    )
    checked = rc.accept(frame, rules)
    return checked, rc.facts(checked.filter(pl.col(rc.OK)), rules, now_stored)


@pytest.mark.parametrize("zone", ZONES)
def test_the_columns_turn_wall_clock_times_to_utc_as_clock_to_utc_does(zone: str) -> None:
    """Every 7th minute of a year and each minute around the clock changes, in each zone:
    the columns' offsets (by hour, or by minute in an hour whose offset changes) agree
    with `clock.to_utc` (times a change repeats or skips included). The hypothesis test
    below draws the times of its rows from fewer moments."""
    tz = ZoneInfo(zone)
    start = dt.datetime(2020, 1, 1)
    moments = [start + dt.timedelta(minutes=7 * n) for n in range(366 * 24 * 60 // 7)]
    for change in (
        dt.datetime(2020, 10, 4, 1),  # Lord Howe: 02:00-02:30 skipped
        dt.datetime(2021, 4, 4, 1),  # Lord Howe: 01:30-02:00 repeated
        dt.datetime(2020, 11, 1, 0),  # New York: 01:00-02:00 repeated
        dt.datetime(2021, 3, 14, 1),  # New York: 02:00-03:00 skipped
    ):
        moments += [change + dt.timedelta(minutes=n) for n in range(3 * 60)]
    frame = pl.DataFrame(
        {name: moments for name in rc.TIME_FIELDS}, schema=dict.fromkeys(rc.TIME_FIELDS, MOMENT)
    )
    converted = frame.with_columns(rc.to_utc(frame, tz)).rows(named=True)
    for moment, row in zip(moments, converted, strict=True):
        expected = to_utc(moment, tz)
        assert all(row[f"{name}_utc"] == expected for name in rc.TIME_FIELDS), moment


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zone=st.sampled_from(ZONES),
    sqlite=st.booleans(),
    allow_foreign=st.booleans(),
    default_advisor=maybe(st.sampled_from(CODES)),
    members=st.fixed_dictionaries({client: MEMBERS for client in CLIENTS}),
    rows=st.lists(st.tuples(st.booleans(), row_fields()), min_size=1, max_size=25),
)
def test_the_columns_accept_a_row_when_and_as_the_row_checker_does(
    zone: str,
    sqlite: bool,
    allow_foreign: bool,
    default_advisor: str | None,
    members: dict[str, dict[str, Any]],
    rows: list[tuple[bool, dict[str, Any]]],
) -> None:
    campaign = dataclasses.replace(BASE, timezone=zone)
    context = Context(campaign, 1, NOW, frozenset(CODES), NAMES)
    options = UploadOptions(allow_foreign=allow_foreign, advisor=default_advisor)
    conn: Any = SimpleNamespace(dialect=SimpleNamespace(name="sqlite" if sqlite else "postgresql"))
    checker = RowChecker(context, options, stored_time(conn))
    stamped = UploadFile(Path("A001.xlsx"), FileSummary(file="A001.xlsx", sha256=""))
    stamped.stamp = Stamp(campaign.slug, "A001", 1, CLIENTS, "")
    plain = UploadFile(Path("own.csv"), FileSummary(file="own.csv", sha256=""))
    files = [stamped, plain]
    unknown = dict.fromkeys(rc.member_types(), None) | {"known": False}

    # the row checker, row by row
    by_rows: dict[int, list[tuple[Any, ...]]] = {}
    accepted_by_rows: set[int] = set()
    table: list[dict[str, Any]] = []
    for number, (is_stamped, fields) in enumerate(rows, start=2):
        position = 0 if is_stamped else 1
        facts = members.get(fields["client_id"], unknown)
        member = member_of(facts)  # as the upload makes it from the joined columns
        staged: list[Any] = []
        row = tuple(fields[name] for name in rc.field_types())
        if checker.check(files[position], position, number, row, member, staged):
            accepted_by_rows.add(number)
        by_rows[number] = staged
        stamp = "A001" if is_stamped else None
        table.append(
            {rc.FILE: position, rc.ROW: number, rc.STAMP_ADVISOR: stamp, **fields}
            | {name: value for name, value in facts.items() if name != "client_id"}
        )

    # the columns, all rows at once
    products = {
        name: (found.code, found.risk) if (found := find_product(campaign, name)) else None
        for name in {fields["product"] for _, fields in rows if fields["product"] is not None}
    }
    rules = rc.Rules(
        tz=ZoneInfo(zone),
        start=campaign.start,
        end=campaign.end,
        now=NOW,
        dispositions=campaign.dispositions,
        products=products,
        advisor_codes=frozenset(CODES),
        advisor_by_name=NAMES,
        default_advisor=default_advisor,
        allow_foreign=allow_foreign,
        sqlite=sqlite,
    )
    checked, facts = _column_outcome(table, rules, checker.now_stored)
    accepted_by_columns = set(checked.filter(pl.col(rc.OK))[rc.ROW].to_list())
    assert accepted_by_columns == accepted_by_rows
    for number in accepted_by_columns:
        stated = [tuple(fact) for fact in facts.filter(pl.col(rc.ROW) == number).rows()]
        assert stated == by_rows[number], number
    foreign = checked.filter(pl.col(rc.OK) & pl.col(rc.FOREIGN)).group_by(rc.FILE).len()
    assert dict(foreign.iter_rows()) == {
        position: item.summary.foreign
        for position, item in enumerate(files)
        if item.summary.foreign
    }
    dnc = rc.dnc_times(checked.filter(pl.col(rc.OK)), NOW)
    assert dnc == checker.dnc_in_upload

"""Every figure of `report` against an independent count of the raw events (a plain loop).

Random campaigns are inserted with plain SQL on SQLite and PostgreSQL: members with and
without advisors, a control group, do-not-call members, calls (repeated, at equal times,
answered or not), WeCom adds self-reported and confirmed, pushes, conversions, skipped
stages, reactivations, and mistakes voided by later events. The reference below knows
nothing of client_stage or of the report's SQL: it reads the list of events it generated.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest
from helpers import CAMPAIGN_FILE
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from report_campaign import (
    ADVISORS,
    AS_OF,
    EDGES,
    SH,
    SILENT,
    SLUG,
    STAGES,
    Data,
    Ev,
    generate,
    insert,
)
from sqlalchemy import Engine, text

from reactivate import registry
from reactivate.db import models as tables
from reactivate.db import stages
from reactivate.db.engine import open_engine
from reactivate.errors import ConfigError
from reactivate.privacy import mask_mobile, mask_name, masked_mobile_sql, masked_name_sql
from reactivate.report import Report, ReportOptions, ahead, build_report, source
from reactivate.report.scope import Scope
from reactivate.rules import funnel, stats


@dataclass
class Expected:
    assigned: int
    clients: list[int]
    confirmed: int
    medians: list[float | None]


def live_events(
    data: Data, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> list[Ev]:
    voided = {e.voids for e in data.events if e.stage == funnel.EVENT_VOID}
    return [
        e
        for e in data.events
        if e.stage != funnel.EVENT_VOID
        and e.id not in voided
        and (since is None or e.at >= since)
        and (until is None or e.at < until)
    ]


def first_times(events: list[Ev]) -> dict[str, dict[str, dt.datetime]]:
    """Per client, the first time of each stage's own evidence (not cumulative)."""
    firsts: dict[str, dict[str, dt.datetime]] = defaultdict(dict)

    def note(client: str, stage: str, when: dt.datetime) -> None:
        if stage not in firsts[client] or when < firsts[client][stage]:
            firsts[client][stage] = when

    for e in events:
        if e.stage == funnel.EVENT_CALL:
            note(e.client, funnel.CALLED, e.at)
            if e.value in funnel.REACHED_DISPOSITIONS:
                note(e.client, funnel.REACHED, e.at)
        elif e.stage == funnel.EVENT_WECOM:
            note(e.client, funnel.WECOM_ADDED, e.at)
            if e.source == "wecom":
                note(e.client, "confirmed", e.at)
        elif e.stage in (funnel.EVENT_PUSHED, funnel.EVENT_CONVERTED):
            note(e.client, e.stage, e.at)
    return firsts


def cumulative(own: dict[str, dt.datetime]) -> list[dt.datetime | None]:
    out: list[dt.datetime | None] = []
    for i in range(len(STAGES)):
        later = [own[s] for s in STAGES[i:] if s in own]
        out.append(min(later) if later else None)
    return out


def assigned_members(data: Data) -> list[dict[str, Any]]:
    return [m for m in data.members.values() if m["advisor"] and not m["control"]]


def group_key(by: str | None, member: dict[str, Any], data: Data) -> str:
    client = data.clients[member["client_id"]]
    if by is None:
        return ""
    if by == "advisor":
        return str(member["advisor"])
    if by == "branch":
        return client["branch"] or "unknown"
    if by == "risk":
        return f"C{client['risk']}" if client["risk"] else "unknown"
    if by == "asset_band":
        return funnel.asset_band(client["assets"], EDGES)
    day = member["assigned_at"].astimezone(SH).date()
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def whole_days(elapsed: dt.timedelta) -> int:
    """Medians are of whole days elapsed, rounded down."""
    return math.floor(elapsed.total_seconds() / 86400)


def expected(
    data: Data,
    by: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> dict[str, Expected]:
    firsts = first_times(live_events(data, since, until))
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for member in assigned_members(data):
        groups[group_key(by, member, data)].append(member)
    out = {}
    for key, members in groups.items():
        counts = [0] * len(STAGES)
        days: list[list[int]] = [[] for _ in STAGES]
        confirmed = 0
        for member in members:
            own = firsts.get(member["client_id"], {})
            confirmed += "confirmed" in own
            for i, when in enumerate(cumulative(own)):
                if when is not None:
                    counts[i] += 1
                    days[i].append(whole_days(when - member["assigned_at"]))
        out[key] = Expected(
            assigned=len(members),
            clients=counts,
            confirmed=confirmed,
            medians=[statistics.median(d) if d else None for d in days],
        )
    return out


def assert_funnel(figures: Any, exp: Expected, assigned: int, targets: dict[str, float]) -> None:
    assert assigned == exp.assigned
    previous = None
    for i, s in enumerate(figures):
        assert s.stage == STAGES[i]
        assert s.clients == exp.clients[i], (s.stage, s.clients, exp.clients[i])
        assert s.of_assigned == pytest.approx(exp.clients[i] / exp.assigned)
        assert s.of_assigned <= 1.0
        if i == 0:
            assert s.of_previous is None
        else:
            assert s.clients <= previous  # the funnel never widens
            assert s.of_previous == (pytest.approx(s.clients / previous) if previous else None)
        assert s.ci95 == pytest.approx(stats.wilson(exp.clients[i], exp.assigned))
        assert s.target == targets.get(s.stage)
        assert s.met == (None if s.stage not in targets else s.of_assigned >= targets[s.stage])
        if exp.medians[i] is None:
            assert s.median_days is None
        else:
            assert s.median_days == pytest.approx(exp.medians[i], abs=1e-5), s.stage
        assert s.confirmed == (exp.confirmed if s.stage == funnel.WECOM_ADDED else None)
        previous = s.clients


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(params=[3, 11])
def campaign(
    request: pytest.FixtureRequest, db_url: str
) -> Iterator[tuple[Engine, Data, dict[str, float]]]:
    engine = open_engine(db_url)
    config, _ = registry.register(engine, CAMPAIGN_FILE)
    data = generate(request.param)
    insert(engine, registry.get(engine, SLUG).id, data)
    yield engine, data, dict(config.targets)
    engine.dispose()


def report(engine: Engine, **options: Any) -> Report:
    return build_report(engine, SLUG, ReportOptions(as_of=AS_OF, **options))


# --- tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("by", [None, "advisor", "branch", "cohort", "risk", "asset_band"])
def test_every_figure_matches_an_independent_count(campaign: Any, by: str | None) -> None:
    engine, data, targets = campaign
    result = report(engine, by=by)
    overall = expected(data)[""]
    assert_funnel(result.stages, overall, result.assigned, targets)
    assert result.control == sum(m["control"] for m in data.members.values())
    if by is None:
        assert result.groups == ()
        return
    per_group = expected(data, by)
    assert {g.key for g in result.groups} == set(per_group)
    for group in result.groups:
        assert_funnel(group.stages, per_group[group.key], group.assigned, targets)
    assert sum(g.assigned for g in result.groups) == result.assigned
    if by == "advisor":
        assert {g.name for g in result.groups} <= {n for n, _ in ADVISORS.values()}


def test_advisors_are_ranked_by_the_lower_bound(campaign: Any) -> None:
    engine, _data, _targets = campaign
    for rank_by in (None, funnel.REACHED):
        result = report(engine, by="advisor", rank_by=rank_by)
        stage = rank_by or STAGES[-1]
        assert result.ranked_by == stage
        lows = [(g.stage(stage).ci95 or (0, 0))[0] for g in result.groups]
        assert lows == sorted(lows, reverse=True)
    assert report(engine, by="cohort").ranked_by is None


def iso_week(moment: dt.datetime) -> str:
    year, week, _ = moment.astimezone(SH).date().isocalendar()
    return f"{year}-W{week:02d}"


def test_by_week_counts_each_stage_in_the_week_it_was_first_reached(campaign: Any) -> None:
    engine, data, _targets = campaign
    result = report(engine, by="week")
    firsts = first_times(live_events(data))
    clients: dict[str, list[int]] = defaultdict(lambda: [0] * len(STAGES))
    days: dict[str, list[list[int]]] = defaultdict(lambda: [[] for _ in STAGES])
    assigned: dict[str, int] = defaultdict(int)
    confirmed: dict[str, int] = defaultdict(int)
    for member in assigned_members(data):
        assigned[iso_week(member["assigned_at"])] += 1
        own = firsts.get(member["client_id"], {})
        if "confirmed" in own:
            confirmed[iso_week(own["confirmed"])] += 1
        for i, when in enumerate(cumulative(own)):
            if when is not None:
                clients[iso_week(when)][i] += 1
                days[iso_week(when)][i].append(whole_days(when - member["assigned_at"]))
    weeks = set(assigned) | set(clients)
    assert [g.key for g in result.groups] == sorted(weeks)
    for group in result.groups:
        assert group.assigned == assigned.get(group.key, 0)
        assert [s.clients for s in group.stages] == clients.get(group.key, [0] * len(STAGES))
        for i, s in enumerate(group.stages):
            assert s.of_assigned == pytest.approx(s.clients / result.assigned)
            assert s.of_previous is None and s.target is None and s.met is None
            durations = days.get(group.key, [[]] * len(STAGES))[i]
            assert s.median_days == (statistics.median(durations) if durations else None)
        if group.stage(funnel.WECOM_ADDED):
            assert group.stage(funnel.WECOM_ADDED).confirmed == confirmed.get(group.key, 0)
    # the weeks add up to the whole campaign's funnel
    for i, s in enumerate(result.stages):
        assert sum(g.stages[i].clients for g in result.groups) == s.clients


def test_by_week_refuses_a_window(sqlite_url: str) -> None:
    engine = open_engine(sqlite_url)
    registry.register(engine, CAMPAIGN_FILE)
    with pytest.raises(ConfigError, match="--since"):
        build_report(engine, SLUG, ReportOptions(by="week", since=dt.date(2020, 7, 1)))
    engine.dispose()


def test_window_counts_only_evidence_dated_inside_it(campaign: Any) -> None:
    engine, data, targets = campaign
    since, until = dt.date(2020, 7, 5), dt.date(2020, 7, 12)
    start = dt.datetime.combine(since, dt.time(), SH).astimezone(dt.UTC)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), SH).astimezone(dt.UTC)
    result = report(engine, since=since, until=until, by="advisor")
    assert_funnel(result.stages, expected(data, None, start, end)[""], result.assigned, targets)
    per_group = expected(data, "advisor", start, end)
    for group in result.groups:
        assert_funnel(group.stages, per_group[group.key], group.assigned, targets)
    assert result.to_json()["window"] == {"since": "2020-07-05", "until": "2020-07-12"}
    only_since = report(engine, since=since)
    assert_funnel(
        only_since.stages, expected(data, None, start, None)[""], only_since.assigned, targets
    )


#: Windows placed everywhere about the evidence (which runs from 2020-07-01 into
#: August): from before the first, from the middle, a single day, after the last.
WINDOWS = [
    (None, dt.date(2020, 7, 3)),
    (dt.date(2020, 6, 1), dt.date(2020, 7, 9)),
    (dt.date(2020, 7, 8), None),
    (dt.date(2020, 7, 6), dt.date(2020, 7, 6)),
    (dt.date(2020, 7, 16), dt.date(2020, 7, 30)),
    (dt.date(2020, 9, 1), None),
]


def test_windows_anywhere_count_only_their_own_evidence(campaign: Any) -> None:
    """A window reads the summary's first times where they fall inside it and the events
    only for clients first seen before it: every placement must still count exactly."""
    engine, data, targets = campaign
    members = assigned_members(data)
    for since, until in WINDOWS:
        start = dt.datetime.combine(since, dt.time(), SH).astimezone(dt.UTC) if since else None
        end = (
            dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), SH).astimezone(dt.UTC)
            if until
            else None
        )
        result = report(engine, since=since, until=until, by="risk")
        assert_funnel(result.stages, expected(data, None, start, end)[""], result.assigned, targets)
        per_group = expected(data, "risk", start, end)
        for group in result.groups:
            assert_funnel(group.stages, per_group[group.key], group.assigned, targets)
        firsts = first_times(live_events(data, start, end))
        q = result.data_quality
        assert q.skipped_stage == sum(
            any(
                s not in firsts.get(m["client_id"], {})
                and any(x in firsts.get(m["client_id"], {}) for x in STAGES[i + 1 :])
                for i, s in enumerate(STAGES[:-1])
            )
            for m in members
        ), (since, until)
        assert q.wecom_unconfirmed == sum(
            funnel.WECOM_ADDED in firsts.get(m["client_id"], {})
            and "confirmed" not in firsts.get(m["client_id"], {})
            for m in members
        ), (since, until)


#: The days a drawn window's ends fall on: before the first evidence, through the
#: assignments and the calls, past the last.
_DAYS = st.dates(dt.date(2020, 6, 28), dt.date(2020, 8, 31))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    since=st.none() | _DAYS,
    until=st.none() | _DAYS,
    by=st.sampled_from([None, "advisor", "branch", "cohort", "risk", "asset_band"]),
    stale_days=st.sampled_from([0, 20, 45]),
)
def test_any_window_equals_the_evidence_dated_inside_it(
    campaign: Any, since: dt.date | None, until: dt.date | None, by: str | None, stale_days: int
) -> None:
    """Whatever the window and breakdown, every figure a window shows (funnel, medians,
    confirmed adds, reactivation by stage, the data-quality counts) equals a plain count
    of the unvoided events dated inside it, and the report from the tallies (put right by
    the clients whose window differs, or counted from those with evidence inside it)
    equals the one worked out client by client."""
    engine, data, targets = campaign
    assume(since is None or until is None or since <= until)
    assert_window(engine, data, targets, since, until, by, stale_days)


def assert_window(
    engine: Engine,
    data: Data,
    targets: dict[str, float],
    since: dt.date | None,
    until: dt.date | None,
    by: str | None,
    stale_days: int = 0,
) -> None:
    """Every figure of the window's report equals a plain count of the unvoided events
    dated inside it, whichever way the report reads it."""
    start = dt.datetime.combine(since, dt.time(), SH).astimezone(dt.UTC) if since else None
    end = (
        dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), SH).astimezone(dt.UTC)
        if until
        else None
    )
    result = report(engine, since=since, until=until, by=by, stale_days=stale_days)
    # the per-client derivation a partial view (a manager's, an advisor's) still counts by
    with mock.patch.object(Scope, "by_dates", property(lambda _scope: False)):
        per_client = report(engine, since=since, until=until, by=by, stale_days=stale_days)
    assert result.to_json() == per_client.to_json()
    # the day histograms with every client first seen before the window read one by one,
    # each kind's events read for whoever had it before, not only those the index ranges
    # find with evidence inside it: the ranges, and the ones left out as empty, miss none
    seen_before = f"({source._seen_before('cs')})"
    kinds = list(source._EARLIEST)
    with (
        mock.patch.object(source, "_returning_inside", lambda _scope: seen_before),
        mock.patch.object(source, "_ranges", lambda _scope: source._Ranges([], [], kinds)),
    ):
        forced = report(engine, since=since, until=until, by=by, stale_days=stale_days)
    assert forced.to_json() == per_client.to_json()
    assert_funnel(result.stages, expected(data, None, start, end)[""], result.assigned, targets)
    if by is not None:
        per_group = expected(data, by, start, end)
        assert {g.key for g in result.groups} == set(per_group)
        for group in result.groups:
            assert_funnel(group.stages, per_group[group.key], group.assigned, targets)
    firsts = first_times(live_events(data, start, end))
    members = assigned_members(data)
    own = [firsts.get(m["client_id"], {}) for m in members]
    everything = live_events(data)
    dnc_calls = {
        e.client
        for e in everything
        if e.stage == funnel.EVENT_CALL and e.value == funnel.DO_NOT_CALL
    }
    q = result.data_quality
    assert q.skipped_stage == sum(
        any(s not in o and any(x in o for x in STAGES[i + 1 :]) for i, s in enumerate(STAGES[:-1]))
        for o in own
    )
    assert q.wecom_unconfirmed == sum(funnel.WECOM_ADDED in o and "confirmed" not in o for o in own)
    assert q.dnc_calls == sum(m["client_id"] in dnc_calls for m in members)
    assert q.never_called == sum(
        not any(s in o for s in STAGES)
        and not m["dnc"]
        and m["client_id"] not in dnc_calls
        and m["assigned_at"] < AS_OF - dt.timedelta(days=stale_days)
        for m, o in zip(members, own, strict=True)
    )
    reactivated = {e.client for e in everything if e.stage == funnel.EVENT_REACTIVATED}
    if result.reactivation is not None:
        for i, (stage, arm) in enumerate(result.reactivation.by_stage):
            at_stage = [m for m, o in zip(members, own, strict=True) if cumulative(o)[i]]
            assert (stage, arm.clients) == (STAGES[i], len(at_stage))
            assert arm.reactivated == sum(m["client_id"] in reactivated for m in at_stage)


def _week_story() -> Data:
    """Clients assigned on 2020-07-01 whose evidence lies about the week of 07-06..07-12
    (Shanghai): the cases a week's window reads by a path of its own."""
    data = Data()
    assigned = dt.datetime(2020, 7, 1, 9, 0, tzinfo=SH)
    ids = iter(range(1, 1000))

    def local(day: int, hour: float = 10.0, month: int = 7) -> dt.datetime:
        start = dt.datetime(2020, month, day, tzinfo=SH)
        return (start + dt.timedelta(hours=hour)).astimezone(dt.UTC)

    def client(
        name: str, *events: tuple[str, dt.datetime, str | None, str], dnc: bool = False
    ) -> list[Ev]:
        cid = f"00{len(data.clients):08d}"
        data.clients[cid] = {
            "client_id": cid,
            "name": name,
            "mobile": "13800000000",
            "branch": "一部",
            "assets": 42_000.0,
            "risk": 3,
        }
        data.members[cid] = {
            "client_id": cid,
            "advisor": "A001",
            "assigned_at": assigned,
            "control": False,
            "dnc": dnc,
        }
        made = [
            Ev(next(ids), cid, funnel.EVENT_ASSIGNED, assigned.astimezone(dt.UTC), "A001", "assign")
        ]
        made += [
            Ev(next(ids), cid, stage, when, value, source, "A001" if source == "upload" else None)
            for stage, when, value, source in events
        ]
        data.events.extend(made)
        return made

    call, wecom, pushed = funnel.EVENT_CALL, funnel.EVENT_WECOM, funnel.EVENT_PUSHED
    # called before the week and answered inside it: returning by a call
    client(
        "again",
        (call, local(3), funnel.NO_ANSWER, "upload"),
        (call, local(7), funnel.CONNECTED, "upload"),
    )
    # added on WeCom before the week, added again and confirmed inside it, no call there
    client(
        "wecom",
        (call, local(2), funnel.CONNECTED, "upload"),
        (wecom, local(4), None, "upload"),
        (wecom, local(8), None, "upload"),
        (wecom, local(8, 12), None, "wecom"),
    )
    # pushed before the week and again inside it, never called
    client("push", (pushed, local(3), "MMF01", "upload"), (pushed, local(10), "MMF01", "upload"))
    # a call inside the week voided: nothing in it
    made = client(
        "void",
        (call, local(2), funnel.NO_ANSWER, "upload"),
        (call, local(8), funnel.CONNECTED, "upload"),
    )
    data.events.append(
        Ev(
            next(ids),
            made[0].client,
            funnel.EVENT_VOID,
            local(9),
            None,
            "correct",
            voids=made[-1].id,
        )
    )
    # on the week's first and first-after instants (local midnight)
    client("start", (call, local(6, 0), funnel.CONNECTED, "upload"))
    client("end", (call, local(13, 0), funnel.CONNECTED, "upload"))
    # called before and after the week, not in it
    client(
        "around",
        (call, local(3), funnel.NO_ANSWER, "upload"),
        (call, local(20), funnel.NO_ANSWER, "upload"),
    )
    # on the do-not-call list and answered so: never called whatever the window
    client("dnc", (call, local(2), funnel.DO_NOT_CALL, "upload"), dnc=True)
    # first called inside the week, added on WeCom after it
    client(
        "later", (call, local(9), funnel.CONNECTED, "upload"), (wecom, local(15), None, "upload")
    )
    client("quiet")
    return data


@pytest.mark.parametrize("by", [None, "advisor"])
def test_a_week_counts_returning_clients_its_bounds_and_no_voided_evidence(
    db_url: str, by: str | None
) -> None:
    """A week read from the clients with evidence inside it: a client first seen before
    it counts by its evidence inside it (a call, a second WeCom add, a second push), a
    voided event inside it is none, and its first and last instants are local midnights."""
    engine = open_engine(db_url)
    config, _ = registry.register(engine, CAMPAIGN_FILE)
    data = _week_story()
    insert(engine, registry.get(engine, SLUG).id, data, imports=False)
    week = (dt.date(2020, 7, 6), dt.date(2020, 7, 12))
    result = report(engine, since=week[0], until=week[1], by=by)
    # again, wecom, push, start, later: at some stage (a stage counts by later evidence)
    assert [s.clients for s in result.stages] == [5, 5, 2, 1, 0]
    assert result.stages[2].confirmed == 1
    q = result.data_quality
    assert (q.skipped_stage, q.never_called, q.dnc_calls) == (2, 4, 1)
    for since, until in (week, (week[0], None), (None, week[1]), (dt.date(2020, 7, 8), week[1])):
        assert_window(engine, data, dict(config.targets), since, until, by)
    engine.dispose()


def test_a_window_reads_only_the_summary_ranges_someone_was_first_seen_in(db_url: str) -> None:
    """A window that opens the campaign reads no summary row one by one (nobody was seen
    before it: no index range, no client's events); a week reads the kinds some client
    had before it, and its figures are the evidence's either way."""
    from sqlalchemy import event

    engine = open_engine(db_url)
    config, _ = registry.register(engine, CAMPAIGN_FILE)
    data = _week_story()
    insert(engine, registry.get(engine, SLUG).id, data, imports=False)
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    opening = (dt.date(2020, 6, 1), dt.date(2020, 7, 31))
    report(engine, since=opening[0], until=opening[1])
    read = " ".join(statements)
    # a kind's candidates: summary rows (SQLite), or the clients PostgreSQL found by their
    # span (`source.CANDIDATES`)
    candidates = ("FROM client_stage b", f"FROM {source.CANDIDATES} b")
    assert "FROM client_stage i" not in read and not any(c in read for c in candidates)
    statements.clear()
    report(engine, since=dt.date(2020, 7, 6), until=dt.date(2020, 7, 12))
    assert any(c in " ".join(statements) for c in candidates)
    # the cohort rows that size the ranges are read once, though several statements use them
    assert sum("dim = 'cohort' AND stage IN" in s for s in statements) == 1
    event.remove(engine, "before_cursor_execute", _seen)
    assert_window(engine, data, dict(config.targets), *opening, None)
    engine.dispose()


def _postgresql_week_story(db_url: str, *reports: dict[str, Any]) -> Any:
    """On PostgreSQL: an engine over the week's story, and the statements (SQL and
    parameters) the reports of `reports` (`report`'s keywords) ran."""
    from sqlalchemy import event

    engine = open_engine(db_url)
    registry.register(engine, CAMPAIGN_FILE)
    insert(engine, registry.get(engine, SLUG).id, _week_story(), imports=False)
    statements: list[tuple[str, Any]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    for options in reports:
        report(engine, **options)
    event.remove(engine, "before_cursor_execute", _seen)
    return engine, statements


_A_WEEK = {"since": dt.date(2020, 7, 6), "until": dt.date(2020, 7, 12)}


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_reads_a_week_s_returning_calls_from_their_summary_rows(db_url: str) -> None:
    """The calls inside a week of the clients called before it and since its start are
    read from their summary rows (revision 0012's later call times), not from the events:
    the week's statement reads no call event (its figures: the window tests)."""
    engine, statements = _postgresql_week_story(db_url, _A_WEEK)
    (made,) = [sql for sql, _values in statements if "report_days AS" in sql]
    with engine.connect() as conn:
        returning = conn.execute(
            text(
                "SELECT COUNT(*) FROM client_stage WHERE called_at < :since"
                " AND last_call_at >= :since AND later_calls IS NOT NULL"
            ),
            {"since": dt.datetime(2020, 7, 5, 16, tzinfo=dt.UTC)},  # 07-06 in Shanghai
        ).scalar_one()
    engine.dispose()
    assert returning > 0
    assert "later_calls" in made and "later_reached" in made
    assert f"stage = '{funnel.EVENT_CALL}'" not in made


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_reads_the_summary_by_its_partial_indexes(db_url: str) -> None:
    """`--by attempt` and a window's never-called count read the summary through revision
    0011's indexes, which hold only the rows their statements may read (the assigned
    members'; those both on the do-not-call list and with a do-not-call answer): the
    planner takes a partial index only where the statement implies its condition."""
    engine, statements = _postgresql_week_story(db_url, {"by": "attempt"}, _A_WEEK)
    (by_attempt,) = [(sql, values) for sql, values in statements if "AS ord" in sql]
    (both,) = [(sql, values) for sql, values in statements if "cs.do_not_call AND" in sql]
    plans = []
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        for sql, values in (by_attempt, both):
            plans.append(" ".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}", values)))
        made = dict(
            conn.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes"
                " WHERE schemaname = current_schema() AND tablename = 'client_stage'"
            ).all()
        )
    engine.dispose()
    assert "ix_client_stage_attempt" in plans[0] and "ix_client_stage_dnc" in plans[1]
    for name in tables.PARTIAL_ON_POSTGRESQL:
        assert " WHERE " in made[name], made[name]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_reads_a_window_s_tallies_beside_its_returning_clients(db_url: str) -> None:
    """A week's day histograms and tally rows are read on a connection of their own, on
    the report's snapshot, while the report's own works out `report_days` (`report.ahead`;
    the figures: the window tests)."""
    from sqlalchemy import event

    engine = open_engine(db_url)
    registry.register(engine, CAMPAIGN_FILE)
    insert(engine, registry.get(engine, SLUG).id, _week_story(), imports=False)
    statements: list[tuple[int, str]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append((conn.connection.driver_connection.info.backend_pid, statement))

    report(engine, by="advisor", **_A_WEEK)
    event.remove(engine, "before_cursor_execute", _seen)
    engine.dispose()
    (own,) = {pid for pid, sql in statements if "report_days AS" in sql}
    beside = {pid for pid, sql in statements if "SET TRANSACTION SNAPSHOT" in sql}
    assert len(beside) == 1 and own not in beside
    read_beside = " ".join(sql for pid, sql in statements if pid in beside)
    for dim in ("advisor", "cohort"):
        assert f"FROM stage_dates WHERE campaign_id = %(cid)s AND dim = '{dim}'" in read_beside
    assert "FROM stage_tally" in read_beside and "report_days" not in read_beside


def _scope(conn: Any) -> Scope:
    return Scope(conn, 0, mock.Mock(), ReportOptions(), AS_OF)


def _seen_rows(scope: Scope) -> tuple[int, int]:
    """A read sent ahead: the rows of table `seen` it sees, and its connection's backend."""
    return (
        scope.execute("SELECT count(*) FROM seen").scalar_one(),
        scope.execute("SELECT pg_backend_pid()").scalar_one(),
    )


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_reads_ahead_see_the_report_s_snapshot_on_a_connection_of_their_own(db_url: str) -> None:
    """A row committed after the report's snapshot was taken is not seen beside it either."""
    engine = open_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE seen (n INTEGER)")
        conn.exec_driver_sql("INSERT INTO seen VALUES (1)")
    with engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        own = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()  # the snapshot
        with engine.begin() as other:
            other.exec_driver_sql("INSERT INTO seen VALUES (2)")
        scope = _scope(conn)
        with ahead.reading(scope, [(_seen_rows, ())]) as reader:
            seen, pid = dataclasses.replace(scope, ahead=reader).read(_seen_rows)
    engine.dispose()
    assert seen == 1 and pid != own


def _failing(scope: Scope) -> None:
    scope.execute("SELECT 1 / 0")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_read_ahead_that_fails_raises_its_error_where_its_result_is_asked_for(
    db_url: str,
) -> None:
    """The reads before it still give their results; its error is raised on the report's
    thread, when the report asks for its result."""
    engine = open_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE seen (n INTEGER)")
        conn.exec_driver_sql("INSERT INTO seen VALUES (1)")
    with engine.connect() as conn:
        scope = _scope(conn)
        with ahead.reading(scope, [(_seen_rows, ()), (_failing, ())]) as reader:
            reading = dataclasses.replace(scope, ahead=reader)
            assert reading.read(_seen_rows)[0] == 1
            with pytest.raises(Exception, match="division by zero"):
                reading.read(_failing)
    engine.dispose()


def _sleep_ahead(scope: Scope, by: Any = None) -> Any:
    scope.execute("SELECT pg_sleep(30)")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_an_interrupt_while_a_window_reads_ahead_stops_both_connections(db_url: str) -> None:
    """Interrupted while the report's connection works out `report_days` and another
    reads the day histograms beside it, the report stops as interrupted, at once: its
    own statement cancelled by the driver, the one beside it by `ahead`, whose thread is
    waited for; nothing of it is left running on the server."""
    import os
    import signal
    import threading
    import time

    from reactivate.db.interrupts import Interrupted
    from reactivate.report import build as build_module
    from reactivate.report import medians as medians_module

    engine = open_engine(db_url)
    registry.register(engine, CAMPAIGN_FILE)
    insert(engine, registry.get(engine, SLUG).id, _week_story(), imports=False)

    def interrupt(signum: int, _frame: Any) -> None:
        raise Interrupted(signum)

    before = signal.signal(signal.SIGINT, interrupt)
    began = time.perf_counter()
    try:
        with (
            mock.patch.object(build_module, "materialize", _sleep_ahead),
            mock.patch.object(medians_module, "window_days", _sleep_ahead),
        ):
            threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()
            with pytest.raises(Interrupted):
                report(engine, by="advisor", **_A_WEEK)
    finally:
        signal.signal(signal.SIGINT, before)
    assert time.perf_counter() - began < 10
    with engine.connect() as conn:
        running = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE starts_with(query, 'SELECT pg_sleep')"
            " AND state = 'active'"
        ).scalar_one()
    engine.dispose()
    assert running == 0


def test_attempt_report_says_which_call_reached_them(campaign: Any) -> None:
    engine, data, _targets = campaign
    result = report(engine, by="attempt")
    calls: dict[str, set[dt.datetime]] = defaultdict(set)
    answered: dict[str, dt.datetime] = {}
    for e in live_events(data):
        if e.stage == funnel.EVENT_CALL:
            calls[e.client].add(e.at)
            if e.value in funnel.REACHED_DISPOSITIONS and (
                e.client not in answered or e.at < answered[e.client]
            ):
                answered[e.client] = e.at
    reached_at: dict[int, int] = defaultdict(int)
    called_at_least: dict[int, int] = defaultdict(int)
    for member in assigned_members(data):
        cid = member["client_id"]
        for n in range(1, len(calls[cid]) + 1):
            called_at_least[n] += 1
        if cid in answered:
            reached_at[sum(1 for when in calls[cid] if when <= answered[cid])] += 1
    assert [(a.attempt, a.called, a.reached) for a in result.attempts] == [
        (n, called_at_least[n], reached_at[n]) for n in range(1, max(called_at_least) + 1)
    ]
    assert sum(a.reached for a in result.attempts) == len(
        [m for m in assigned_members(data) if m["client_id"] in answered]
    )
    assert result.groups == () and result.to_json()["by"] == "attempt"


def test_reactivation_treated_control_and_uplift(campaign: Any) -> None:
    engine, data, _targets = campaign
    result = report(engine)
    reactivated = {e.client for e in live_events(data) if e.stage == funnel.EVENT_REACTIVATED}
    treated = [m for m in data.members.values() if not m["control"]]
    control = [m for m in data.members.values() if m["control"]]
    r = result.reactivation
    assert r is not None and r.control is not None
    assert (r.treated.clients, r.treated.reactivated) == (
        len(treated),
        sum(m["client_id"] in reactivated for m in treated),
    )
    assert (r.control.clients, r.control.reactivated) == (
        len(control),
        sum(m["client_id"] in reactivated for m in control),
    )
    assert r.uplift == pytest.approx(
        100 * (r.treated.reactivated / len(treated) - r.control.reactivated / len(control))
    )
    low, high = stats.newcombe(
        r.treated.reactivated, len(treated), r.control.reactivated, len(control)
    ) or (0, 0)
    assert r.ci95 == pytest.approx((100 * low, 100 * high))
    firsts = first_times(live_events(data))
    for i, (stage, arm) in enumerate(r.by_stage):
        at_stage = [
            m for m in assigned_members(data) if cumulative(firsts.get(m["client_id"], {}))[i]
        ]
        assert (stage, arm.clients) == (STAGES[i], len(at_stage))
        assert arm.reactivated == sum(m["client_id"] in reactivated for m in at_stage)


def test_data_quality_counts(campaign: Any) -> None:
    engine, data, _targets = campaign
    result = report(engine, stale_days=30)
    q = result.data_quality
    firsts = first_times(live_events(data))
    members = assigned_members(data)
    skipped = 0
    for m in members:
        own = firsts.get(m["client_id"], {})
        skipped += any(
            s not in own and any(x in own for x in STAGES[i + 1 :])
            for i, s in enumerate(STAGES[:-1])
        )
    assert q.skipped_stage == skipped
    dnc_calls = {
        e.client
        for e in live_events(data)
        if e.stage == funnel.EVENT_CALL and e.value == funnel.DO_NOT_CALL
    }
    assert q.dnc_calls == sum(m["client_id"] in dnc_calls for m in members)
    assert q.dnc_members == sum(m["dnc"] for m in data.members.values())
    never = [
        m
        for m in members
        if not firsts.get(m["client_id"])
        and not m["dnc"]
        and m["client_id"] not in dnc_calls
        and m["assigned_at"] < AS_OF - dt.timedelta(days=30)
    ]
    assert q.never_called == len(never)
    assert (q.uploads_refused, q.rows_rejected) == (1, 5)
    with_clients = {m["advisor"] for m in members}
    assert [code for code, _ in q.silent_advisors] == sorted({SILENT} & with_clients)
    assert q.wecom_synced
    assert q.wecom_unconfirmed == sum(
        funnel.WECOM_ADDED in firsts.get(m["client_id"], {})
        and "confirmed" not in firsts.get(m["client_id"], {})
        for m in members
    )


@pytest.mark.parametrize("stage", STAGES)
def test_dropped_lists_who_stopped_before_the_stage_masked(campaign: Any, stage: str) -> None:
    engine, data, _targets = campaign
    result = report(engine, dropped=stage)
    i = STAGES.index(stage)
    firsts = first_times(live_events(data))
    want = set()
    for m in assigned_members(data):
        times = cumulative(firsts.get(m["client_id"], {}))
        if (i == 0 or times[i - 1] is not None) and times[i] is None:
            want.add(m["client_id"])
    assert {c.client_id for c in result.dropped} == want
    for c in result.dropped:
        client = data.clients[c.client_id]
        assert c.mobile == client["mobile"][:3] + "****" + client["mobile"][-4:]
        assert c.name.startswith(client["name"][0]) and "*" in c.name
        assert c.name == mask_name(client["name"])
        assert client["name"] not in json.dumps(result.to_json(), ensure_ascii=False)


def test_the_database_masks_as_privacy_does(db_url: str) -> None:
    """`--dropped` masks in SQL; the edge cases come out as `mask_name`/`mask_mobile` give."""
    engine = open_engine(db_url)
    sqlite = engine.dialect.name == "sqlite"
    value = "CAST(:v AS TEXT)"
    names = [None, "", "张", "李四", "欧阳娜娜", "O'Neil Smith"]
    mobiles = [None, "", "1", "1234567", "12345678", "13800138000", "+8613800138000"]
    with engine.connect() as conn:

        def masked(sql: str, v: str | None) -> str:
            return conn.execute(text(f"SELECT coalesce({sql}, '')"), {"v": v}).scalar_one()

        assert [masked(masked_name_sql(value, sqlite=sqlite), n) for n in names] == [
            mask_name(n) for n in names
        ]
        assert [masked(masked_mobile_sql(value, sqlite=sqlite), m) for m in mobiles] == [
            mask_mobile(m) for m in mobiles
        ]
    engine.dispose()


def test_json_contract(campaign: Any) -> None:
    engine, _data, _targets = campaign
    data = report(engine, by="advisor").to_json()
    for key in ("campaign", "assigned", "control", "stages", "reactivation", "by", "groups"):
        assert key in data
    assert data["campaign"] == SLUG and data["by"] == "advisor"
    first = data["stages"][0]
    assert set(first) == {
        "stage",
        "clients",
        "of_assigned",
        "of_previous",
        "ci95",
        "target",
        "met",
        "median_days",
    }
    assert first["of_previous"] is None
    wecom = next(s for s in data["stages"] if s["stage"] == "wecom_added")
    assert isinstance(wecom["confirmed"], int)
    assert set(data["reactivation"]) >= {"treated", "control", "uplift", "ci95"}
    assert set(data["reactivation"]["treated"]) == {"clients", "reactivated", "rate"}
    assert set(data["groups"][0]) == {"key", "name", "assigned", "stages"}
    assert json.loads(json.dumps(data)) == data


def test_no_control_group_and_no_activity(db_url: str) -> None:
    engine = open_engine(db_url)
    registry.register(engine, CAMPAIGN_FILE)
    data = generate(5, n=30, control=False)
    data.events = [e for e in data.events if e.stage != funnel.EVENT_REACTIVATED]
    campaign_id = registry.get(engine, SLUG).id
    insert(engine, campaign_id, data, imports=False)
    result = report(engine)
    assert result.reactivation is None and result.to_json()["reactivation"] is None
    with engine.begin() as conn:
        conn.execute(
            tables.EVENTS.insert(),
            [
                {
                    "campaign_id": campaign_id,
                    "client_id": next(iter(data.clients)),
                    "stage": funnel.EVENT_REACTIVATED,
                    "occurred_at": AS_OF,
                    "source": "activity",
                    "recorded_by": "test",
                    "recorded_at": AS_OF,
                }
            ],
        )
        stages.refresh(conn, campaign_id)
    r = report(engine).reactivation
    assert r is not None and r.treated.reactivated == 1
    assert r.control is None and r.uplift is None and r.ci95 is None
    assert report(engine).to_json()["reactivation"]["control"] is None
    assert (
        report(engine).data_quality.uploads_refused,
        report(engine).data_quality.rows_rejected,
    ) == (0, 0)
    engine.dispose()


def test_empty_campaign_has_no_rates(db_url: str) -> None:
    engine = open_engine(db_url)
    registry.register(engine, CAMPAIGN_FILE)
    result = report(engine, by="advisor")
    assert result.assigned == 0 and result.groups == ()
    assert all(s.clients == 0 and s.of_assigned is None and s.ci95 is None for s in result.stages)
    engine.dispose()


@pytest.mark.parametrize(
    ("options", "flag"),
    [
        ({"by": "colour"}, "--by"),
        ({"rank_by": "assigned"}, "--rank-by"),
        ({"dropped": "nowhere"}, "--dropped"),
        ({"since": dt.date(2020, 8, 1), "until": dt.date(2020, 7, 1)}, "--since"),
    ],
)
def test_bad_options_name_the_flag(sqlite_url: str, options: dict[str, Any], flag: str) -> None:
    engine = open_engine(sqlite_url)
    registry.register(engine, CAMPAIGN_FILE)
    with pytest.raises(ConfigError, match=flag):
        build_report(engine, SLUG, ReportOptions(**options))
    engine.dispose()


def test_medians_are_days_after_assignment_wherever_a_stage_has_clients(campaign: Any) -> None:
    engine, data, _targets = campaign
    # every event of the generated campaign comes after its client's assignment
    span = max(e.at for e in data.events) - min(m["assigned_at"] for m in assigned_members(data))
    horizon = span.total_seconds() / 86400
    result = report(engine, by="advisor")
    assert all(s.clients > 0 for s in result.stages)  # so every overall median is a number
    for figures in (result.stages, *(g.stages for g in result.groups)):
        for s in figures:
            if s.clients == 0:
                assert s.median_days is None, s.stage
            else:
                assert s.median_days is not None, s.stage
                assert math.isfinite(s.median_days) and 0 <= s.median_days <= horizon, s.stage


def test_a_changed_stage_list_recounts(db_url: str, tmp_path: Any) -> None:
    """Re-registered with fewer stages, the summary is rebuilt: evidence for a stage the
    campaign no longer has (a push, an answered call) no longer counts for earlier ones."""
    engine = open_engine(db_url)
    registry.register(engine, CAMPAIGN_FILE)
    data = generate(11, n=90)
    insert(engine, registry.get(engine, SLUG).id, data)
    fewer = (funnel.CALLED, funnel.WECOM_ADDED, funnel.CONVERTED)
    definition = CAMPAIGN_FILE.read_text(encoding="utf-8")
    edited = definition.replace(
        'stages = ["called", "reached", "wecom_added", "pushed", "converted"]',
        'stages = ["called", "wecom_added", "converted"]',
    ).replace("reached = 0.49\n", "")
    assert edited.count("reached") == 0
    path = tmp_path / "fewer.toml"
    path.write_text(edited, encoding="utf-8")
    registry.register(engine, path)

    firsts = first_times(live_events(data))
    clients = [0] * len(fewer)
    days: list[list[int]] = [[] for _ in fewer]
    for member in assigned_members(data):
        own = firsts.get(member["client_id"], {})
        for i in range(len(fewer)):
            later = [own[s] for s in fewer[i:] if s in own]
            if later:
                clients[i] += 1
                days[i].append(whole_days(min(later) - member["assigned_at"]))
    result = report(engine)
    assert [s.stage for s in result.stages] == list(fewer)
    assert [s.clients for s in result.stages] == clients
    for figures, durations in zip(result.stages, days, strict=True):
        median = statistics.median(durations) if durations else None
        assert figures.median_days == pytest.approx(median, abs=1e-6)
    engine.dispose()


def test_upgrade_from_version_1_fills_the_funnel_columns(db_url: str) -> None:
    """A version-1 database (no funnel columns) is upgraded on open and reports the same."""
    engine = open_engine(db_url)
    registry.register(engine, CAMPAIGN_FILE)
    insert(engine, registry.get(engine, SLUG).id, generate(12, n=60))
    before = report(engine, by="advisor").to_json()
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_client_stage_attempt")  # revision 0004's
        for days in ("called", "reached", "wecom", "pushed", "converted"):
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS ix_client_stage_{days}_days")
            conn.exec_driver_sql(f"ALTER TABLE client_stage DROP COLUMN {days}_days")
        conn.exec_driver_sql("ALTER TABLE client_stage DROP COLUMN stages_reached")
        conn.exec_driver_sql("ALTER TABLE client_stage DROP COLUMN skipped_stage")
        # and what revision 0002 added
        for column in ("branch", "risk", "asset_band", "cohort", "reached_call"):
            conn.exec_driver_sql(f"ALTER TABLE client_stage DROP COLUMN {column}")
        for column in ("last_wecom_at", "last_pushed_at", "last_converted_at"):  # and 0009
            conn.exec_driver_sql(f"ALTER TABLE client_stage DROP COLUMN {column}")
        if conn.dialect.name == "postgresql":  # and 0012
            for column in stages.LATER_CALLS:
                conn.exec_driver_sql(f"ALTER TABLE client_stage DROP COLUMN {column}")
        conn.exec_driver_sql("DROP TABLE stage_tally")
        conn.exec_driver_sql("DROP TABLE stage_days")
        conn.exec_driver_sql("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        conn.exec_driver_sql("DROP TABLE alembic_version")  # version 1 predates revisions
        for table in ("access_branch", "access_user", "access_group"):  # so does revision 0002
            conn.exec_driver_sql(f"DROP TABLE {table}")
    engine.dispose()
    engine = open_engine(db_url)
    after = report(engine, by="advisor").to_json()
    assert {k: v for k, v in after.items() if k != "generated_at"} == {
        k: v for k, v in before.items() if k != "generated_at"
    }
    engine.dispose()

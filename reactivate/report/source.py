"""Who a report counts client by client: the assigned clients and their funnel columns.

Whole-history counts and medians come from the tallies (`db.tally`); what needs the
clients themselves reads them here: a window's funnel, worked out again from the evidence
dated inside it (voided events excluded) by the same definitions `stages.refresh`
stores, and the `--dropped` list. A client first reaches a stage inside the window
exactly when its summary's first time for the stage falls inside it, which the day
histograms count (`stage_dates`, `report.funnels`); so a window reads client by client only
the clients first seen before it who have evidence inside it (`materialize`). A window's
first time of each kind is the summary's when that falls inside the window; the events
are read only for clients who had the kind before it (on PostgreSQL, calls aside: a
client's later call times are in its summary row), and a stage's days are the summary's
unless the client reached it before. A breakdown's key is the summary's own column
(advisor, branch, cohort: the week of assignment, risk, asset band), as it was written.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from reactivate.db import stages, tally
from reactivate.report.scope import ASSIGNED, Scope
from reactivate.rules import funnel

#: What a report reads of each assigned client besides the funnel columns.
FACTS = (
    "client_id",
    "advisor_code",
    "assigned_at",
    "wecom_at",
    "wecom_confirmed_at",
    "reactivated_at",
    "dnc",
    "do_not_call",
    "last_call_at",
    "callback_at",
    "branch",
    "risk",
    "asset_band",
    "cohort",
)
#: The summary's column holding each breakdown's key.
KEYS = {
    "advisor": "advisor_code",
    "branch": "branch",
    "cohort": "cohort",
    "risk": "risk",
    "asset_band": "asset_band",
}


def source(scope: Scope, *, returning: bool = False, part: bool = False) -> str:
    """The assigned clients with their funnel columns (whole history or window).

    `part` (SQLite): only those of the summary rows numbered (rowid) from `:part_from`
    up to but not including `:part_to`, a range SQLite reads alone.

    `returning`: only the clients first seen before the window who may have evidence
    dated inside it (`_returning_inside`), each also with `b{i}` (it reached stage `i`
    before the window) and the summary's own first WeCom add and confirmation as `h_`
    columns; every other client counts in the window as the day histograms count it."""
    if not scope.windowed:
        funnel_names = ["stages_reached", "skipped_stage", *scope.days]
        columns = ", ".join(f"cs.{c}" for c in (*FACTS, *funnel_names))
        return (
            f"SELECT {columns} FROM client_stage cs WHERE {scope.in_campaign} AND {ASSIGNED}"
            f"{_PART if part else ''}"
        )
    # a window's first time of each kind is the summary's when that falls inside it; only
    # a kind first seen before the window needs the events (`_joined`)
    times = ", ".join(f"{_windowed(scope, column)} AS {column}" for column in WINDOW_TIMES)
    stored = _stored_days(scope)
    if returning:
        stored += [f"cs.{c} AS h_{c}" for c in OWN]
    with_, rows = "", f"client_stage cs{_joined(scope)} WHERE {scope.in_campaign} AND {ASSIGNED}"
    if returning and scope.sqlite:
        rows += f" AND {_returning_inside(scope)}"
    elif returning:
        # PostgreSQL: the clients first seen before the window who may have evidence
        # inside it read once, by their span (`_returning_inside`), and their events for
        # them alone (`_returning_events`); each kind's candidates read by a scan of
        # their own cost a week at 10M a scan of every summary row each
        with_ = (
            f"WITH {CANDIDATES} AS MATERIALIZED (SELECT cs.* FROM client_stage cs"
            f" WHERE {scope.in_campaign} AND {ASSIGNED} AND {_returning_inside(scope)}) "
        )
        rows = f"{CANDIDATES} cs{_joined(scope, CANDIDATES)} WHERE TRUE"
    facts = (
        f"{with_}SELECT cs.client_id, cs.advisor_code, cs.assigned_at, cs.control, {times},"
        " cs.reactivated_at, cs.dnc, cs.do_not_call, cs.last_call_at, cs.callback_at,"
        f" cs.branch, cs.risk, cs.asset_band, cs.cohort, {', '.join(stored)}"
        f" FROM {rows}{_PART if part else ''}"
    )
    # the same funnel columns `stages.refresh` stores, from the window's first times; a
    # stage's days are the summary's own whenever its first time is the window's
    derived = stages.funnel_columns(scope.campaign.stages, sqlite=scope.sqlite)
    for i, stage in enumerate(scope.campaign.stages):
        name = stages.DAYS_COLUMNS[stage]
        derived[name] = (
            f"CASE WHEN f.b{i} THEN {derived[name]} ELSE f.sd{i} END"
            if scope.options.since is not None
            else f"f.sd{i}"
        )
    windowed = ", ".join(f"{sql} AS {name}" for name, sql in derived.items())
    if returning:
        before = [f"f.b{i} AS b{i}" for i in range(len(scope.campaign.stages))]
        windowed += ", " + ", ".join([*before, *(f"h_{c}" for c in OWN)])
    # SQLite would flatten `facts` into this SELECT and work out each window time once
    # for every mention in the funnel columns (about forty per client); a LIMIT keeps it
    # a co-routine whose columns are computed once
    fence = " LIMIT -1" if scope.sqlite else ""
    return f"SELECT {', '.join(FACTS)}, {windowed} FROM ({facts}{fence}) f"


#: `source`'s condition for a part of the summary's rows
_PART = " AND cs.rowid >= :part_from AND cs.rowid < :part_to"
#: The summary's first times a window works out again (reached and confirmed are never
#: before their called and WeCom times: the same events, narrowed).
WINDOW_TIMES = (
    "called_at",
    "reached_at",
    "wecom_at",
    "wecom_confirmed_at",
    "pushed_at",
    "converted_at",
)
#: The summary's own first times a window's WeCom counts compare with its own
#: (`funnels._dated`: a client's first add or confirmation before the window).
OWN = ("wecom_at", "wecom_confirmed_at")
#: The kinds whose first time comes before every other's (see `WINDOW_TIMES`), with the
#: event stage of each.
_KINDS = {
    "called_at": funnel.EVENT_CALL,
    "wecom_at": funnel.EVENT_WECOM,
    "pushed_at": funnel.EVENT_PUSHED,
    "converted_at": funnel.EVENT_CONVERTED,
}
_EARLIEST = tuple(_KINDS)


def _windowed(scope: Scope, column: str) -> str:
    """SQL of the first time of `column`'s kind inside the window. The whole history's
    first time (the summary's) is it when it falls inside; none when it falls after the
    window; when it falls before, the first inside is read from the client's events (on
    PostgreSQL a call's from the client's later call times in its row, `_FROM_LATER_CALLS`)."""
    inside = [f"cs.{column} < :until"] if scope.options.until is not None else []
    if scope.options.since is None:
        return f"CASE WHEN {' AND '.join(inside)} THEN cs.{column} END"
    inside.insert(0, f"cs.{column} >= :since")
    # SQLite looks the client up in `_returning_events`' table only here: joined, every
    # row of the window probed it
    if scope.sqlite:
        inside_later = f"(SELECT w.{column} FROM {RETURNING} w WHERE w.client_id = cs.client_id)"
    elif column in _FROM_LATER_CALLS:
        # PostgreSQL: the first of its later call times inside the window, from its row
        until = ":until" if scope.options.until is not None else "NULL"
        window = f"tstzmultirange(tstzrange(:since, {until}, '[)'))"
        inside_later = f"lower(cs.{_FROM_LATER_CALLS[column]} * {window})"
    else:
        inside_later = f"w.{column}"
    return (
        f"CASE WHEN {' AND '.join(inside)} THEN cs.{column}"
        f" WHEN {_returning(column)} THEN {inside_later} END"
    )


def _returning(column: str, row: str = "cs") -> str:
    """SQL: the summary row `row`'s first time of `column`'s kind is before the window
    and it may have more of that kind later: evidence of the kind inside the window is
    no later than the client's last of it (`last_call_at` for calls answered or not,
    `last_wecom_at` for WeCom adds confirmed or not, ...: revision 0009). A week at 1M
    probed the events of 32,000 clients with a WeCom add or push before it for 92."""
    return f"{row}.{column} < :since AND {row}.{_LAST[column]} >= :since"


#: The summary's latest time of the kind of each of `WINDOW_TIMES`.
_LAST = {
    "called_at": "last_call_at",
    "reached_at": "last_call_at",
    "wecom_at": "last_wecom_at",
    "wecom_confirmed_at": "last_wecom_at",
    "pushed_at": "last_pushed_at",
    "converted_at": "last_converted_at",
}


#: PostgreSQL's summary column of the later call times that hold each of the calls' window
#: times (`stages.LATER_CALLS`): a client called before the window and since its start has
#: its calls inside the window there, so its call events are never read.
_FROM_LATER_CALLS = dict(zip(("called_at", "reached_at"), stages.LATER_CALLS, strict=True))


#: The events that are evidence of each of `WINDOW_TIMES`' kinds.
_EVIDENCE = {
    "called_at": f"e.stage = '{funnel.EVENT_CALL}'",
    "reached_at": f"e.stage = '{funnel.EVENT_CALL}' AND e.value IN ({stages.REACHED_VALUES})",
    "wecom_at": f"e.stage = '{funnel.EVENT_WECOM}'",
    "wecom_confirmed_at": f"e.stage = '{funnel.EVENT_WECOM}' AND e.source = 'wecom'",
    "pushed_at": f"e.stage = '{funnel.EVENT_PUSHED}'",
    "converted_at": f"e.stage = '{funnel.EVENT_CONVERTED}'",
}


#: SQLite's temporary table of `_returning_events` (`materialize`).
RETURNING = "report_returning"


#: PostgreSQL's name, in a window's statement, of the clients first seen before the window
#: who may have evidence inside it (`source`).
CANDIDATES = "candidates"


def _joined(scope: Scope, rows: str = "client_stage") -> str:
    """On PostgreSQL with a `since`, the join of the first times inside the window (`w`) of
    the clients of `rows` (the summary, or the window's `CANDIDATES`) first seen before it
    who have evidence of such a kind inside it (`_returning_events`), joined as a
    subquery of the same statement. SQLite reads them from the table `materialize` wrote
    them to, a client at a time (`_windowed`)."""
    if scope.sqlite or scope.options.since is None:
        return ""
    return f" LEFT JOIN ({_returning_events(scope, rows)}) w ON w.client_id = cs.client_id"


def _returning_events(scope: Scope, rows: str = "client_stage") -> str:
    """SQL of the first time inside the window of each of `WINDOW_TIMES`' kinds, per client
    first seen before it who may have more of a kind later (`_returning`): for each kind,
    those clients' events of that kind dated inside the window (voided events excluded),
    read once and grouped. PostgreSQL reads no call here: a client's calls inside the
    window are in its row (`_windowed`).

    A subquery per client and kind probed `ix_event_member_stage` once for each: on
    PostgreSQL a week at 1M took 5.0 s that way against 2.5 s joined; on SQLite the
    week's 45,000 such clients cost 0.5-0.7 s CPU by subqueries, 0.2-0.25 s joined.
    Each kind's clients come from its index of the summary (revision 0005), then their
    events of the kind by `ix_event_member_stage` (SQLite: CROSS JOIN keeps that order;
    with every kind's events of each client, 21,526 clients and 0.27 s at 1M)."""
    bounds = ["e.occurred_at >= :since"]
    if scope.options.until is not None:
        bounds.append("e.occurred_at < :until")
    # PostgreSQL reads the calls' window times from the summary row (`_windowed`)
    read = [c for c in WINDOW_TIMES if scope.sqlite or c not in _FROM_LATER_CALLS]
    firsts = ", ".join(
        f"MIN(CASE WHEN {_EVIDENCE[column]} THEN e.occurred_at END) AS {column}" for column in read
    )
    columns = "e.id, e.client_id, e.stage, e.value, e.source, e.occurred_at"
    own = "e.campaign_id = b.campaign_id AND e.client_id = b.client_id AND e.stage = '{}'"

    def events(kind: str) -> str:
        if scope.sqlite:
            return f"CROSS JOIN event e ON {own.format(kind)}"
        # PostgreSQL: LATERAL, for the same order (joined, it hashed the clients and read
        # every event of the campaign, a parallel seq scan, already at 100k); OFFSET 0
        # keeps the subquery from being pulled up into that join again
        inside = " AND ".join(bounds)
        return (
            f"CROSS JOIN LATERAL (SELECT {columns} FROM event e"
            f" WHERE {own.format(kind)} AND {inside} OFFSET 0) e"
        )

    # PostgreSQL, reading the summary itself (a partial view): its candidates by their
    # span, which holds the window's start (`stages.span_holds`), not by a scan each
    spanning = (
        "" if scope.sqlite or rows != "client_stage" else f"{stages.span_holds('b', ':since')} AND "
    )
    # only the kinds some client had before the window (`_ranges`); none: nobody's events
    arms = " UNION ALL ".join(
        [
            f"SELECT {columns} FROM {rows} b {events(_KINDS[column])}"
            f" WHERE b.campaign_id = :cid AND {spanning}{_returning(column, 'b')}"
            f" AND {' AND '.join(bounds)}"
            for column in _ranges(scope).returning
            if scope.sqlite or column not in _FROM_LATER_CALLS
        ]
        or [f"SELECT {columns} FROM event e WHERE 1 = 0"]
    )
    return (
        f"SELECT e.client_id, {firsts} FROM ({arms}) e"
        " WHERE NOT EXISTS (SELECT 1 FROM event v WHERE v.voids_event_id = e.id)"
        " GROUP BY e.client_id"
    )


def _seen_before(row: str) -> str:
    """SQL: the summary row `row` has evidence of some kind dated before the window."""
    return " OR ".join(f"{row}.{column} < :since" for column in _EARLIEST)


def _returning_inside(scope: Scope) -> str:
    """SQL: the summary row `cs` was first seen before the window and may have evidence
    inside it: a first time of one kind inside it and of another before it, or more of a
    kind it had before it (`_returning_events`).

    When nobody was first seen before the window (`_ranges`: a window that opens the
    campaign), no row is. Otherwise, on SQLite each pair of kinds is a range of an index
    of the summary (revision 0005), of the one kind inside the window or of the other
    before it, a subquery each, the rows looked up by rowid (planned as one OR, it took
    another index and read every assigned client). On PostgreSQL every such client has an
    evidence span that holds the window's start (`stages.span_holds`), a stabbing query
    the span index answers (revision 0010's SP-GiST, revision 0015's GiST of the spans
    as points); the conditions are tested on those rows alone.
    A week at 10M: 232,931 index entries for 232,849 clients, where one parallel scan
    tested all 10.5M summary rows (and each kind's candidates took a scan of their own;
    by revision 0005's ranges and a table of the returning clients it had taken 22.8 s);
    with nothing before the window, a month 2.9 s -> 0.54 s."""
    until = scope.options.until is not None

    def inside(column: str) -> str:
        return f"{column} >= :since" + (f" AND {column} < :until" if until else "")

    ranges = _ranges(scope)
    if not (ranges.inside or ranges.before or ranges.returning):
        return "1 = 0"
    if not scope.sqlite:
        pairs = [f"{inside(f'cs.{k}')} AND ({_seen_before('cs')})" for k in _EARLIEST]
        returning = " OR ".join(_returning(column) for column in _EARLIEST)
        any_of = " OR ".join(f"({r})" for r in [*pairs, returning])
        return f"{stages.span_holds('cs', ':since')} AND ({any_of})"

    def others(kind: str, test: Callable[[str], str]) -> str:
        # `+` keeps SQLite to the index of the range the arm is for
        return " OR ".join(f"({test(f'+i.{k}')})" for k in _EARLIEST if k != kind)

    found = [
        f"SELECT rowid FROM client_stage i WHERE i.campaign_id = :cid AND {inside(f'i.{k}')}"
        f" AND ({others(k, lambda c: f'{c} < :since')})"
        for k in ranges.inside
    ]
    found += [
        f"SELECT rowid FROM client_stage i WHERE i.campaign_id = :cid AND i.{j} < :since"
        f" AND ({others(j, inside)})"
        for j in ranges.before
    ]
    found.append(
        f"SELECT i.rowid FROM {RETURNING} r CROSS JOIN client_stage i"
        " ON i.campaign_id = :cid AND i.client_id = r.client_id"
    )
    return f"cs.rowid IN ({' UNION ALL '.join(found)})"


#: Each kind's first time and the day histograms' stage first reached by it, or nearly
#: (a stage's first time is the earliest of its own and later stages').
_KIND_STAGES = {
    "called_at": funnel.CALLED,
    "wecom_at": tally.ADDED,
    "pushed_at": funnel.PUSHED,
    "converted_at": funnel.CONVERTED,
}


@dataclass(frozen=True)
class _Ranges:
    """The index ranges of the summary a window reads (`_ranges`)."""

    inside: list[str]  # the kinds whose first times are read by their range inside it
    before: list[str]  # ... by their range before it
    returning: list[str]  # the kinds some client had before it (`_returning_events`)


def _ranges(scope: Scope) -> _Ranges:
    """`_read_ranges`, read once per report (both `_returning_events` and
    `_returning_inside` ask for them)."""
    return scope.once(_read_ranges)


def _read_ranges(scope: Scope) -> _Ranges:
    """The kinds whose first times `_returning_inside` reads by their range inside the
    window, and those by their range before it, so that every pair of kinds (one inside,
    another before) is read by one of its two ranges, reading the fewest index entries:
    each range's size as the day histograms' cohort rows tell it (a stage the campaign
    does not have: unknown, taken as the most). A range is left out when nobody was first
    seen at its kind before the window (a stage's first time is never after its kind's),
    and a kind's events when nobody had it before. A week of a young campaign reads the
    kinds first seen before it but the calls; a month that opens it, nothing. A partial
    view, whose login does not read the tallies: every kind's events."""
    if scope.partial:
        return _Ranges([], [], list(_EARLIEST))
    known = ", ".join(f"'{stage}'" for stage in _KIND_STAGES.values())
    sizes: dict[str, tuple[int, int]] = {}
    for row in scope.execute(
        "SELECT stage, SUM(clients) FILTER (WHERE date < :first_day) AS before,"
        f" SUM(clients) FILTER (WHERE {days_inside(scope)}) AS inside FROM stage_dates"
        f" WHERE campaign_id = :cid AND dim = 'cohort' AND stage IN ({known}) GROUP BY stage"
    ):
        sizes[row.stage] = (int(row.before or 0), int(row.inside or 0))
    kept = {*scope.campaign.stages, tally.ADDED}
    most = (1 << 62, 1 << 62)
    size = {
        kind: sizes.get(stage, (0, 0)) if stage in kept else most
        for kind, stage in _KIND_STAGES.items()
    }
    best: tuple[int, list[str], list[str]] | None = None
    for chosen in itertools.product((False, True), repeat=len(_EARLIEST)):
        by_inside = [k for k, c in zip(_EARLIEST, chosen, strict=True) if c]
        # a kind read before the window pairs with every other kind not read inside it
        by_before = [j for j in _EARLIEST if any(k not in (j, *by_inside) for k in _EARLIEST)]
        cost = sum(size[k][1] for k in by_inside) + sum(size[j][0] for j in by_before)
        if best is None or cost < best[0]:
            best = (cost, by_inside, by_before)
    assert best is not None
    returning = [k for k in _EARLIEST if size[k][0]]
    return _Ranges(
        inside=[k for k in best[1] if any(j != k for j in returning)],
        before=[j for j in best[2] if j in returning],
        returning=returning,
    )


def _stored_days(scope: Scope) -> list[str]:
    """Per stage `i` of the campaign, SQL columns over the summary row `cs`: `sd{i}`, the
    summary's days to the stage when the client first reached it before the window's end
    (else NULL); and with a `since`, `b{i}`, whether evidence for it or a later stage is
    dated before the window (NULL counts as no).

    The days to a stage in the window are the summary's exactly when the client first
    reached it inside the window: no evidence for it or a later stage before the window
    (not `b{i}`) and some before its end. Only a client with such evidence before the
    window (`b{i}`) has them worked out again from the window's first times: for the
    others, no time is parsed (SQLite's `julianday` per client and stage was most of a
    window's cost)."""
    columns = []
    for i, stage in enumerate(scope.campaign.stages):
        own = [stages.TIME_COLUMNS[s] for s in scope.campaign.stages[i:]]
        days = f"cs.{stages.DAYS_COLUMNS[stage]}"
        if scope.options.until is not None:
            inside = " OR ".join(f"cs.{c} < :until" for c in own)
            days = f"CASE WHEN {inside} THEN {days} END"
        columns.append(f"{days} AS sd{i}")
        if scope.options.since is not None:
            columns.append(f"({' OR '.join(f'cs.{c} < :since' for c in own)}) AS b{i}")
    return columns


def keyed(scope: Scope, by: str | None) -> tuple[str, str]:
    """(FROM clause with `s`, key expression) for breakdown `by`."""
    rows = f"({source(scope)}) s"
    return rows, f"s.{KEYS[by]}" if by is not None else "''"


def counted(scope: Scope) -> tuple[str, str]:
    """(FROM clause, key expression) a window's counts read: `report_days` once materialized."""
    if scope.materialized:  # no breakdown: a constant key (PostgreSQL groups nothing by s.k)
        return "report_days s", "s.k" if scope.funnel_by is not None else "''"
    # the trend's weeks are not a column of the summary (`week_histograms`)
    return keyed(scope, scope.funnel_by if scope.funnel_by in KEYS else None)


def materialize(scope: Scope) -> None:
    """A window's clients, their keys and what counts and medians read, worked out once
    from the events for both into `report_days`.

    From the day histograms (`scope.by_dates`), only the clients first seen before the
    window who may have evidence inside it, keyed as the tallies key them: what they
    count there beyond what the histograms count of them (`funnels`, `medians`). A
    month that opens a campaign then reads nobody, a week a few thousand clients, not
    the hundreds of thousands first seen in it. In a partial view, every client the
    login may read."""
    if scope.by_dates and scope.options.since is None:
        return  # nobody was seen before the window: the histograms count every client
    by = scope.funnel_by
    # SQLite keeps the rows a co-routine (LIMIT) whose days are worked out once, not once
    # for each mention in their rounding
    fence = " LIMIT -1" if scope.sqlite else ""
    returning = scope.by_dates
    rows = f"({source(scope, returning=returning)}{fence}) s"
    if by is None:
        key = "''"
    elif scope.by_dates:  # as the tallies key their groups
        key = tally.DIMENSIONS[by]
    else:
        key = f"s.{KEYS[by]}"
    names = [
        "assigned_at",
        "stages_reached",
        "skipped_stage",
        *scope.days,
        "wecom_at",
        "wecom_confirmed_at",
        "reactivated_at",
        "dnc",
        "do_not_call",
    ]
    if returning:
        names += [f"b{i}" for i in range(len(scope.campaign.stages))]
        names += [f"h_{c}" for c in OWN]
    # a stage's days as the whole days medians count, rounded down once here rather than
    # by each histogram's GROUP BY
    columns = ", ".join(
        f"{tally.floor_days(f's.{c}', sqlite=scope.sqlite)} AS {c}" if c in scope.days else f"s.{c}"
        for c in names
    )
    if scope.sqlite and scope.options.since is not None:
        scope.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {RETURNING}")
        scope.execute(f"CREATE TEMPORARY TABLE {RETURNING} AS {_returning_events(scope)}")
        # each client first seen before the window is looked up here (`_windowed`)
        scope.conn.exec_driver_sql(f"CREATE INDEX {RETURNING}_client ON {RETURNING} (client_id)")
    scope.conn.exec_driver_sql("DROP TABLE IF EXISTS report_days")
    scope.execute(f"CREATE TEMPORARY TABLE report_days AS SELECT {key} AS k, {columns} FROM {rows}")


def days_inside(scope: Scope) -> str:
    """SQL: a `stage_dates` row's day falls inside the window."""
    bounds = []
    if scope.options.since is not None:
        bounds.append("date >= :first_day")
    if scope.options.until is not None:
        bounds.append("date <= :last_day")
    return " AND ".join(bounds)


def week_histograms(scope: Scope) -> str:
    """SQL of the trend's histograms, rows of (k: the day number of a week's Monday, stage,
    whole days, clients): per stage the assigned clients who first reached it that week,
    and the WeCom adds confirmed that week (stage `tally.CONFIRMED`, day 0). The `week`
    rows of `stage_days`; in a partial view, the same counted from the summary rows the
    login may read (the tallies are campaign-wide)."""
    if not scope.partial:
        return (
            "SELECT key AS k, stage, day, clients AS n FROM stage_days"
            f" WHERE campaign_id = :cid AND dim = '{tally.WEEK}'"
        )
    found = stages.tally_funnel(scope.campaign, sqlite=scope.sqlite)
    arms = []
    for stage, days in found.days.items():
        week = tally.monday_sql(found.first_time[stage], found.timezone, sqlite=scope.sqlite)
        day = tally.floor_days(days, sqlite=scope.sqlite)
        arms.append(
            f"SELECT {week} AS k, '{stage}' AS stage, {day} AS day, COUNT(*) AS n"
            f" FROM client_stage cs WHERE {scope.in_campaign} AND {ASSIGNED} AND {days} IS NOT NULL"
            " GROUP BY 1, 3"
        )
    confirmed = tally.monday_sql("wecom_confirmed_at", found.timezone, sqlite=scope.sqlite)
    arms.append(
        f"SELECT {confirmed}, '{tally.CONFIRMED}', 0, COUNT(*) FROM client_stage cs"
        f" WHERE {scope.in_campaign} AND {ASSIGNED} AND wecom_confirmed_at IS NOT NULL GROUP BY 1"
    )
    return " UNION ALL ".join(arms)

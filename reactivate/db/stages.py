"""The per-client stage summary (`client_stage`), rebuilt from members and events.

Set-based: one DELETE and one INSERT ... SELECT ... GROUP BY per refresh, run inside
the transaction that wrote the events, so the summary can never disagree with them.
A void event cancels the event it names; voided events are not evidence.

Besides each stage's first time, a row carries what the report would otherwise work out
per client on every run, under the campaign's own stage list (see `funnel_columns`): how
many stages the client counts at, whether one was skipped, and the days from assignment
to first reaching each stage. A report is then one GROUP BY, and medians read an index.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reactivate.db import bulk, dialect, tally
from reactivate.db.reads import text
from reactivate.rules import funnel
from reactivate.rules.campaign import Campaign, from_toml

if TYPE_CHECKING:
    import polars as pl
    from sqlalchemy import Connection

#: SQL list of the call dispositions that reached the client (`value IN (...)`).
REACHED_VALUES = ", ".join(f"'{d}'" for d in sorted(funnel.REACHED_DISPOSITIONS))

#: The summary's column holding the first time of each funnel stage's own evidence.
TIME_COLUMNS = {
    funnel.CALLED: "called_at",
    funnel.REACHED: "reached_at",
    funnel.WECOM_ADDED: "wecom_at",
    funnel.PUSHED: "pushed_at",
    funnel.CONVERTED: "converted_at",
}
#: The summary's column holding the days from assignment to first reaching each stage.
DAYS_COLUMNS = {
    funnel.CALLED: "called_days",
    funnel.REACHED: "reached_days",
    funnel.WECOM_ADDED: "wecom_days",
    funnel.PUSHED: "pushed_days",
    funnel.CONVERTED: "converted_days",
}
#: The first times of evidence of each kind, and the latest times of each kind, that
#: bound a client's evidence span (`span_point`).
SPAN_FIRSTS = ("called_at", "wecom_at", "pushed_at", "converted_at")
SPAN_LASTS = ("last_call_at", "last_wecom_at", "last_pushed_at", "last_converted_at")


def _microseconds(moment: str) -> str:
    """SQL (PostgreSQL): the microseconds from 1970 to the time `moment`, exactly, as a
    float (whole numbers below 2^53, so exact for any time within 285 years of 1970).
    Through an interval and `extract`'s numeric: `date_part` of a time with a zone may
    not be in an index (it is not immutable), of an interval it may; and in seconds, a
    float would round two times a microsecond apart alike."""
    return (
        f"CAST(extract(epoch FROM ({moment}) - TIMESTAMPTZ '1970-01-01 00:00:00+00')"
        " * 1000000 AS DOUBLE PRECISION)"
    )


def span_point(row: str) -> str:
    """SQL (PostgreSQL): the summary row `row`'s evidence span, from its earliest first
    call, WeCom add, push or conversion to the latest of those and of its last call,
    WeCom add, push and conversion, as a point: its start's microseconds by its end's
    (`_microseconds`); NULL without evidence. A date window finds the clients whose
    evidence began before it and goes on into it as those whose span holds its start
    (`span_holds`). The
    expression of PostgreSQL's `ix_client_stage_span` (revision 0015; the planner matches
    only this very expression). A GiST index of points is built by one sort (their
    operator class has sort support): revision 0010's SP-GiST index of the spans had no
    sorted build, so a whole rebuild inserted every row into it one by one: at 10M
    members 160 s, the points' index 76 s (benchmarks/README.md)."""
    firsts = ", ".join(f"{row}.{c}" for c in SPAN_FIRSTS)
    lasts = ", ".join(f"{row}.{c}" for c in SPAN_LASTS)
    start = _microseconds(f"LEAST({firsts})")
    end = _microseconds(f"GREATEST({firsts}, {lasts})")
    return f"point({start}, {end})"


def span_holds(row: str, moment: str) -> str:
    """SQL (PostgreSQL): the summary row `row`'s evidence span holds the time `moment`
    (a stabbing query), as its point (`span_point`) lies in the quadrant of the points
    that start no later than the moment and end no earlier: the same rows as revision
    0010's range holding the moment, the microseconds being exact. Only the points: with
    the spans' own test beside it, the planner multiplied the two guesses into one row for
    a week's candidates and joined them by a nested loop (3.2 s against 0.3 s at 1M)."""
    at = _microseconds(f"CAST({moment} AS TIMESTAMPTZ)")
    return f"{span_point(row)} <@ box(point('-Infinity', {at}), point({at}, 'Infinity'))"


#: Who the funnel counts (`tally.assigned`).
ASSIGNED = tally.assigned()

_FAR = "'9999-12-31'"
#: The event stages the summary reads besides calls.
_OTHER_STAGES = ", ".join(
    f"'{stage}'"
    for stage in (
        funnel.EVENT_WECOM,
        funnel.EVENT_PUSHED,
        funnel.EVENT_CONVERTED,
        funnel.EVENT_REACTIVATED,
        funnel.EVENT_ATTEMPTS,
        funnel.EVENT_CALLBACK,
    )
)
_COHORTS = "stage_cohort"

# The facts per member, from its events; the outer SELECT derives the funnel columns.
# Each client's events are aggregated before they meet the member (one grouping key, no
# sort on PostgreSQL: a hash aggregate). The calls apart, in one sort of the client's call
# times: a dense rank numbers the distinct times, so the highest is the count of calls and
# the rank of the first answered one says which call reached them (`reached_call`),
# rather than COUNT(DISTINCT ...), which rules out hashing, and a correlated subquery per
# reached client (benchmarks/README.md, `bench_report_pg.py`). PostgreSQL sorts the client
# ids by code point (`by_code`): equal ids are equal either way, and comparing bytes
# sorted them twice as fast as the database's collation.
# FILTER rather than CASE inside each aggregate: an event skips the aggregates it is no
# evidence for.
_SUMMARY_SQL = f"""
INSERT INTO client_stage (
    campaign_id, client_id, advisor_code, assigned_at, control, dnc,
    called_at, reached_at, wecom_at, wecom_confirmed_at, pushed_at, converted_at,
    reactivated_at, calls, attempts, last_call_at, callback_at, do_not_call,
    branch, risk, asset_band, cohort, reached_call,
    last_wecom_at, last_pushed_at, last_converted_at, {{funnel_names}})
SELECT
    facts.campaign_id, facts.client_id, advisor_code, facts.assigned_at, control, dnc,
    called_at, reached_at, wecom_at, wecom_confirmed_at, pushed_at, converted_at,
    reactivated_at, calls,
    -- the larger of the highest count reported and the number of distinct calls
    CASE WHEN reported < calls THEN calls ELSE reported END,
    last_call_at, callback_at, do_not_call,
    c.branch, c.risk, {{asset_band}}, {{cohort}}, reached_call,
    last_wecom_at, last_pushed_at, last_converted_at,
    {{funnel_values}}
FROM (
SELECT
    m.campaign_id, m.client_id, m.advisor_code, m.assigned_at, m.control, m.dnc,
    {{assigned_day}}
    k.called_at, k.reached_at, o.wecom_at, o.wecom_confirmed_at, o.pushed_at,
    o.converted_at, o.reactivated_at, COALESCE(k.calls, 0) AS calls,
    COALESCE(o.reported, 0) AS reported, k.last_call_at, o.callback_at,
    COALESCE(k.do_not_call, 0) = 1 AS do_not_call, k.reached_call,
    o.last_wecom_at, o.last_pushed_at, o.last_converted_at {{later_facts}}
FROM member m
LEFT JOIN (
  -- per client, its calls: when, at how many distinct times, at which of them first
  -- answered (their times numbered in order, equal times alike)
  SELECT client_id, MAX(nth) AS calls, MIN(occurred_at) AS called_at,
         MAX(occurred_at) AS last_call_at,
         MIN(occurred_at) FILTER (WHERE value IN ({REACHED_VALUES})) AS reached_at,
         MIN(nth) FILTER (WHERE value IN ({REACHED_VALUES})) AS reached_call,
         MAX(CASE WHEN value = '{funnel.DO_NOT_CALL}' THEN 1 ELSE 0 END) AS do_not_call
         {{later_calls}}
  FROM (
    SELECT e.client_id{{by_code}} AS client_id, e.occurred_at, e.value,
           dense_rank() OVER (PARTITION BY e.client_id{{by_code}} ORDER BY e.occurred_at) AS nth
    FROM event e
    WHERE e.campaign_id = :campaign_id AND e.stage = '{funnel.EVENT_CALL}'
      {{unvoided}} {{only_events}}
  ) t
  GROUP BY client_id
) k ON k.client_id = m.client_id
LEFT JOIN (
  -- per client, the evidence of its other stages
  SELECT
    e.client_id{{by_code}} AS client_id,
    MIN(e.occurred_at) FILTER (WHERE e.stage = '{funnel.EVENT_WECOM}') AS wecom_at,
    MIN(e.occurred_at) FILTER (WHERE e.stage = '{funnel.EVENT_WECOM}' AND e.source = 'wecom')
      AS wecom_confirmed_at,
    MIN(e.occurred_at) FILTER (WHERE e.stage = '{funnel.EVENT_PUSHED}') AS pushed_at,
    MIN(e.occurred_at) FILTER (WHERE e.stage = '{funnel.EVENT_CONVERTED}') AS converted_at,
    MIN(e.occurred_at) FILTER (WHERE e.stage = '{funnel.EVENT_REACTIVATED}') AS reactivated_at,
    MAX(CAST(e.value AS INTEGER)) FILTER (WHERE e.stage = '{funnel.EVENT_ATTEMPTS}') AS reported,
    MAX(e.occurred_at) FILTER (WHERE e.stage = '{funnel.EVENT_CALLBACK}') AS callback_at,
    MAX(e.occurred_at) FILTER (WHERE e.stage = '{funnel.EVENT_WECOM}') AS last_wecom_at,
    MAX(e.occurred_at) FILTER (WHERE e.stage = '{funnel.EVENT_PUSHED}') AS last_pushed_at,
    MAX(e.occurred_at) FILTER (WHERE e.stage = '{funnel.EVENT_CONVERTED}') AS last_converted_at
  FROM event e
  WHERE e.campaign_id = :campaign_id AND e.stage IN ({_OTHER_STAGES})
    {{unvoided}} {{only_events}}
  GROUP BY e.client_id{{by_code}}
) o ON o.client_id = m.client_id
WHERE m.campaign_id = :campaign_id {{only}}
) facts
JOIN client c ON c.client_id = facts.client_id
{{cohort_join}}"""

#: PostgreSQL's summary columns (revision 0012, not in `models`: SQLite has none) of a
#: client's call times after its first, and of those the answered ones, each a
#: `tstzmultirange` of single instants (NULL when the client was called at one time only,
#: or answered at none of the later ones). A date window takes the first call inside it of
#: a client called before it from its row (`report.source._windowed`): a week at 10M
#: probed the call index for 125,000 such clients.
LATER_CALLS = ("later_calls", "later_reached")
_INSTANT = "tstzrange(occurred_at, occurred_at, '[]')"
_LATER_CALLS = (
    f", range_agg({_INSTANT}) FILTER (WHERE nth > 1) AS later_calls,"
    f" range_agg({_INSTANT}) FILTER (WHERE nth > 1 AND value IN ({REACHED_VALUES}))"
    " AS later_reached"
)

#: The columns `_SUMMARY_SQL` names before the campaign's funnel columns (read from its
#: text, which PostgreSQL's refresh function is made of, kept as it is: its name is a digest).
_SUMMARY_COLUMNS = tuple(
    name.strip()
    for name in _SUMMARY_SQL.split("(", 1)[1].split("{funnel_names}")[0].split(",")
    if name.strip()
)
#: The summary's key, and every column of it (`models.CLIENT_STAGES`, which a test holds
#: equal; on PostgreSQL `LATER_CALLS` besides): what `_SUMMARY_SQL` names and the funnel
#: columns. Spelled here so that a per-client refresh need not import the tables' module.
SUMMARY_KEY = ("campaign_id", "client_id")
SUMMARY_COLUMNS = (*_SUMMARY_COLUMNS, "stages_reached", "skipped_stage", *DAYS_COLUMNS.values())
# `IS NOT NULL` though implied: PostgreSQL then hashes the few void events (a range of
# `ix_event_voids`) instead of merging every event with the whole index in id order.
_UNVOIDED = (
    "AND NOT EXISTS (SELECT 1 FROM event v"
    " WHERE v.voids_event_id = e.id AND v.voids_event_id IS NOT NULL)"
)
#: The temporary table of the clients a refresh rewrites (column client_id).
TOUCHED = "touched_client"
_TOUCHED = TOUCHED
_ONLY_TOUCHED = f"AND {{alias}}client_id IN (SELECT client_id FROM {TOUCHED})"


def funnel_columns(
    stages: Sequence[str], *, sqlite: bool, assigned_day: str = "julianday(assigned_at)"
) -> dict[str, str]:
    """SQL for the funnel columns of a row that has `client_stage`'s time columns.

    Under the campaign's `stages` (in funnel order): `stages_reached`, how many stages the
    client counts at (a stage counts when it or any later stage has evidence, so this is
    the furthest stage with evidence, 1-based; 0 for none); `skipped_stage`, later
    evidence without an earlier stage's own; and per stage its days column, the days
    from assignment to the earliest evidence for it or a later stage (NULL for members
    outside the funnel). `refresh` stores these; a windowed report computes them from
    the window's times. On SQLite, `assigned_day` is the SQL of the assignment's Julian
    day (a row that has it worked out once passes its column).
    """
    times = [TIME_COLUMNS[stage] for stage in stages]
    furthest = " ".join(
        f"WHEN {times[i]} IS NOT NULL THEN {i + 1}" for i in range(len(times) - 1, -1, -1)
    )
    skipped = " OR ".join(
        f"({times[i]} IS NULL AND {_first_known(times[i + 1 :])} IS NOT NULL)"
        for i in range(len(times) - 1)
    )
    columns = {
        "stages_reached": f"CASE {furthest} ELSE 0 END" if times else "0",
        "skipped_stage": f"({skipped})" if skipped else "(1 = 0)",
    }
    for i, stage in enumerate(stages):
        first = _earliest(times[i:], sqlite=sqlite)
        if sqlite:
            days = f"julianday({first}) - {assigned_day}"
        else:
            days = (
                f"CAST(EXTRACT(EPOCH FROM ({first} - assigned_at)) AS DOUBLE PRECISION) / 86400.0"
            )
        columns[DAYS_COLUMNS[stage]] = f"CASE WHEN {ASSIGNED} THEN {days} END"
    return columns


def tally_funnel(campaign: Campaign, *, sqlite: bool) -> tally.Funnel:
    """What the tallies need of `campaign`'s stages (`db.tally.Funnel`)."""
    times = [TIME_COLUMNS[stage] for stage in campaign.stages]
    return tally.Funnel(
        days={stage: DAYS_COLUMNS[stage] for stage in campaign.stages},
        first_time={
            stage: _earliest(times[i:], sqlite=sqlite) for i, stage in enumerate(campaign.stages)
        },
        timezone=campaign.timezone,
        times={stage: TIME_COLUMNS[stage] for stage in campaign.stages},
    )


def _first_known(columns: Sequence[str]) -> str:
    """Any non-null of `columns` (SQLite's COALESCE wants two or more)."""
    return columns[0] if len(columns) == 1 else f"COALESCE({', '.join(columns)})"


def _earliest(columns: Sequence[str], *, sqlite: bool) -> str:
    """The earliest non-null of `columns` (SQLite's MIN(a, b) is NULL when any is NULL)."""
    if len(columns) == 1:
        return columns[0]
    if sqlite:
        inner = ", ".join(f"COALESCE({c}, {_FAR})" for c in columns)
        return f"NULLIF(MIN({inner}), {_FAR})"
    return f"LEAST({', '.join(columns)})"


def registered_campaign(conn: Connection, campaign_id: int) -> Campaign:
    """The registered campaign's definition (stages, time zone, asset bands)."""
    definition = conn.execute(
        text("SELECT definition FROM campaign WHERE id = :cid"), {"cid": campaign_id}
    ).scalar_one()
    return from_toml(definition, source=f"campaign {campaign_id}")  # validated when registered


def asset_band_sql(assets: str, edges: Sequence[float]) -> str:
    """SQL of the band label (`rules.funnel.asset_bands`) of the amount `assets`."""
    bands = funnel.asset_bands(tuple(edges))
    cases = " ".join(
        f"WHEN {assets} < {edge!r} THEN '{bands(edges[i - 1] if i else float('-inf'))}'"
        for i, edge in enumerate(edges)
    )
    return f"CASE WHEN {assets} IS NULL THEN 'unknown' {cases} ELSE '{bands(edges[-1])}' END"


def asset_band_expr(assets: pl.Expr, edges: Sequence[float]) -> pl.Expr:
    """`asset_band_sql` as a polars expression: the same labels, the same comparisons."""
    import polars as pl

    bands = funnel.asset_bands(tuple(edges))
    band: Any = pl.when(assets.is_null()).then(pl.lit("unknown"))
    for i, edge in enumerate(edges):
        band = band.when(assets < edge).then(pl.lit(bands(edges[i - 1] if i else float("-inf"))))
    labelled: pl.Expr = band.otherwise(pl.lit(bands(edges[-1])))
    return labelled


#: The columns of a table of new members' kinds (`add_new_members`): what tells them apart
#: in the tallies, and how many of each kind (`sign`).
NEW_MEMBER_KINDS = {
    "dnc": "INTEGER",
    "branch": "TEXT",
    "risk": "INTEGER",
    "asset_band": "TEXT",
    "sign": "BIGINT",
}


def _monday(campaign: Campaign, moment: str) -> str:
    """PostgreSQL: SQL of the Monday (YYYY-MM-DD) of the week of `moment`, in the
    campaign's time zone: the summary's cohort of a member assigned at `moment`."""
    return f"to_char(date_trunc('week', {moment} AT TIME ZONE '{campaign.timezone}'), 'YYYY-MM-DD')"


def cohorts_sql(campaign: Campaign, only: str) -> list[str]:
    """PostgreSQL: the statements that fill temporary table `stage_cohort` with each
    assignment time of the members `only` names -> Monday of its week, in the campaign's
    time zone (parameter :campaign_id)."""
    monday = _monday(campaign, "assigned_at")
    return [
        f"DROP TABLE IF EXISTS {_COHORTS}",
        f"CREATE TEMPORARY TABLE {_COHORTS} AS SELECT DISTINCT assigned_at AS moment,"
        f" {monday} AS monday FROM member"
        f" WHERE campaign_id = :campaign_id AND assigned_at IS NOT NULL {only}",
        # its few rows known to the planner, which otherwise guesses 1,200 and sorts the
        # whole summary by assignment time to merge them in
        f"ANALYZE {_COHORTS}",
    ]


def _stage_cohorts(conn: Connection, campaign_id: int, only: str, campaign: Campaign) -> None:
    """Temporary table `stage_cohort`: each assignment time of the members being rebuilt ->
    Monday of its week, in the campaign's time zone.

    SQLite knows no time zones: there assignment times, which are few (one per assign
    run), are mapped in Python.
    """
    if conn.dialect.name == "postgresql":
        for statement in cohorts_sql(campaign, only):
            conn.execute(text(statement), {"campaign_id": campaign_id})
        return
    stored = conn.execute(
        text(
            "SELECT DISTINCT assigned_at FROM member"
            f" WHERE campaign_id = :cid AND assigned_at IS NOT NULL {only}"
        ),
        {"cid": campaign_id},
    ).scalars()
    rows = []
    for value in stored:
        moment = dt.datetime.fromisoformat(value)  # SQLite hands the stored UTC text over
        day = moment.replace(tzinfo=moment.tzinfo or dt.UTC).astimezone(campaign.tz).date()
        rows.append((value, (day - dt.timedelta(days=day.weekday())).isoformat()))
    bulk.stage(conn, _COHORTS, {"moment": "TEXT PRIMARY KEY", "monday": "TEXT"}, rows)


def refresh(conn: Connection, campaign_id: int, client_ids: Iterable[str] | None = None) -> None:
    """Rebuild the summary rows of `client_ids` (all of the campaign's members when None)."""
    if client_ids is None:
        _rebuild(conn, campaign_id, only_touched=False)
        return
    touched = bulk.stage(
        conn, _TOUCHED, {"client_id": "TEXT PRIMARY KEY"}, ((c,) for c in set(client_ids))
    )
    _rebuild(conn, campaign_id, only_touched=True, touched=touched)
    conn.exec_driver_sql(f"DROP TABLE {_TOUCHED}")


#: The client's columns a summary row keeps as breakdown keys (`asset_band` from `assets`).
CLIENT_KEYS = ("branch", "risk", "assets")
_REKEYED = "rekeyed_client"


def note_rekeyed(conn: Connection, staged: str) -> bool:
    """Before clients are rewritten from table `staged` (their new columns), note in a
    temporary table those whose breakdown keys change; whether there are any."""
    changed = " OR ".join(dialect.is_distinct(conn, f"c.{k}", f"s.{k}") for k in CLIENT_KEYS)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_REKEYED}")
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {_REKEYED} AS SELECT s.client_id FROM {staged} s"
        f" JOIN client c ON c.client_id = s.client_id WHERE {changed}"
    )
    return conn.exec_driver_sql(f"SELECT 1 FROM {_REKEYED} LIMIT 1").first() is not None


def refresh_rekeyed(conn: Connection, any_rekeyed: bool) -> None:
    """After the clients `note_rekeyed` noted were rewritten: their summary rows, in every
    campaign they are members of."""
    if any_rekeyed:
        select_ids = f"SELECT client_id FROM {_REKEYED}"
        campaigns = conn.exec_driver_sql(
            f"SELECT DISTINCT campaign_id FROM member WHERE client_id IN ({select_ids})"
        ).scalars()
        for campaign_id in list(campaigns):
            refresh_selected(conn, int(campaign_id), select_ids, {})
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_REKEYED}")


def refresh_selected(
    conn: Connection, campaign_id: int, select_ids: str, params: Mapping[str, Any]
) -> None:
    """Rebuild the summary rows of the clients `select_ids` (SQL: one column of client ids,
    repeats allowed) names, without bringing the ids into Python."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_TOUCHED}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {_TOUCHED} (client_id TEXT PRIMARY KEY)")
    touched = conn.execute(
        # in key order: 824k ids went into the key 3x faster on PostgreSQL (5.2 s, not 16.1 s)
        text(
            f"INSERT INTO {_TOUCHED} (client_id)"
            f" SELECT DISTINCT client_id FROM ({select_ids}) s ORDER BY client_id"
        ),
        params,
    ).rowcount
    if touched:
        _rebuild(conn, campaign_id, only_touched=True, touched=touched)
    conn.exec_driver_sql(f"DROP TABLE {_TOUCHED}")


def _rebuild(conn: Connection, campaign_id: int, *, only_touched: bool, touched: int = 0) -> None:
    only = _ONLY_TOUCHED if only_touched else ""
    # Most databases hold no void event at all: then the per-event probe for one is skipped.
    any_void = conn.execute(
        text("SELECT 1 FROM event WHERE voids_event_id IS NOT NULL LIMIT 1")
    ).first()
    params = {"campaign_id": campaign_id}
    sqlite = conn.dialect.name == "sqlite"
    campaign = registered_campaign(conn, campaign_id)
    # The tallies change by the touched rows' old and new copies (twice their number), or
    # are counted anew from every row: whichever reads fewer rows (a load, an assignment,
    # the upload of every advisor's workbook touch most of a campaign).
    by_delta = only_touched and 2 * touched < tally.members(conn, campaign_id)
    if by_delta and not sqlite:
        # the statements the database's refresh function runs for an advisor (`access`)
        few = {**params, "cid": campaign_id, "no_time": tally.NO_TIME}
        for statement in few_clients_sql(campaign, unvoided=any_void is not None):
            conn.execute(text(statement), few)
        return
    with dialect.work_mem(conn, REBUILD_WORK_MEM):
        _rebuild_set(conn, campaign_id, campaign, only, any_void is not None, by_delta=by_delta)


#: Memory per sort or hash of a rebuild of most of a campaign on PostgreSQL (default 4 MB):
#: at 1M members its sort of the call times takes 150 MB, its per-client hashes 60-200 MB.
REBUILD_WORK_MEM = "256MB"
#: What a whole campaign's tallies (`tally.campaign_sql`) run with on PostgreSQL. Without
#: JIT: it compiled their expressions for 1.6 s and 3.8 s at 1M, and they took 1.1 s
#: longer with it (the summary's INSERT keeps it). Hash tables of up to 8 x work_mem
#: (the default 2x): the planner hashes grouping sets only while the hash tables it
#: guesses fit, and it guesses each set's groups from the rows (of a materialized WITH
#: it has no statistics), far above the groups found (4.8M per stage at 10M members),
#: so at 10M it sorted four of the five breakdowns in each stage's pass of `stage_dates`
#: and two of `stage_tally`'s: 156 s and 39 s, hashed 106 s and 19 s (benchmarks/
#: README.md). The price is the server's memory: `stage_dates`' eight hash tables held
#: about 1.4 GB at 10M (0.3 GB at 1M), where its sorts and hash tables had held about
#: 0.55 GB. A table that outgrows its memory spills to disk in batches.
TALLY_SETTINGS = {"jit": "off", "hash_mem_multiplier": "8"}
#: The part of a table's rows a rebuild must rewrite for its indexes to be built anew
#: after it rather than kept up row by row (`bulk.indexes_built_after`).
REBUILT_SHARE = 0.5


def _rebuild_set(
    conn: Connection,
    campaign_id: int,
    campaign: Campaign,
    only: str,
    any_void: bool,
    *,
    by_delta: bool,
) -> None:
    """`_rebuild` of many clients: the summary by one INSERT, the tallies counted anew
    (or, on SQLite, moved by the rows' old and new copies: `by_delta`)."""
    params = {"campaign_id": campaign_id}
    sqlite = conn.dialect.name == "sqlite"
    only_touched = bool(only)
    _stage_cohorts(conn, campaign_id, only.format(alias=""), campaign)
    funnel_tallied = tally_funnel(campaign, sqlite=sqlite)
    if not sqlite:
        _rebuild_postgresql(conn, campaign_id, campaign, only, any_void, funnel_tallied)
        return
    # Rewriting a whole campaign, SQLite builds the summary's indexes anew by one sort
    # many times faster than it keeps them up to date row by row (8x at 1M members).
    indexes: list[Any] = []  # the summary's, while they are dropped
    if not only_touched:
        from reactivate.db.models import CLIENT_STAGES

        indexes = list(CLIENT_STAGES.indexes)
        # the whole campaign's events, members and summary pass through the page cache
        bulk.sqlite_bulk_cache(conn)
        for index in indexes:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index.name}")
    if by_delta:
        tally.start_delta(conn, campaign_id, _TOUCHED)
    else:
        tally.clear(conn, campaign_id)
    # A few clients (PostgreSQL's returned in `_rebuild`): their rows rewritten in
    # place, each keeping its rowid, so the primary key's index is not touched; deleted
    # and inserted anew, each row dirtied a page of that index and of the table's end
    # besides its own (an advisor's sheet: 1,249 of the commit's 5,422 pages).
    in_place = by_delta
    gone = (
        " AND NOT EXISTS (SELECT 1 FROM member m WHERE m.campaign_id = :campaign_id"
        " AND m.client_id = client_stage.client_id)"
    )
    conn.execute(
        text(
            f"DELETE FROM client_stage WHERE campaign_id = :campaign_id {only.format(alias='')}"
            + (gone if in_place else "")
        ),
        params,
    )
    summary = _summary_sql(campaign, sqlite=sqlite, unvoided=any_void, only=only, in_place=in_place)
    conn.execute(text(summary), params)
    conn.exec_driver_sql(f"DROP TABLE {_COHORTS}")
    for index in indexes:
        index.create(conn)
    if by_delta:
        tally.finish_delta(conn, campaign_id, _TOUCHED, funnel_tallied)
    else:
        tally.add_campaign(conn, campaign_id, funnel_tallied)


#: The tables a rebuild writes, each with a foreign key to `campaign` (and the summary's to `client`).
WRITTEN = ("client_stage", "stage_tally", "stage_days", "stage_dates")


def _rebuild_postgresql(
    conn: Connection,
    campaign_id: int,
    campaign: Campaign,
    only: str,
    unvoided: bool,
    funnel_tallied: tally.Funnel,
) -> None:
    """PostgreSQL's `_rebuild_set` (temporary table `stage_cohort` filled): the summary rows
    of the members `only` names replaced, the tallies counted anew.

    The rows are written with no foreign-key trigger per row
    (`bulk.foreign_keys_known_to_hold`, for the tallies too): every row comes from a
    `member` row, which holds both keys (campaign, client), read in this transaction under
    the campaign's lock, and clients are never deleted (a purge rewrites them). At 1M
    members the INSERT spent 20.7 s of 63 s in its two keys' triggers. How many rows come
    is told by the old ones deleted (a member has its row from its load on).

    For most of the table's rows (a whole campaign), the summary's indexes and the
    tallies' keys are dropped and built again after, each by one sort
    (`bulk.indexes_built_after`), rather than kept up row by row: past a million rows
    they no longer fit the server's buffers (128 MB by default), and every row's entries
    read, dirtied and wrote back a page of each at random, with its WAL flushed first and
    a full image of it after every checkpoint (1M members: the INSERT 48.6 s with its
    five indexes, 9.9 s without and 19.0 s to build them; the new tallies' dates 28.4 s
    into their key, benchmarks/README.md). The price: the tables are locked (ACCESS
    EXCLUSIVE) until the transaction ends, so a report waits for the rebuild's commit.
    Measured and not kept (benchmarks/README.md): the new rows worked out first by
    CREATE TABLE AS, whose SELECT may run on parallel workers, then moved in (no faster
    on two cores).
    """
    params = {"campaign_id": campaign_id}
    # the summary locked before the tallies' dates: a writer of another campaign writes
    # its summary rows before its tallies, so it waits at the summary, holding no table
    # this rebuild is about to lock
    tallied = tally.clear(conn, campaign_id)
    rows = conn.execute(
        text(f"DELETE FROM client_stage WHERE campaign_id = :campaign_id {only.format(alias='')}"),
        params,
    ).rowcount
    with (
        bulk.foreign_keys_known_to_hold(conn, WRITTEN, rows),
        dialect.settings(conn, {"maintenance_work_mem": REBUILD_WORK_MEM}),
    ):
        with bulk.indexes_built_after(
            conn, ["client_stage"], rows, keys=True, partial=True, share=REBUILT_SHARE
        ):
            conn.execute(
                text(_summary_sql(campaign, sqlite=False, unvoided=unvoided, only=only)), params
            )
        conn.exec_driver_sql(f"DROP TABLE {_COHORTS}")
        with contextlib.ExitStack() as keys_after:
            keys_after.enter_context(dialect.settings(conn, TALLY_SETTINGS))
            for table in ("stage_days", "stage_dates"):  # the two that grow with the campaign
                keys_after.enter_context(
                    bulk.indexes_built_after(
                        conn, [table], tallied[table], keys=True, share=REBUILT_SHARE
                    )
                )
            tally.add_campaign(conn, campaign_id, funnel_tallied)
    # PostgreSQL plans the next reads from statistics of the rows just replaced (after a
    # first rebuild: of an empty table; at 1M members it then took a bitmap scan and an
    # on-disk sort for `--by attempt`): sampled anew, 30,000 rows
    for table in WRITTEN:
        conn.exec_driver_sql(f"ANALYZE {table}")


def _summary_sql(
    campaign: Campaign,
    *,
    sqlite: bool,
    unvoided: bool,
    only: str,
    in_place: bool = False,
    returning: str = "",
) -> str:
    """The INSERT of the summary rows of the members `only` names (parameter :campaign_id);
    `in_place`: a row already there is updated to the new values (every column but the
    key; a stage the campaign does not have gets no days), as deleting it first would.
    The cohorts come from temporary table `stage_cohort` (`_stage_cohorts`), except with
    `returning` (PostgreSQL, for a few clients: the columns the INSERT returns), where
    each row works its own out (a few thousand rows: less than making and reading that
    table)."""
    # SQLite works out the assignment's Julian day once per member, not once per stage.
    assigned_day = "julianday(m.assigned_at) AS assigned_day," if sqlite else ""
    derived = funnel_columns(campaign.stages, sqlite=sqlite, assigned_day="assigned_day")
    if not sqlite:
        derived.update({name: name for name in LATER_CALLS})
    insert = _SUMMARY_SQL.format(
        only=only.format(alias="m."),
        only_events=only.format(alias="e."),
        by_code="" if sqlite else ' COLLATE "C"',
        assigned_day=assigned_day,
        unvoided=_UNVOIDED if unvoided else "",
        funnel_names=", ".join(derived),
        funnel_values=", ".join(derived.values()),
        asset_band=asset_band_sql("c.assets", campaign.asset_edges),
        cohort=_monday(campaign, "facts.assigned_at") if returning else "w.monday",
        cohort_join=""
        if returning
        else f"LEFT JOIN {_COHORTS} w ON w.moment = facts.assigned_at\n",
        later_calls="" if sqlite else _LATER_CALLS,
        later_facts="" if sqlite else "".join(f", k.{name}" for name in LATER_CALLS),
    )
    if returning:
        return f"{insert} RETURNING {returning}"
    if not in_place:
        return insert
    written = {*_SUMMARY_COLUMNS, *derived}
    values = {
        name: f"excluded.{name}" if name in written else "NULL"
        for name in SUMMARY_COLUMNS
        if name not in SUMMARY_KEY
    }
    update = ", ".join(f"{name} = {value}" for name, value in values.items())
    # `WHERE true`: else SQLite would read ON CONFLICT as the last join's condition
    return f"{insert} WHERE true ON CONFLICT ({', '.join(SUMMARY_KEY)}) DO UPDATE SET {update}"


def few_clients_sql(campaign: Campaign, *, unvoided: bool) -> list[str]:
    """PostgreSQL: the statements that rewrite the summary rows of the clients in
    temporary table `TOUCHED` and move the tallies by their old and new copies;
    parameters :campaign_id, :cid (the same) and :no_time (`tally.NO_TIME`).

    `refresh` runs these for a few clients; on a shared PostgreSQL, the database function
    an advisor's upload calls is made of them (`access`), so that what an advisor may
    change in the summary and the tallies is what their events imply, by one definition.
    `unvoided`: whether void events are looked for (always correct; skipped when none exist).

    The old rows' copies are what their DELETE returns, the new rows' what their INSERT
    returns, rather than each read again from the summary (two probes of its key per
    client, and for the new rows their pages read back).
    """
    only = _ONLY_TOUCHED
    deleted = f"DELETE FROM client_stage WHERE campaign_id = :campaign_id {only.format(alias='')}"
    inserted = _summary_sql(
        campaign, sqlite=False, unvoided=unvoided, only=only, returning=tally.DELTA_COLUMNS
    )
    return [
        *tally.delta_empty_sql(),
        tally.into_delta_sql(f"{deleted} RETURNING {tally.DELTA_COLUMNS}", -1),
        tally.into_delta_sql(inserted, 1),
        *tally.delta_after_sql(tally_funnel(campaign, sqlite=False)),
    ]


#: `client_stage`'s columns as a new member's row holds them, besides its funnel columns.
_NEW_MEMBER_COLUMNS = (
    "campaign_id",
    "client_id",
    "advisor_code",
    "assigned_at",
    "control",
    "dnc",
    *TIME_COLUMNS.values(),
    "wecom_confirmed_at",
    "reactivated_at",
    "calls",
    "attempts",
    "last_call_at",
    "callback_at",
    "do_not_call",
    "branch",
    "risk",
    "asset_band",
    "cohort",
    "reached_call",
)


def add_new_members(
    conn: Connection, campaign_id: int, staged: str, where: str, kinds: str
) -> None:
    """Summary rows, and their tallies, for members just added and so without events, an
    advisor or an assignment: straight from table `staged` (the rows `where` picks, with
    their client's `branch`, `risk`, `assets` and the member's `dnc` as 0/1), rather than
    through `refresh`'s aggregate over events, whose join and grouping cost a load of
    824k new members 16 of its 29 s on PostgreSQL (benchmarks/README.md). The rows are
    `refresh`'s for such members (tests/test_load.py holds them equal); the tallies count
    alike rows once (`tally.add_counted`), a few thousand kinds whatever the load's size:
    table `kinds` (`NEW_MEMBER_KINDS`), in which the caller counted those rows by kind
    (their asset band by `asset_band_expr`) while they were in memory, where grouping
    every row of `staged` again took the database 3.9-5.4 s at 10M (benchmarks/README.md).
    """
    sqlite = conn.dialect.name == "sqlite"
    campaign = registered_campaign(conn, campaign_id)
    moment = dialect.time_type(conn)
    nothing = {column: f"CAST(NULL AS {moment})" for column in TIME_COLUMNS.values()}
    facts = {
        "campaign_id": str(int(campaign_id)),
        "client_id": "s.client_id",
        "advisor_code": "CAST(NULL AS TEXT)",
        "assigned_at": f"CAST(NULL AS {moment})",
        "control": "false",
        "dnc": "s.dnc <> 0",
        **nothing,
        "wecom_confirmed_at": f"CAST(NULL AS {moment})",
        "reactivated_at": f"CAST(NULL AS {moment})",
        "calls": "0",
        "attempts": "0",
        "last_call_at": f"CAST(NULL AS {moment})",
        "callback_at": f"CAST(NULL AS {moment})",
        "do_not_call": "false",
        "branch": "s.branch",
        "risk": "s.risk",
        "asset_band": asset_band_sql("s.assets", campaign.asset_edges),
        "cohort": "CAST(NULL AS TEXT)",
        "reached_call": "CAST(NULL AS INTEGER)",
    }
    derived = funnel_columns(campaign.stages, sqlite=sqlite)
    columns = [*_NEW_MEMBER_COLUMNS, *derived]

    def rows(*, counted: bool) -> str:
        """The rows, one per member, or (`counted`) one per kind with its number as `sign`."""
        selected, source, sign = facts, f"{staged} s WHERE {where}", ""
        if counted:
            selected = {**facts, "client_id": "CAST(NULL AS TEXT)", "asset_band": "s.asset_band"}
            source, sign = f"{kinds} s", "s.sign AS sign, "
        return (
            f"SELECT {'sign, ' if counted else ''}{', '.join(_NEW_MEMBER_COLUMNS)},"
            f" {', '.join(f'{sql} AS {name}' for name, sql in derived.items())} FROM ("
            f"SELECT {sign}{', '.join(f'{sql} AS {name}' for name, sql in selected.items())}"
            f" FROM {source}) facts"
        )

    conn.exec_driver_sql(f"INSERT INTO client_stage ({', '.join(columns)}) {rows(counted=False)}")
    tally.add_counted(conn, campaign_id, tally_funnel(campaign, sqlite=sqlite), rows(counted=True))

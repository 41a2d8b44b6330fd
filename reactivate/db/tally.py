"""The report's tallies: counts and whole-day histograms per breakdown group.

`stage_tally`, `stage_days` and `stage_dates` (see `models.STAGE_TALLIES`,
`models.STAGE_DAYS`, `models.STAGE_DATES`) are sums over `client_stage` rows, grouped by
breakdown (`stage_dates` also by the local day each stage was first reached, for date
windows). `db.stages` keeps them in step in the
transaction that rewrites summary rows: the rows about to be replaced are copied with
sign -1, the new ones with sign +1, and their sums are added to the tallies, so the
work is in proportion to the clients touched, whatever the campaign's size. A whole
campaign's rebuild clears its tallies and sums every row once.

Every breakdown but the cohort counts assigned clients only (advisor, not control);
the cohort breakdown also holds the control group and the members without an advisor
(arms `control`, `none`) with their assignment times, so the overall funnel, the arms
of the reactivation and the never-called count (assigned before a cut-off) read it.

Medians are of whole days (days elapsed from assignment, rounded down): a histogram
of small integers per group and stage gives them exactly (`medians_sql`).

A window first seen on a client's first day of any kind or before it holds all its
evidence up to its end, so whether the client skips a stage there depends on the
window's last day only: `_skip_rows` keeps those days as +1/-1 bounds per first day, and
a client whose own first times come in stage order leaves none (its bounds cancel).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

from reactivate.db import bulk
from reactivate.db.dialect import stored_time, streamed_rows, time_type
from reactivate.db.reads import text

if TYPE_CHECKING:
    from sqlalchemy import Connection

if TYPE_CHECKING:
    import polars as pl
    from polars._typing import PolarsDataType

#: The breakdowns kept, with the `client_stage` expression of each group's key.
DIMENSIONS = {
    "cohort": "COALESCE(cohort, '')",
    "advisor": "COALESCE(advisor_code, '')",
    "branch": "COALESCE(branch, '')",
    "risk": "COALESCE(CAST(risk AS TEXT), '')",
    "asset_band": "COALESCE(asset_band, '')",
}
#: The assignment time of tally rows outside the cohort breakdown (part of the key, so
#: never NULL): far enough in the future never to fall before a report's cut-off.
NO_TIME = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
#: The most stages a campaign has (`rules.funnel.STAGES`): `at1`..`at5`.
MAX_STAGES = 5

#: A date's ordinal (`date.toordinal`) plus this is its Julian day number.
_ORDINAL_TO_JDN = 1_721_425
#: The years whose time-zone changes the weeks of SQLite follow (outside: the nearest offset).
_FIRST_YEAR, _LAST_YEAR = 2000, 2060


def assigned(alias: str = "") -> str:
    """SQL of whom the funnel counts, over summary rows (`alias`.): members with an
    advisor, outside the control group. The one definition the summary's days, the
    tallies and the reports share."""
    row = f"{alias}." if alias else ""
    return f"{row}advisor_code IS NOT NULL AND NOT {row}control"


_ASSIGNED = assigned()
_ARM = "CASE WHEN control THEN 'control' WHEN advisor_code IS NULL THEN 'none' ELSE 'assigned' END"
#: The flags a tally counts clients by (besides the stages reached), each a bit of `flags`.
_FLAGS = {
    "dnc": "dnc",
    "reactivated": "reactivated_at IS NOT NULL",
    "confirmed": "wecom_confirmed_at IS NOT NULL",
    "skipped": "skipped_stage",
    "quiet": "stages_reached = 0 AND NOT dnc AND NOT do_not_call",
    "dnc_calls": "do_not_call",
    "wecom_unconfirmed": "wecom_at IS NOT NULL AND wecom_confirmed_at IS NULL",
}
#: The summary's columns the tallies read, besides each stage's time and days.
_READ = (
    "advisor_code",
    "assigned_at",
    "control",
    "dnc",
    "reactivated_at",
    "wecom_at",
    "wecom_confirmed_at",
    "skipped_stage",
    "stages_reached",
    "do_not_call",
    "branch",
    "risk",
    "asset_band",
    "cohort",
)
#: What the copy of a summary row being rewritten holds (`_DELTA`): the client, what the
#: tallies read, the other stages' times and each stage's days.
_ROW_COLUMNS = (
    "client_id",
    *_READ,
    "called_at",
    "reached_at",
    "pushed_at",
    "converted_at",
    "called_days",
    "reached_days",
    "wecom_days",
    "pushed_days",
    "converted_days",
)
_DELTA = "tally_delta"
_BATCH = 100_000
#: polars' engine for the sums: its default, the streaming engine, sets up for each query
#: what a delta of a few thousand rows does not need (as `upload.columns` found).
_ENGINE: Final = "in-memory"
#: The histograms' trend breakdown: keyed by the week a stage was first reached.
WEEK = "week"
#: The trend's pseudo-stage of the WeCom adds confirmed by WeCom's API.
CONFIRMED = "confirmed"
#: `stage_dates`' pseudo-stage of the first WeCom add (whatever the campaign's stages).
ADDED = "added"
#: `stage_dates`' pseudo-stage of the days a window counts a client as skipping a stage.
SKIPPED = "skipped"
#: Every kind's first time: the earliest of them is when a client was first seen.
_KIND_TIMES = ("called_at", "wecom_at", "pushed_at", "converted_at")


def floor_days(days: str, *, sqlite: bool) -> str:
    """SQL of the whole days in `days` (a REAL), rounded down."""
    if not sqlite:
        return f"CAST(floor({days}) AS INTEGER)"
    # SQLite's CAST truncates towards zero; evidence dated before its assignment is negative
    return f"(CAST({days} AS INTEGER) - ({days} < CAST({days} AS INTEGER)))"


def monday_sql(moment: str, timezone: str, *, sqlite: bool) -> str:
    """SQL of the Julian day number (as text) of the Monday of the week of the stored UTC
    time `moment`, in the time zone `timezone` (`monday_of` reads it back)."""
    if not sqlite:
        # by date arithmetic, as to_char(date_trunc('week', ...), 'J') gives it but without
        # formatting text: Julian day numbers divisible by 7 are Mondays
        day = local_day_number(moment, timezone)
        return f"CAST({day} - mod({day}, 7) AS TEXT)"
    pieces = _offsets(timezone)
    if len(pieces) == 1:
        offset = f"{pieces[0][1] / 86400!r}"
    else:
        whens = " ".join(
            f"WHEN {moment} < '{until}' THEN {off / 86400!r}" for until, off in pieces[:-1]
        )
        offset = f"CASE {whens} ELSE {pieces[-1][1] / 86400!r} END"
    # the local day's number by arithmetic (SQLite's julianday counts milliseconds), then
    # back to its Monday: day numbers divisible by 7 are Mondays
    day = f"CAST(julianday({moment}) + 0.5 + {offset} AS INTEGER)"
    return f"CAST({day} - {day} % 7 AS TEXT)"


def local_day_number(moment: str, timezone: str) -> str:
    """PostgreSQL: SQL of the Julian day number of the local date of the time `moment` in
    the time zone `timezone`, as `to_char(..., 'J')` gives it, by date arithmetic rather
    than formatting text and reading it back (a whole rebuild works out 13 a row: 1.6 s
    of a 1M campaign's)."""
    local = f"CAST(({moment}) AT TIME ZONE '{timezone}' AS DATE)"
    return f"({local} - DATE '2000-01-01' + {day_number(dt.date(2000, 1, 1))})"


def monday_of(key: str) -> dt.date:
    """The Monday a `monday_sql` key names."""
    return dt.date.fromordinal(int(key) - _ORDINAL_TO_JDN)


def day_number(day: dt.date) -> int:
    """The Julian day number of `day`, as `stage_dates` keys its days."""
    return day.toordinal() + _ORDINAL_TO_JDN


@functools.cache
def _offsets(timezone: str) -> tuple[tuple[str, int], ...]:
    """The zone's UTC offsets (seconds) over the years campaigns run, as (UTC time the
    offset ends, in the stored text form; offset) pieces, the last one open-ended."""
    tz = ZoneInfo(timezone)
    step = dt.timedelta(days=1)

    def offset(moment: dt.datetime) -> int:
        return int((moment.astimezone(tz).utcoffset() or dt.timedelta()).total_seconds())

    moment = dt.datetime(_FIRST_YEAR, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(_LAST_YEAR, 1, 1, tzinfo=dt.UTC)
    current = offset(moment)
    pieces = []
    while moment < end:
        later = moment + step
        if offset(later) != current:
            low, high = moment, later  # the change lies in (low, high]: bisect to the second
            while high - low > dt.timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == current else (low, middle)
            pieces.append((high.replace(tzinfo=None).isoformat(" ", "microseconds"), current))
            current = offset(high)
        moment = later
    pieces.append(("", current))
    return tuple(pieces)


def clear(conn: Connection, campaign_id: int) -> dict[str, int]:
    """Forget the campaign's tallies (before its whole summary is rebuilt); how many rows
    each table held."""
    return {
        table: conn.execute(
            text(f"DELETE FROM {table} WHERE campaign_id = :cid"), {"cid": campaign_id}
        ).rowcount
        for table in _COUNTS
    }


def members(conn: Connection, campaign_id: int) -> int:
    """How many members the campaign's tallies count (the cohort breakdown holds them all)."""
    found = conn.execute(
        text("SELECT SUM(members) FROM stage_tally WHERE campaign_id = :cid AND dim = 'cohort'"),
        {"cid": campaign_id},
    ).scalar()
    return int(found or 0)


@dataclass(frozen=True)
class Funnel:
    """What the tallies need of a campaign: per stage (in funnel order), its days column,
    the SQL of the time the client first reached it (the earliest of its own and later
    stages' times) and its own time column; and the time zone weeks are counted in."""

    days: dict[str, str]
    first_time: dict[str, str]
    timezone: str
    times: dict[str, str]


def add_campaign(conn: Connection, campaign_id: int, funnel: Funnel) -> None:
    """Tally every summary row of the campaign (after `clear` and a whole rebuild)."""
    if conn.dialect.name == "postgresql":
        for statement in campaign_sql(funnel):
            conn.execute(text(statement), {"cid": campaign_id, "no_time": NO_TIME})
        return
    _add(
        conn,
        campaign_id,
        funnel,
        "client_stage",
        f"campaign_id = {int(campaign_id)}",
        weighted=False,
    )


def start_delta(conn: Connection, campaign_id: int, touched: str) -> None:
    """Copy the summary rows of the clients in table `touched`, about to be rewritten."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_DELTA}")
    conn.execute(
        text(
            f"CREATE TEMPORARY TABLE {_DELTA} AS SELECT -1 AS sign, {DELTA_COLUMNS}"
            f" FROM client_stage WHERE campaign_id = :cid"
            f" AND client_id IN (SELECT client_id FROM {touched})"
        ),
        {"cid": campaign_id},
    )


def finish_delta(conn: Connection, campaign_id: int, touched: str, funnel: Funnel) -> None:
    """Add the rewritten rows of the `touched` clients, take away the copies of the old
    ones (`start_delta`), and drop the groups left empty."""
    conn.execute(
        text(
            f"INSERT INTO {_DELTA} (sign, {DELTA_COLUMNS}) SELECT 1, {DELTA_COLUMNS} FROM client_stage"
            f" WHERE campaign_id = :cid AND client_id IN (SELECT client_id FROM {touched})"
        ),
        {"cid": campaign_id},
    )
    _add(conn, campaign_id, funnel, _DELTA, "true", weighted=True, drop_empty=True)
    conn.exec_driver_sql(f"DROP TABLE {_DELTA}")


#: Each tally table and its count: a group whose count a delta brings to 0 is dropped.
_COUNTS = {"stage_tally": "members", "stage_days": "clients", "stage_dates": "clients"}


@dataclass(frozen=True)
class _Sums:
    """PostgreSQL: a tally table's sums over some summary rows, as SQL: `select` gives
    them in `columns` order (every column but the campaign's), with the `WITH` entries
    `ctes` (name AS (...), or none) it reads."""

    table: str
    columns: list[str]
    select: str
    ctes: str = ""

    def inserted(self) -> str:
        """The statement inserting the sums into the table, which has none of the
        campaign's rows (`clear`)."""
        with_ = f"WITH {self.ctes} " if self.ctes else ""
        return (
            f"{with_}INSERT INTO {self.table} (campaign_id, {', '.join(self.columns)})"
            f" SELECT :cid, g.* FROM ({self.select}) g"
        )

    def _upsert(self) -> str:
        keys = _GROUP_KEYS[self.table]
        counts = [c for c in self.columns if c not in keys]
        update = ", ".join(f"{c} = {self.table}.{c} + excluded.{c}" for c in counts)
        return f" ON CONFLICT (campaign_id, {', '.join(keys)}) DO UPDATE SET {update}"

    def dropping_emptied(self) -> str:
        """The statement adding a delta's sums to the table and dropping the groups they
        bring to 0 (the row's count and the sum's cancel), in one statement: those groups
        are found first, each by its key (a scalar subquery: one probe of the key per
        group that may empty, whatever the planner makes of the sums' size), deleted by
        their row's address, and the other sums upserted; so no row is both deleted and
        written, which one statement may not do. A group may empty only where its sum is
        below 1 (counts are never negative), but for `SKIPPED`, whose bounds are. A group
        with no row yet is never emptied: its sums are all new rows'. (Told apart after
        the upsert by its `RETURNING`, the emptied groups took a temporary table of their
        own and four statements more per table.)"""
        keys = _GROUP_KEYS[self.table]
        count = _COUNTS[self.table]
        listed = ", ".join(self.columns)
        keyed = ", ".join(keys)
        may_empty = f"s.{count} < 1" + (f" OR s.stage = '{SKIPPED}'" if "stage" in keys else "")
        ctes = f"{self.ctes}, " if self.ctes else ""
        return (
            f"WITH {ctes}sums ({listed}) AS MATERIALIZED ({self.select}),"
            f" emptied AS MATERIALIZED (SELECT {keyed}, (SELECT t.ctid FROM {self.table} t"
            f" WHERE t.campaign_id = :cid AND {' AND '.join(f't.{k} = s.{k}' for k in keys)}"
            f" AND t.{count} + s.{count} = 0) AS emptied_row FROM sums s WHERE {may_empty}),"
            f" dropped AS (DELETE FROM {self.table}"
            " WHERE ctid = ANY (ARRAY(SELECT emptied_row FROM emptied WHERE emptied_row IS NOT NULL)))"
            f" INSERT INTO {self.table} (campaign_id, {listed}) SELECT :cid, s.* FROM sums s"
            f" WHERE NOT EXISTS (SELECT 1 FROM emptied e WHERE e.emptied_row IS NOT NULL"
            f" AND {' AND '.join(f'e.{k} = s.{k}' for k in keys)})" + self._upsert()
        )


#: The columns of the copies of summary rows a delta is made of (`_DELTA`, its `sign` aside).
DELTA_COLUMNS = ", ".join(_ROW_COLUMNS)


def delta_empty_sql() -> list[str]:
    """PostgreSQL: the statements that make `_DELTA` empty, for `into_delta_sql` to fill."""
    return [
        f"DROP TABLE IF EXISTS {_DELTA}",
        f"CREATE TEMPORARY TABLE {_DELTA} AS SELECT 1 AS sign, {DELTA_COLUMNS}"
        " FROM client_stage WHERE false",
    ]


def into_delta_sql(returning: str, sign: int) -> str:
    """PostgreSQL: the statement `returning` (a DELETE or INSERT of summary rows, returning
    `DELTA_COLUMNS`), its rows copied into `_DELTA` with `sign`."""
    return (
        f"WITH moved AS ({returning}) INSERT INTO {_DELTA} (sign, {DELTA_COLUMNS})"
        f" SELECT {sign}, {DELTA_COLUMNS} FROM moved"
    )


def delta_after_sql(funnel: Funnel) -> list[str]:
    """PostgreSQL: the statements that add the copies in `_DELTA` to the tallies and drop
    the groups left empty (parameters :cid and :no_time), the few rows of a delta summed
    by the database (`_sums_sql`). The per-client refresh runs these on PostgreSQL, and
    so does the database function an advisor's upload calls (`access`): one definition
    for both."""
    tallies, histograms = _sums_sql(funnel, _DELTA, "true", "sign")
    return [
        tallies.dropping_emptied(),
        histograms.dropping_emptied(),
        _dates_sql(funnel, f"FROM {_DELTA}", "true", "sign").dropping_emptied(),
        f"DROP TABLE {_DELTA}",
    ]


def _sums_sql(
    funnel: Funnel, source: str, where: str, weight: str, *, cleared: bool = False
) -> tuple[_Sums, _Sums]:
    """`stage_tally`'s and `stage_days`' sums over the rows of table `source` that `where`
    picks, each `weight` times (parameters :cid and :no_time); `cleared`: the campaign
    has no tallies yet (`clear`), so every group is written, even one whose sums are 0.

    Every breakdown's groups at once (GROUPING SETS, hashed): `stage_tally` by one pass
    over the rows, `stage_days` by one per stage over those at it (one pass for all
    stages hashed every row under each stage, 30 groupings, at a NULL day where it was
    not: twice the work). Each row's keys, profile and weeks are worked out once
    (`_cell_columns`; the `OFFSET 0` and the materialized `WITH` keep PostgreSQL from
    working them out again in every aggregate)."""
    keys, (arm, reached, flags, *days), (*weeks, confirmed) = _cell_columns(funnel, sqlite=False)
    stages = list(funnel.days)
    k = [f"k{j}" for j in range(len(keys))]
    d = [f"d{i}" for i in range(len(stages))]
    w = [f"w{i}" for i in range(len(stages))]

    def rows(columns: dict[str, str], also: str = "") -> str:
        """The rows picked, each with `columns` (name -> SQL) and its weight `n`."""
        selected = ", ".join(f"{sql} AS {name}" for name, sql in columns.items())
        return f"SELECT {selected}, {weight} AS n FROM {source} WHERE {where}{also}"

    def first_grouped(names: list[str], values: list[str], otherwise: str) -> str:
        whens = " ".join(
            f"WHEN GROUPING({name}) = 0 THEN {value}"
            for name, value in zip(names, values, strict=True)
        )
        return f"CASE {whens} ELSE {otherwise} END"

    sums = _counts()
    dims = [f"'{dim}'" for dim in DIMENSIONS]
    tally_rows = rows(
        {
            **dict(zip(k, keys, strict=True)),
            "at": "COALESCE(assigned_at, :no_time)",
            "arm": arm,
            "sr": reached,
            "flags": flags,
        }
    )
    # every breakdown's group by arm; the cohort's by assignment time too, and only the
    # cohort's counts the arms besides the assigned
    tally_sets = [f"({k[0]}, at, arm)", *(f"({key}, arm)" for key in k[1:])]
    tallies = _Sums(
        "stage_tally",
        [*_TALLY_KEYS, *sums],
        f"SELECT {first_grouped(k, dims, 'NULL')}, COALESCE({', '.join(k)}),"
        f" COALESCE(at, :no_time), arm, {', '.join(sums.values())} FROM ({tally_rows} OFFSET 0) r"
        f" GROUP BY GROUPING SETS ({', '.join(tally_sets)})"
        f" HAVING (GROUPING({k[0]}) = 0 OR arm = 'assigned')"
        # a delta's groups whose old and new rows cancel out change nothing: not written
        + ("" if cleared else f" AND ({' OR '.join(f'{sql} <> 0' for sql in sums.values())})"),
    )
    # per stage, its clients' whole days by every breakdown's group and by the week it
    # was first reached (a pass over those at the stage); the week of WeCom's confirmation
    assigned = rows(
        {
            **dict(zip(k, keys, strict=True)),
            **dict(zip(d, days, strict=True)),
            **dict(zip(w, weeks, strict=True)),
            "wc": confirmed,
        },
        f" AND {_ASSIGNED}",
    )
    parts = [
        f"SELECT {first_grouped(k, dims, repr(WEEK))}, COALESCE({', '.join([*k, w[i]])}),"
        f" '{stage}', {d[i]}, SUM(n) FROM r WHERE {d[i]} IS NOT NULL"
        f" GROUP BY GROUPING SETS ({', '.join(f'({key}, {d[i]})' for key in [*k, w[i]])})"
        " HAVING SUM(n) <> 0"
        for i, stage in enumerate(stages)
    ]
    parts.append(
        f"SELECT '{WEEK}', wc, '{CONFIRMED}', 0, SUM(n) FROM r WHERE wc IS NOT NULL"
        " GROUP BY wc HAVING SUM(n) <> 0"
    )
    histograms = _Sums(
        "stage_days",
        [*_DAYS_KEYS, "clients"],
        " UNION ALL ".join(parts),
        f"r AS MATERIALIZED ({assigned})",
    )
    return tallies, histograms


def campaign_sql(funnel: Funnel) -> list[str]:
    """PostgreSQL: `add_campaign` as statements (parameters :cid and :no_time): every
    summary row of the campaign summed into the tallies by the database (`_sums_sql`,
    `_dates_sql`), rather than every row sent to Python."""
    tallies, histograms = _sums_sql(funnel, "client_stage", "campaign_id = :cid", "1", cleared=True)
    dates = _dates_sql(funnel, "FROM client_stage", "campaign_id = :cid", "1")
    return [
        tallies.inserted(),
        histograms.inserted(),
        dates.inserted(),
    ]


def _dates_sql(funnel: Funnel, source: str, where: str, weight: str) -> _Sums:
    """PostgreSQL: the rows `source` and `where` pick (each `weight` times) summed into
    `stage_dates`, as `_dates_sums` and `_skip_rows` sum them (parameters :cid, :no_time);
    after a `clear` they are inserted, not upserted (`_Sums.inserted`: every group comes
    once, a stage and a breakdown's key per part).

    Each row's days are worked out once (the materialized `WITH`), then each first time
    (a stage's, the WeCom add's, its confirmation's) is grouped by every breakdown at
    once (GROUPING SETS, hashed) in a pass over the rows that have it, as `_sums_sql`
    groups the tallies; only the skipping bounds (cohort rows, several per client) are
    unfolded a row per bound. Every row unfolded into all its ~46 (breakdown, time) rows
    and those grouped made a whole rebuild of 1M members 139 s, against 50 s now."""
    stages = list(funnel.days)
    times = [funnel.times[stage] for stage in stages]

    def day(moment: str) -> str:
        return local_day_number(moment, funnel.timezone)

    firsts = {f"t{i}": funnel.first_time[stage] for i, stage in enumerate(stages)}
    firsts.update({f"o{j}": time for j, time in enumerate(times)})
    firsts.update(ta="wecom_at", tc="wecom_confirmed_at", seen=f"LEAST({', '.join(_KIND_TIMES)})")
    keys = {f"k_{dim}": key for dim, key in DIMENSIONS.items()}
    columns = [f"{day(moment)} AS {name}" for name, moment in firsts.items()]
    columns += [f"{key} AS {name}" for name, key in keys.items()]
    columns += [
        f"{floor_days(funnel.days[stage], sqlite=False)} AS d{i}" for i, stage in enumerate(stages)
    ]
    columns += [
        "assigned_at",
        f"{weight} AS w",
        f"CASE WHEN reactivated_at IS NOT NULL THEN {weight} ELSE 0 END AS r",
        f"CASE WHEN NOT dnc AND NOT do_not_call THEN {weight} ELSE 0 END AS c",
    ]
    assigned = _ASSIGNED if where == "true" else f"{where} AND {_ASSIGNED}"
    names = list(keys)
    dimension = " ".join(
        f"WHEN GROUPING({name}) = 0 THEN '{dim}'"
        for name, dim in zip(names, DIMENSIONS, strict=True)
    )
    at = "CASE WHEN GROUPING(k_cohort) = 0 THEN assigned_at ELSE CAST(:no_time AS TIMESTAMPTZ) END"
    changed = "HAVING SUM(w) <> 0 OR SUM(r) <> 0 OR SUM(c) <> 0"
    kinds = [(stage, f"t{i}", f"d{i}") for i, stage in enumerate(stages)]
    kinds += [(ADDED, "ta", "0"), (CONFIRMED, "tc", "0")]
    parts = []
    for stage, date, days in kinds:
        # a constant in GROUP BY would be read as a column's position
        grouped = date if days == "0" else f"{date}, {days}"
        sets = [f"({name}, {grouped})" for name in names if name != "k_cohort"]
        sets.append(f"(k_cohort, assigned_at, {grouped})")
        present = f"{date} IS NOT NULL" + ("" if days == "0" else f" AND {days} IS NOT NULL")
        parts.append(
            f"SELECT CASE {dimension} END, {date}, COALESCE({', '.join(names)}),"
            f" {at}, '{stage}', {days}, SUM(w), SUM(r), SUM(c) FROM s WHERE {present}"
            f" GROUP BY GROUPING SETS ({', '.join(sets)}) {changed}"
        )
    # `_skip_rows`' bounds: NULL where the rows it would make are none
    own = [f"s.o{j}" for j in range(len(stages))]

    def least(days: list[str]) -> str:
        return days[0] if len(days) == 1 else f"LEAST({', '.join(days)})"

    bounds = [(least(own), 1)] if stages else []
    for k in range(1, len(stages) + 1):
        latest = own[0] if k == 1 else f"GREATEST({', '.join(own[:k])})"
        whole = " AND ".join(f"{o} IS NOT NULL" for o in own[:k])
        earliest = least(own[k:]) if k < len(stages) else "NULL"
        opens = f"{whole} AND ({earliest} IS NULL OR {latest} < {earliest})"
        bounds.append((f"CASE WHEN {opens} THEN {latest} END", -1))
        if k < len(stages):
            bounds.append((f"CASE WHEN {opens} THEN {earliest} END", 1))
    if bounds:
        days = ", ".join(bound for bound, _sign in bounds)
        signs = ", ".join(str(sign) for _bound, sign in bounds)
        parts.append(
            f"SELECT 'cohort', s.seen, s.k_cohort, s.assigned_at, '{SKIPPED}',"
            " b.bound - s.seen, SUM(s.w * b.sign), 0, 0"
            f" FROM s CROSS JOIN LATERAL unnest(ARRAY[{days}], ARRAY[{signs}]) b(bound, sign)"
            " WHERE s.seen IS NOT NULL AND b.bound IS NOT NULL"
            " GROUP BY s.seen, s.k_cohort, s.assigned_at, b.bound - s.seen"
            " HAVING SUM(s.w * b.sign) <> 0"
        )
    return _Sums(
        "stage_dates",
        [*_DATES_KEYS, "clients", "reactivated", "callable"],
        " UNION ALL ".join(parts),
        f"s AS MATERIALIZED (SELECT {', '.join(columns)} {source} WHERE {assigned})",
    )


def _cell_columns(funnel: Funnel, *, sqlite: bool) -> tuple[list[str], list[str], list[str]]:
    """SQL over a summary row of what the tallies count it by: (each breakdown's key,
    the profile: arm, stages reached, flags and whole days to each stage; the trend: the
    week each stage, and the WeCom add's confirmation, was first reached)."""
    flags = " + ".join(
        f"(CASE WHEN {condition} THEN {1 << bit} ELSE 0 END)"
        for bit, condition in enumerate(_FLAGS.values())
    )
    days = [floor_days(funnel.days[stage], sqlite=sqlite) for stage in funnel.days]
    weeks = [
        monday_sql(funnel.first_time[stage], funnel.timezone, sqlite=sqlite)
        for stage in funnel.days
    ]
    weeks.append(monday_sql("wecom_confirmed_at", funnel.timezone, sqlite=sqlite))
    return list(DIMENSIONS.values()), [_ARM, "stages_reached", flags, *days], weeks


def add_counted(conn: Connection, campaign_id: int, funnel: Funnel, rows: str) -> None:
    """Add to the tallies the rows the SQL `rows` selects: `client_stage`'s columns, each
    row standing for `sign` members alike in all of them (a load's new members, grouped
    by what tells them apart), so that a few thousand rows pass through Python, not one
    per member."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_DELTA}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {_DELTA} AS {rows}")
    _add(conn, campaign_id, funnel, _DELTA, "true", weighted=True)
    conn.exec_driver_sql(f"DROP TABLE {_DELTA}")


def _add(
    conn: Connection,
    campaign_id: int,
    funnel: Funnel,
    rows: str,
    where: str,
    *,
    weighted: bool,
    drop_empty: bool = False,
) -> None:
    """Add to the tallies the sums over `rows` (each row counted once, or `weighted` by
    its `sign` column); `drop_empty`: then drop the groups they brought to 0.

    The rows' stored columns are read as they are (`where`: SQL with no parameters; each
    stage's days rounded down) and everything derived from them (group keys, arm, flags,
    the week each stage was first reached) is worked out and summed per group by polars,
    a column at a time, in batches: a campaign's rows are never all in memory, and the
    tallies are upserted from a few thousand sums. SQLite hands each batch over as one
    JSON array per column (`_json_batches`); a million clients' tallies took 11-13 s CPU
    so, against 23 s as the driver's tuples (benchmarks/README.md).
    PostgreSQL counts by SQL instead, in the database: a per-client refresh its few rows
    (`delta_after_sql`, which the database's refresh function shares), a whole campaign
    every row (`campaign_sql`: sending each row to Python cost 10.7 s of client CPU at
    1M members on PostgreSQL, against 0.4 s). tests/test_tally.py holds the tallies kept in step equal
    to a rebuild's, and tests/test_report.py the reports to counts from the events.
    """
    import polars as pl  # the report commands that only read the tallies do not pay for it

    sqlite = conn.dialect.name == "sqlite"
    stages = list(funnel.days)
    times = [funnel.times[stage] for stage in stages]
    days = [funnel.days[stage] for stage in stages]
    # as the database hands them over: SQLite's times are text and its flags integers
    stored_time_type = pl.String if sqlite else pl.Datetime("us", "UTC")
    types: dict[str, PolarsDataType] = {
        **{name: pl.String for name in _READ},
        **{
            name: stored_time_type
            for name in [*_READ, *times, *_KIND_TIMES]
            if name.endswith("_at")
        },
        **{name: pl.Int64 if sqlite else pl.Boolean for name in _BOOLEANS},
        "risk": pl.Int64,
        "stages_reached": pl.Int64,
        **{name: pl.Int64 for name in days},
        "sign": pl.Int64,
    }
    # each stage's whole days rounded down by the database, from the stored value (as
    # text, SQLite's JSON would round a REAL to 15 digits first)
    selected = {name: name for name in types}
    selected.update({name: floor_days(name, sqlite=sqlite) for name in days})
    if not weighted:
        selected["sign"] = "1"
    no_time = stored_time(conn)(NO_TIME)
    time_dtype: PolarsDataType = stored_time_type
    tallies: list[pl.DataFrame] = []
    histograms: list[pl.DataFrame] = []
    dated: list[pl.DataFrame] = []
    if sqlite:
        frames = _json_batches(conn, rows, where, selected, types)
    else:
        listed = ", ".join(f"{sql} AS {name}" for name, sql in selected.items())
        frames = (
            pl.DataFrame(batch, schema=types, orient="row")
            for batch in streamed_rows(conn, f"SELECT {listed} FROM {rows} WHERE {where}", _BATCH)
        )
    for frame in frames:
        counted = _derived(frame, funnel, stages, times, no_time=no_time, sqlite=sqlite).lazy()
        # the sums of every group of a batch as one query each, collected together: the
        # ~100 group-bys and filters as eager frames were a collect each, most of them
        # on a few thousand rows, where each collect's own cost (and, on a busy machine,
        # each wait for polars' threads) was most of the work
        found = pl.collect_all(
            [
                _tally_sums(counted, no_time, time_dtype),
                _days_sums(counted, stages),
                _dates_sums(counted, stages, no_time, time_dtype),
            ],
            engine=_ENGINE,
        )
        del frame, counted
        tallies.append(found[0])
        histograms.append(found[1])
        dated.append(found[2])
    if not tallies:
        return
    tally = pl.concat(tallies).lazy().group_by(_TALLY_KEYS).agg(pl.exclude(_TALLY_KEYS).sum())
    days_found = pl.concat(histograms).lazy().group_by(_DAYS_KEYS).agg(pl.col("clients").sum())
    dates_found = pl.concat(dated).lazy().group_by(_DATES_KEYS).agg(pl.exclude(_DATES_KEYS).sum())
    del tallies, histograms, dated
    # a skipping day's +1 and -1 of one client cancel (most clients' do: `_skip_rows`)
    dates_found = dates_found.filter(pl.any_horizontal(pl.exclude(_DATES_KEYS) != 0))
    if weighted:
        # a delta's groups whose old and new rows cancel out change nothing: not written
        # (as PostgreSQL's delta keeps only the cells whose sum is not 0)
        tally = tally.filter(pl.any_horizontal(pl.exclude(_TALLY_KEYS) != 0))
        days_found = days_found.filter(pl.col("clients") != 0)
    # in key order: the groups a rebuild inserts then lie in the table (rowid order) as
    # they do in its key, so that a delta's groups of one breakdown share their pages (in
    # polars' hash order, an advisor's sheet dirtied 374 of the 379 pages of `stage_days`)
    tally_sums, days_sums, dates_sums = pl.collect_all(
        [
            tally.sort(_TALLY_KEYS),
            days_found.sort(_DAYS_KEYS),
            dates_found.sort(_DATES_KEYS),
        ],
        engine=_ENGINE,
    )
    time_sql = time_type(conn)
    _upsert(conn, campaign_id, "stage_tally", _TALLY_KEYS, tally_sums, time_sql, drop_empty)
    _upsert(conn, campaign_id, "stage_days", _DAYS_KEYS, days_sums, time_sql, drop_empty)
    _upsert(conn, campaign_id, "stage_dates", _DATES_KEYS, dates_sums, time_sql, drop_empty)


def _json_batches(
    conn: Connection,
    source: str,
    where: str,
    selected: dict[str, str],
    types: dict[str, PolarsDataType],
) -> Iterator[pl.DataFrame]:
    """SQLite: the rows of table `source` that `where` picks, each with the columns
    `selected` (name -> SQL) of polars types `types`, as frames of up to `_BATCH` rows in
    rowid order. Each batch comes as one JSON array per column (`json_group_array`),
    which polars decodes: a few values handed to Python per batch rather than a Python
    object per stored value (1M summary rows, 24 columns: 3.9-4.6 s CPU read and decoded,
    against 7.5 s for the driver's tuples and 2.5-5.5 s more for polars' frames of them;
    benchmarks/README.md). One array per row (`json_object`) decoded as structs or as
    NDJSON took 9-14 s. JSON carries a REAL rounded to 15 digits, so `_add` reads whole
    days, rounded down by the database. SQLite's JSON functions are built in from 3.38
    (compiled in by most builds before)."""
    import polars as pl

    arrays = ", ".join(f"json_group_array({name})" for name in selected)
    listed = ", ".join(f"{sql} AS {name}" for name, sql in selected.items())
    # by rowid ranges, not by an index of `where`'s columns (which the planner would
    # take, and then sort each batch's rows out of all the campaign's)
    statement = text(
        f"SELECT COUNT(*), MAX(_row), {arrays} FROM (SELECT rowid AS _row, {listed}"
        f" FROM {source} NOT INDEXED WHERE rowid > :after AND ({where})"
        f" ORDER BY rowid LIMIT {_BATCH})"
    )
    after = -(2**63)
    while True:
        count, after, *columns = conn.execute(statement, {"after": after}).one()
        if not count:
            return
        yield pl.DataFrame(
            [
                pl.Series(name, [column]).str.json_decode(pl.List(types[name])).explode()
                for name, column in zip(selected, columns, strict=True)
            ]
        )


#: Each breakdown's key column in `client_stage` (`DIMENSIONS`; a NULL key is '').
_KEY_COLUMNS = {
    "cohort": "cohort",
    "advisor": "advisor_code",
    "branch": "branch",
    "risk": "risk",
    "asset_band": "asset_band",
}
_BOOLEANS = ("control", "dnc", "skipped_stage", "do_not_call")
#: The stage_tally and stage_days columns that name a group (with the campaign's).
_TALLY_KEYS = ["dim", "key", "assigned_at", "arm"]
_DAYS_KEYS = ["dim", "key", "stage", "day"]
_DATES_KEYS = ["dim", "date", "key", "assigned_at", "stage", "day"]
_GROUP_KEYS = {"stage_tally": _TALLY_KEYS, "stage_days": _DAYS_KEYS, "stage_dates": _DATES_KEYS}
_JDN_OF_1970 = 2_440_588


def _local_day(moment: pl.Expr, timezone: str, *, sqlite: bool) -> pl.Expr:
    """Polars: the Julian day number of the day of the UTC time `moment` (stored text on
    SQLite) in `timezone`."""
    import polars as pl

    if sqlite:  # to the second: a fraction never moves a time to another day
        moment = moment.str.slice(0, 19).str.to_datetime(
            "%Y-%m-%d %H:%M:%S", time_unit="us", time_zone="UTC"
        )
    return moment.dt.convert_time_zone(timezone).dt.date().cast(pl.Int32) + _JDN_OF_1970


def _monday(day: pl.Expr) -> pl.Expr:
    """Polars: the Julian day number (as text) of the Monday of the day number `day`
    (`monday_of` reads it back): day numbers divisible by 7 are Mondays."""
    import polars as pl

    return (day - day % 7).cast(pl.String)


def _derived(
    frame: pl.DataFrame,
    funnel: Funnel,
    stages: list[str],
    times: list[str],
    *,
    sqlite: bool,
    no_time: Any,
) -> pl.DataFrame:
    """Per row of `frame`: each breakdown's key, the arm, the stages reached, the flags,
    the whole days to each stage and the week and day it was first reached, the days of
    each stage's own first time (`o{i}`), of the first WeCom add (`ta`), of its first
    confirmation (`tc`) and of the first time of any kind (`seen`); `n` its weight."""
    import polars as pl

    flag = {name: pl.col(name).cast(pl.Boolean) for name in _BOOLEANS}
    reached = pl.col("stages_reached")
    # each stored time's local day worked out once, as a column of its own (inside the
    # one select, each use of a day worked it out again: 0.05 s for 4,000 rows); the
    # earliest of several times is on the earliest of their days
    local_days = {
        column: _local_day(pl.col(column), funnel.timezone, sqlite=sqlite).alias(f"_day_{column}")
        for column in dict.fromkeys([*times, *_KIND_TIMES, "wecom_confirmed_at"])
    }
    day = {column: pl.col(f"_day_{column}") for column in local_days}
    first_day = [pl.min_horizontal([day[t] for t in times[i:]]) for i in range(len(stages))]
    conditions = {
        "dnc": flag["dnc"],
        "reactivated": pl.col("reactivated_at").is_not_null(),
        "confirmed": pl.col("wecom_confirmed_at").is_not_null(),
        "skipped": flag["skipped_stage"],
        "quiet": (reached == 0) & ~flag["dnc"] & ~flag["do_not_call"],
        "dnc_calls": flag["do_not_call"],
        "wecom_unconfirmed": pl.col("wecom_at").is_not_null()
        & pl.col("wecom_confirmed_at").is_null(),
    }
    columns = [
        *(
            (pl.col(column).cast(pl.String) if column == "risk" else pl.col(column))
            .fill_null("")
            .alias(f"k_{dim}")
            for dim, column in _KEY_COLUMNS.items()
        ),
        pl.col("assigned_at").fill_null(pl.lit(no_time, dtype=frame.schema["assigned_at"])),
        pl.when(flag["control"])
        .then(pl.lit("control"))
        .when(pl.col("advisor_code").is_null())
        .then(pl.lit("none"))
        .otherwise(pl.lit("assigned"))
        .alias("arm"),
        reached,
        *(condition.alias(f"f_{name}") for name, condition in conditions.items()),
        *(pl.col(funnel.days[stage]).alias(f"d{i}") for i, stage in enumerate(stages)),
        *(_monday(first_day[i]).alias(f"w{i}") for i in range(len(stages))),
        _monday(day["wecom_confirmed_at"]).alias("wc"),
        *(first_day[i].alias(f"t{i}") for i in range(len(stages))),
        *(day[t].alias(f"o{i}") for i, t in enumerate(times)),
        day["wecom_at"].alias("ta"),
        day["wecom_confirmed_at"].alias("tc"),
        pl.min_horizontal([day[t] for t in _KIND_TIMES]).alias("seen"),
        (~flag["dnc"] & ~flag["do_not_call"]).alias("f_callable"),
        pl.col("sign").alias("n"),
    ]
    return frame.lazy().with_columns(*local_days.values()).select(columns).collect(engine=_ENGINE)


def _tally_sums(rows: pl.LazyFrame, no_time: Any, time_dtype: PolarsDataType) -> pl.LazyFrame:
    """`stage_tally`'s sums per group of every breakdown over `rows` (`_derived`): the
    cohort breakdown over every arm, with assignment times; the rest over assigned clients."""
    import polars as pl

    n = pl.col("n")
    reached = pl.col("stages_reached")
    sums = [
        n.sum().alias("members"),
        *(n.filter(pl.col(f"f_{name}")).sum().alias(name) for name in _FLAGS),
        *(n.filter(reached == j).sum().alias(f"at{j}") for j in range(1, MAX_STAGES + 1)),
        *(
            n.filter((reached == j) & pl.col("f_reactivated")).sum().alias(f"rat{j}")
            for j in range(1, MAX_STAGES + 1)
        ),
    ]
    found = [
        rows.group_by("k_cohort", "assigned_at", "arm")
        .agg(sums)
        .select(
            pl.lit("cohort").alias("dim"), pl.col("k_cohort").alias("key"), pl.exclude("k_cohort")
        )
    ]
    assigned = rows.filter(pl.col("arm") == "assigned")
    for dim in _KEY_COLUMNS:
        if dim == "cohort":
            continue
        found.append(
            assigned.group_by(f"k_{dim}")
            .agg(sums)
            .select(
                pl.lit(dim).alias("dim"),
                pl.col(f"k_{dim}").alias("key"),
                pl.lit(no_time, dtype=time_dtype).alias("assigned_at"),
                pl.lit("assigned").alias("arm"),
                pl.exclude(f"k_{dim}"),
            )
        )
    return pl.concat(found)


def _days_sums(rows: pl.LazyFrame, stages: list[str]) -> pl.LazyFrame:
    """`stage_days`' counts over `rows` (`_derived`): per breakdown group, stage and whole
    days; and the trend's, per week of first reaching (`WEEK`; `CONFIRMED`: of WeCom's
    confirmation)."""
    import polars as pl

    assigned = rows.filter(pl.col("arm") == "assigned")
    found = []
    for i, stage in enumerate(stages):
        reached = assigned.filter(pl.col(f"d{i}").is_not_null())
        groups = [(dim, f"k_{dim}") for dim in _KEY_COLUMNS] + [(WEEK, f"w{i}")]
        for dim, key in groups:
            found.append(
                reached.group_by(key, f"d{i}")
                .agg(pl.col("n").sum().alias("clients"))
                .select(
                    pl.lit(dim).alias("dim"),
                    pl.col(key).alias("key"),
                    pl.lit(stage).alias("stage"),
                    pl.col(f"d{i}").alias("day"),
                    "clients",
                )
            )
    found.append(
        assigned.filter(pl.col("wc").is_not_null())
        .group_by("wc")
        .agg(pl.col("n").sum().alias("clients"))
        .select(
            pl.lit(WEEK).alias("dim"),
            pl.col("wc").alias("key"),
            pl.lit(CONFIRMED).alias("stage"),
            pl.lit(0, dtype=pl.Int64).alias("day"),
            "clients",
        )
    )
    return pl.concat(found)


def _dates_sums(
    rows: pl.LazyFrame, stages: list[str], no_time: Any, time_dtype: PolarsDataType
) -> pl.LazyFrame:
    """`stage_dates`' counts over `rows` (`_derived`): per breakdown group, day and whole
    days, the assigned clients who first reached each stage that day (of them the
    reactivated and the callable), and those first added on WeCom (`ADDED`) and first
    confirmed (`CONFIRMED`) that day; and the cohorts' skipping days (`_skip_rows`)."""
    import polars as pl

    assigned = rows.filter(pl.col("arm") == "assigned")
    n = pl.col("n")
    sums = [
        n.sum().alias("clients"),
        n.filter(pl.col("f_reactivated")).sum().alias("reactivated"),
        n.filter(pl.col("f_callable")).sum().alias("callable"),
    ]
    firsts: list[tuple[str, str, str | None]] = [
        (stage, f"t{i}", f"d{i}") for i, stage in enumerate(stages)
    ]
    firsts += [(ADDED, "ta", None), (CONFIRMED, "tc", None)]
    found = []
    for dim in _KEY_COLUMNS:
        at = pl.col("assigned_at") if dim == "cohort" else pl.lit(no_time, dtype=time_dtype)
        keyed = assigned.with_columns(at.alias("at"))
        for stage, date, days in firsts:
            day = pl.col(days) if days else pl.lit(0, dtype=pl.Int64)
            found.append(
                keyed.filter(pl.col(date).is_not_null())
                .group_by(f"k_{dim}", "at", date, day.alias("day"))
                .agg(sums)
                .select(
                    pl.lit(dim).alias("dim"),
                    pl.col(date).alias("date"),
                    pl.col(f"k_{dim}").alias("key"),
                    pl.col("at").alias("assigned_at"),
                    pl.lit(stage).alias("stage"),
                    "day",
                    "clients",
                    "reactivated",
                    "callable",
                )
            )
    if stages:
        found.append(_skip_rows(assigned, len(stages)))
    return pl.concat(found)


def _skip_rows(assigned: pl.LazyFrame, n_stages: int) -> pl.LazyFrame:
    """The cohort rows of `SKIPPED`: for a window that begins on or before the day a
    client was first seen (`seen`), so holds all its evidence up to its end, whether the
    client skips a stage there depends only on the window's last day `u`: the stages with
    evidence up to `u` are those whose own first day (`o{j}`) is at most `u`, and they
    skip unless they are the first k stages (k >= 1), which holds for `u` from the
    latest of those k days up to the day before the earliest later one. So per client +1
    from the day of its first stage evidence on, and for each k -1 from the latest of the
    first k days and +1 from the earliest later one (when the first k all have evidence
    and the earlier day is the earlier). `day` is the days after `seen`: a window from `s`
    to `u` counts the rows of `date` >= `s` and `date + day` <= `u`."""
    import polars as pl

    own = [pl.col(f"o{j}") for j in range(n_stages)]
    base = assigned.filter(pl.col("seen").is_not_null())

    def part(frame: pl.LazyFrame, on: pl.Expr, sign: int) -> pl.LazyFrame:
        return frame.select(
            pl.lit("cohort").alias("dim"),
            pl.col("seen").alias("date"),
            pl.col("k_cohort").alias("key"),
            "assigned_at",
            pl.lit(SKIPPED).alias("stage"),
            (on - pl.col("seen")).cast(pl.Int64).alias("day"),
            (pl.col("n") * sign).alias("clients"),
            pl.lit(0, dtype=pl.Int64).alias("reactivated"),
            pl.lit(0, dtype=pl.Int64).alias("callable"),
        )

    first = pl.min_horizontal(own)
    parts = [part(base.filter(first.is_not_null()), first, 1)]
    for k in range(1, n_stages + 1):
        latest = pl.max_horizontal(own[:k])
        earliest = pl.min_horizontal(own[k:]) if k < n_stages else pl.lit(None, dtype=pl.Int32)
        whole = pl.all_horizontal([o.is_not_null() for o in own[:k]])
        opens = base.filter(whole & (earliest.is_null() | (latest < earliest)))
        parts.append(part(opens, latest, -1))
        if k < n_stages:
            parts.append(part(opens.filter(earliest.is_not_null()), earliest, 1))
    return pl.concat(parts)


def _upsert(
    conn: Connection,
    campaign_id: int,
    table: str,
    keys: list[str],
    sums: pl.DataFrame,
    time_sql: str,
    drop_empty: bool,
) -> None:
    """Add `sums` (a frame: a group's key columns, then counts, in key order) to `table`'s
    rows, and (`drop_empty`) drop those groups whose count is then 0."""
    counts = [c for c in sums.columns if c not in keys]
    staged = f"{table}_sums"
    types = {
        c: {"assigned_at": time_sql, "day": "INTEGER", "date": "INTEGER"}.get(c, "TEXT")
        for c in keys
    }
    types.update({c: "INTEGER" for c in counts})
    bulk.stage(conn, staged, types, zip(*(sums[c].to_list() for c in sums.columns), strict=True))
    names = ", ".join(sums.columns)
    update = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counts)
    written = (
        f"INSERT INTO {table} (campaign_id, {names}) SELECT :cid, {names} FROM {staged}"
        f" WHERE true ON CONFLICT (campaign_id, {', '.join(keys)}) DO UPDATE SET {update}"
    )
    conn.execute(text(written), {"cid": campaign_id})
    if drop_empty:
        # Looked up again by key, only the groups whose sum may empty them (as PostgreSQL's
        # `_Sums.dropping_emptied`): counts are never negative but for `SKIPPED`'s bounds,
        # so a sum of 1 or more leaves a group's count above 0: for an advisor's sheet a
        # few hundred of 8,541 groups. Told by the upsert's `RETURNING` instead, every
        # group's row was fetched into Python, one by one (0.02-0.03 s).
        count = _COUNTS[table]
        may_empty = f"{count} < 1" + (f" OR stage = '{SKIPPED}'" if "stage" in keys else "")
        listed = ", ".join(keys)
        conn.execute(
            text(
                f"DELETE FROM {table} WHERE campaign_id = :cid AND {count} = 0"
                f" AND ({listed}) IN (SELECT {listed} FROM {staged} WHERE {may_empty})"
            ),
            {"cid": campaign_id},
        )
    conn.exec_driver_sql(f"DROP TABLE {staged}")


def _flag(name: str) -> str:
    return f"(flags & {1 << list(_FLAGS).index(name)}) <> 0"


def _counts() -> dict[str, str]:
    """`stage_tally`'s counts as sums over rows of `n` clients each, at `sr` stages with
    the `flags` (`_FLAGS`' bits)."""
    return {
        "members": "SUM(n)",
        **{name: f"COALESCE(SUM(n) FILTER (WHERE {_flag(name)}), 0)" for name in _FLAGS},
        **{
            f"at{j}": f"COALESCE(SUM(n) FILTER (WHERE sr = {j}), 0)"
            for j in range(1, MAX_STAGES + 1)
        },
        **{
            f"rat{j}": f"COALESCE(SUM(n) FILTER (WHERE sr = {j} AND {_flag('reactivated')}), 0)"
            for j in range(1, MAX_STAGES + 1)
        },
    }


def medians_sql(histograms: str) -> str:
    """SQL of rows (k, stage, low, high) from the SQL `histograms` of rows (k, stage, day,
    n): per (k, stage) the middle value of the days the histogram holds and, for an even
    count, the one after it (the median is their mean: `medians_by`). Worked out by the
    database, so a breakdown of thousands of groups sends one row per group and stage,
    not one per day: a running count reaches half the total at the lower middle value
    (2 * running >= total) and passes it at the upper one (2 * running > total)."""
    return (
        "SELECT k, stage, MIN(CASE WHEN 2 * upto >= total THEN day END) AS low,"
        " MIN(CASE WHEN 2 * upto > total THEN day END) AS high FROM ("
        "SELECT k, stage, day, SUM(n) OVER (PARTITION BY k, stage ORDER BY day"
        " ROWS UNBOUNDED PRECEDING) AS upto, SUM(n) OVER (PARTITION BY k, stage) AS total"
        f" FROM ({histograms}) h WHERE n > 0) r GROUP BY k, stage"
    )


def medians_by(rows: Iterable[Any]) -> dict[tuple[Any, str], float]:
    """(group key, stage) -> median whole days, from the rows of `medians_sql`."""
    return {(key, stage): (int(low) + int(high)) / 2 for key, stage, low, high in rows}


def numbered_columns(
    rows: list[Any], groups: dict[tuple[Any, str], int], *columns: int
) -> tuple[Any, ...]:
    """numpy columns of `rows` (tuples that begin with a group key and a stage): each
    row's (key, stage) numbered in `groups` (a new one given the next number), then its
    integer values at the positions `columns`. Column by column: the rows of a week `--by
    advisor` at 10M, 250,000, cost 0.2 s more turned into columns by `zip(*rows)`."""
    import numpy as np

    pairs = list(zip(map(itemgetter(0), rows), map(itemgetter(1), rows), strict=True))
    # each distinct pair numbered once, each row's number then looked up by C loops (a
    # `setdefault` per row cost 0.15 s more for 250,000 rows of 35,000 pairs)
    for pair in dict.fromkeys(pairs):
        if pair not in groups:
            groups[pair] = len(groups)
    return (
        np.fromiter(map(groups.__getitem__, pairs), np.int64, len(pairs)),
        *(np.fromiter(map(itemgetter(c), rows), np.int64, len(rows)) for c in columns),
    )


class DayCounts:
    """Histogram rows (k, stage, whole days, clients) gathered from several statements, a
    (k, stage, day) perhaps in more than one, and their medians worked out by numpy as
    `medians_sql` and `medians_by` work them out: the rows of a (k, stage, day) summed,
    those not above 0 left out, per (k, stage) the middle day or the mean of the middle
    two. For histograms read from two connections (`report.ahead`), which no one
    statement can sum."""

    def __init__(self, groups: dict[tuple[Any, str], int] | None = None) -> None:
        self._groups: dict[tuple[Any, str], int] = {} if groups is None else groups
        self._parts: list[tuple[Any, Any, Any]] = []

    def add(self, rows: list[Any]) -> None:
        """Rows (k, stage, day, n) more."""
        if rows:
            self.add_columns(*numbered_columns(rows, self._groups, 2, 3))

    def add_columns(self, group: Any, day: Any, n: Any) -> None:
        """Rows more as numpy columns: each row's (k, stage) as its number in the groups
        this was made with (`numbered_columns`), its day and its clients."""
        self._parts.append((group, day, n))

    def medians(self) -> dict[tuple[Any, str], float]:
        """(k, stage) -> median whole days, for every (k, stage) with clients."""
        import numpy as np

        if not self._parts:
            return {}
        group, day, n = (np.concatenate(column) for column in zip(*self._parts, strict=True))
        if not len(n):
            return {}
        order = np.lexsort((day, group))
        group, day, n = group[order], day[order], n[order]
        # one row per (k, stage, day), its clients summed; only those above 0 (`medians_sql`)
        first = np.flatnonzero(np.r_[True, (group[1:] != group[:-1]) | (day[1:] != day[:-1])])
        n = np.add.reduceat(n, first)
        kept = n > 0
        group, day, n = group[first][kept], day[first][kept], n[kept]
        if not len(n):
            return {}
        # per (k, stage): the running count at each day and the total
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        sizes = np.diff(np.r_[starts, len(n)])
        running = np.cumsum(n)
        before = np.repeat(np.r_[0, running][starts], sizes)
        upto = running - before
        total = np.repeat(running[np.r_[starts[1:], len(n)] - 1] - before[starts], sizes)
        # the running count only grows, so a group's first day that reaches half the total
        # comes after as many of its days as do not
        low = day[starts + np.add.reduceat((2 * upto < total).astype(np.int64), starts)]
        high = day[starts + np.add.reduceat((2 * upto <= total).astype(np.int64), starts)]
        names = list(self._groups)
        return dict(
            zip(
                (names[g] for g in group[starts].tolist()),
                ((low + high) / 2).tolist(),
                strict=True,
            )
        )

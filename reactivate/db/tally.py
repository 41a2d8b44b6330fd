"""The report's tallies: counts and whole-day histograms per breakdown group.

`stage_tally` and `stage_days` (see `models.StageTally`, `models.StageDays`) are sums
over `client_stage` rows, grouped by breakdown. `db.stages` keeps them in step in the
transaction that rewrites summary rows: the rows about to be replaced are copied with
sign -1, the new ones with sign +1, and their sums are added to the tallies, so the
work is in proportion to the clients touched, whatever the campaign's size. A whole
campaign's rebuild clears its tallies and sums every row once.

Every breakdown but the cohort counts assigned clients only (advisor, not control);
the cohort breakdown also holds the control group and the members without an advisor
(arms `control`, `none`) with their assignment times, so the overall funnel, the arms
of the reactivation and the never-called count (assigned before a cut-off) read it.

Medians are of whole days (days elapsed from assignment, rounded down): a histogram
of small integers per group and stage gives them exactly (`median_of`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from reactivate.db import bulk
from reactivate.db.dialect import stored_time, time_type

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
_ASSIGNED = "advisor_code IS NOT NULL AND NOT control"
_ARM = "CASE WHEN control THEN 'control' WHEN advisor_code IS NULL THEN 'none' ELSE 'assigned' END"
#: The flags a tally counts clients by (besides the stages reached), each a bit of a cell.
_FLAGS = {
    "dnc": "dnc",
    "reactivated": "reactivated_at IS NOT NULL",
    "confirmed": "wecom_confirmed_at IS NOT NULL",
    "skipped": "skipped_stage",
    "quiet": "stages_reached = 0 AND NOT dnc AND NOT do_not_call",
    "dnc_calls": "do_not_call",
    "wecom_unconfirmed": "wecom_at IS NOT NULL AND wecom_confirmed_at IS NULL",
}
#: What the copy of a summary row being rewritten holds (`_DELTA`).
_ROW_COLUMNS = (
    "client_id",
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
_CELLS = "tally_cell"
_BATCH = 20_000
#: The histograms' trend breakdown: keyed by the week a stage was first reached.
WEEK = "week"
#: The trend's pseudo-stage of the WeCom adds confirmed by WeCom's API.
CONFIRMED = "confirmed"


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
        return f"to_char(date_trunc('week', ({moment}) AT TIME ZONE '{timezone}'), 'J')"
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


def monday_of(key: str) -> dt.date:
    """The Monday a `monday_sql` key names."""
    return dt.date.fromordinal(int(key) - _ORDINAL_TO_JDN)


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


def clear(conn: Connection, campaign_id: int) -> None:
    """Forget the campaign's tallies (before its whole summary is rebuilt)."""
    for table in ("stage_tally", "stage_days"):
        conn.execute(text(f"DELETE FROM {table} WHERE campaign_id = :cid"), {"cid": campaign_id})


def members(conn: Connection, campaign_id: int) -> int:
    """How many members the campaign's tallies count (the cohort breakdown holds them all)."""
    found = conn.execute(
        text("SELECT SUM(members) FROM stage_tally WHERE campaign_id = :cid AND dim = 'cohort'"),
        {"cid": campaign_id},
    ).scalar()
    return int(found or 0)


@dataclass(frozen=True)
class Funnel:
    """What the tallies need of a campaign: per stage, its days column and the SQL of the
    time the client first reached it; and the time zone weeks are counted in."""

    days: dict[str, str]
    first_time: dict[str, str]
    timezone: str


def add_campaign(conn: Connection, campaign_id: int, funnel: Funnel) -> None:
    """Tally every summary row of the campaign (after `clear` and a whole rebuild)."""
    _add(conn, campaign_id, funnel, "client_stage", "campaign_id = :cid", weighted=False)


def start_delta(conn: Connection, campaign_id: int, touched: str) -> None:
    """Copy the summary rows of the clients in table `touched`, about to be rewritten."""
    for statement in delta_before_sql(touched):
        conn.execute(text(statement), {"cid": campaign_id})


def finish_delta(conn: Connection, campaign_id: int, touched: str, funnel: Funnel) -> None:
    """Add the rewritten rows of the `touched` clients, take away the copies of the old
    ones (`start_delta`), and drop the groups left empty."""
    columns = ", ".join(_ROW_COLUMNS)
    conn.execute(
        text(
            f"INSERT INTO {_DELTA} (sign, {columns}) SELECT 1, {columns} FROM client_stage"
            f" WHERE campaign_id = :cid AND client_id IN (SELECT client_id FROM {touched})"
        ),
        {"cid": campaign_id},
    )
    _add(conn, campaign_id, funnel, _DELTA, "true", weighted=True)
    conn.exec_driver_sql(f"DROP TABLE {_DELTA}")
    for statement in _drop_empty_sql():
        conn.execute(text(statement), {"cid": campaign_id})


def _drop_empty_sql() -> list[str]:
    return [
        f"DELETE FROM {table} WHERE campaign_id = :cid AND {count} = 0"
        for table, count in (("stage_tally", "members"), ("stage_days", "clients"))
    ]


def delta_before_sql(touched: str) -> list[str]:
    """`start_delta`'s statements (parameter :cid), for `delta_after_sql` too."""
    return [
        f"DROP TABLE IF EXISTS {_DELTA}",
        f"CREATE TEMPORARY TABLE {_DELTA} AS SELECT -1 AS sign, {', '.join(_ROW_COLUMNS)}"
        f" FROM client_stage WHERE campaign_id = :cid"
        f" AND client_id IN (SELECT client_id FROM {touched})",
    ]


def delta_after_sql(touched: str, funnel: Funnel) -> list[str]:
    """PostgreSQL: `finish_delta` as statements alone (parameters :cid and :no_time), the
    few rows of a delta counted into cells by one GROUP BY. The per-client refresh runs
    these on PostgreSQL, and so does the database function an advisor's upload calls
    (`access`): one definition for both."""
    columns = ", ".join(_ROW_COLUMNS)
    keys, profile, trend = _cell_columns(funnel, sqlite=False)
    names = _cell_names(len(funnel.days))
    blank = ["NULL"] * len(trend)
    parts = [
        f"SELECT 'cohort' AS dim, {keys[0]} AS gk, COALESCE(assigned_at, :no_time) AS at,"
        f" {', '.join(f'{sql} AS {name}' for sql, name in zip((*profile, *trend), names[3:], strict=True))},"
        f" sign AS n FROM {_DELTA}"
    ]
    for dim, key in zip(list(DIMENSIONS)[1:], keys[1:], strict=True):
        parts.append(
            f"SELECT '{dim}', {key}, :no_time, {', '.join((*profile, *blank))}, sign"
            f" FROM {_DELTA} WHERE {_ASSIGNED}"
        )
    grouped = ", ".join(names)
    return [
        f"INSERT INTO {_DELTA} (sign, {columns}) SELECT 1, {columns} FROM client_stage"
        f" WHERE campaign_id = :cid AND client_id IN (SELECT client_id FROM {touched})",
        f"DROP TABLE IF EXISTS {_CELLS}",
        f"CREATE TEMPORARY TABLE {_CELLS} AS SELECT {grouped}, SUM(n) AS n"
        f" FROM ({' UNION ALL '.join(parts)}) c GROUP BY {grouped} HAVING SUM(n) <> 0",
        f"DROP TABLE {_DELTA}",
        _counts_sql(),
        _days_sql(list(funnel.days)),
        f"DROP TABLE {_CELLS}",
        *_drop_empty_sql(),
    ]


def _cell_columns(funnel: Funnel, *, sqlite: bool) -> tuple[list[str], list[str], list[str]]:
    """SQL over a summary row of what its tally cell is made of: (each breakdown's key,
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


def _cell_names(n_days: int) -> list[str]:
    """The columns of `tally_cell`, but its count `n`."""
    names = ["dim", "gk", "at", "arm", "sr", "flags"]
    return names + [f"d{i}" for i in range(n_days)] + [f"w{i}" for i in range(n_days)] + ["wc"]


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
) -> None:
    """Add to the tallies the sums over `rows` (each row counted once, or `weighted` by
    its `sign` column).

    Clients alike in everything the tallies count (group, arm, stages reached, flags,
    whole days to each stage and, for the trend, the week each stage was first reached)
    are first counted as one cell of `tally_cell`, per breakdown; the tallies are then
    sums over the cells, a few thousand rows. The cells are counted in Python from one
    read of the rows: SQLite would sort every client once per breakdown (about 5 s per
    breakdown at a million clients on our machine, against about 2 s for all of this).
    """
    sqlite = conn.dialect.name == "sqlite"
    stages = list(funnel.days)
    keys, profile_sql, weeks = _cell_columns(funnel, sqlite=sqlite)
    days = profile_sql[3:]
    selected = [*keys, "assigned_at", *profile_sql, *weeks, "sign" if weighted else "1"]
    # streamed (a server-side cursor on PostgreSQL): a campaign's rows are never all in memory
    found = conn.execute(
        text(f"SELECT {', '.join(selected)} FROM {rows} WHERE {where}").execution_options(
            yield_per=_BATCH
        ),
        {"cid": campaign_id},
    )
    n_keys, n_days = len(keys), len(days)
    profile = slice(n_keys + 1, n_keys + 4 + n_days)  # arm, stages reached, flags, days
    trend = slice(n_keys + 4 + n_days, n_keys + 5 + n_days + n_days)
    no_time = stored_time(conn)(NO_TIME)
    blank = (None,) * (n_days + 1)
    cells: Counter[tuple[Any, ...]] = Counter()
    for row in found:
        weight = row[-1]
        arm = row[n_keys + 1]
        common = tuple(row[profile])
        at = row[n_keys] if row[n_keys] is not None else no_time
        cells[("cohort", row[0], at, *common, *row[trend])] += weight
        if arm == "assigned":
            for i, dim in enumerate(DIMENSIONS):
                if dim != "cohort":
                    cells[(dim, row[i], no_time, *common, *blank)] += weight
    names = _cell_names(n_days)
    types = ["TEXT", "TEXT", time_type(conn), "TEXT", "INTEGER", "INTEGER"]
    types += ["INTEGER"] * n_days + ["TEXT"] * (n_days + 1)
    bulk.stage(
        conn,
        _CELLS,
        {**dict(zip(names, types, strict=True)), "n": "INTEGER"},
        ((*cell, n) for cell, n in cells.items() if n),
    )
    conn.execute(text(_counts_sql()), {"cid": campaign_id})
    conn.execute(text(_days_sql(stages)), {"cid": campaign_id})
    conn.exec_driver_sql(f"DROP TABLE {_CELLS}")


def _flag(name: str) -> str:
    return f"(flags & {1 << list(_FLAGS).index(name)}) <> 0"


def _counts_sql() -> str:
    """The cells' counts summed into `stage_tally`, per breakdown group (parameter :cid)."""
    sums = {
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
    names = ", ".join(sums)
    update = ", ".join(f"{n} = stage_tally.{n} + excluded.{n}" for n in sums)
    return (
        f"INSERT INTO stage_tally (campaign_id, dim, key, assigned_at, arm, {names})"
        f" SELECT :cid, dim, gk, at, arm, {', '.join(sums.values())} FROM {_CELLS}"
        f" WHERE true GROUP BY dim, gk, at, arm"
        f" ON CONFLICT (campaign_id, dim, key, assigned_at, arm) DO UPDATE SET {update}"
    )


def _days_sql(stages: list[str]) -> str:
    """The cells' whole days to each stage summed into `stage_days`: per breakdown group,
    and for the trend per week of first reaching (cohort cells hold every assigned client).
    Parameter :cid."""
    parts = []
    for i, stage in enumerate(stages):
        assigned = f"arm = 'assigned' AND d{i} IS NOT NULL"
        parts.append(
            f"SELECT dim, gk, '{stage}' AS stage, d{i} AS day, SUM(n) AS clients FROM {_CELLS}"
            f" WHERE {assigned} GROUP BY dim, gk, d{i}"
        )
        parts.append(
            f"SELECT '{WEEK}', w{i}, '{stage}', d{i}, SUM(n) FROM {_CELLS}"
            f" WHERE dim = 'cohort' AND {assigned} GROUP BY w{i}, d{i}"
        )
    parts.append(
        f"SELECT '{WEEK}', wc, '{CONFIRMED}', 0, SUM(n) FROM {_CELLS}"
        f" WHERE dim = 'cohort' AND arm = 'assigned' AND wc IS NOT NULL GROUP BY wc"
    )
    return (
        "INSERT INTO stage_days (campaign_id, dim, key, stage, day, clients)"
        f" SELECT :cid, d.* FROM ({' UNION ALL '.join(parts)}) d WHERE true"
        " ON CONFLICT (campaign_id, dim, key, stage, day)"
        " DO UPDATE SET clients = stage_days.clients + excluded.clients"
    )


def median_of(histogram: Iterable[tuple[int, int]]) -> float | None:
    """The exact median of the values a histogram of (value, how many) holds: the middle
    one, or the mean of the middle two (None when empty)."""
    ordered = sorted((value, n) for value, n in histogram if n)
    total = sum(n for _value, n in ordered)
    if not total:
        return None
    low_rank, high_rank = (total - 1) // 2, total // 2  # 0-based ranks of the middle
    low = high = None
    seen = 0
    for value, n in ordered:
        if low is None and low_rank < seen + n:
            low = value
        if high_rank < seen + n:
            high = value
            break
        seen += n
    assert low is not None and high is not None
    return (low + high) / 2


def medians_by(rows: Iterable[Any]) -> dict[tuple[Any, str], float]:
    """(group key, stage) -> median, from rows of (key, stage, day, clients)."""
    grouped: dict[tuple[Any, str], list[tuple[int, int]]] = {}
    for key, stage, day, clients in rows:
        grouped.setdefault((key, stage), []).append((int(day), int(clients)))
    found = {}
    for group, histogram in grouped.items():
        median = median_of(histogram)
        if median is not None:
            found[group] = median
    return found

"""The manager's report: SQL aggregates over the per-client stage summary -> a plain `Report`.

Every figure is computed in the database (GROUP BY over `client_stage`, joined to `client`
for keys), never by a Python loop over clients. The summary already holds, per client,
how many stages they count at and the days to each (`reactivate.db.stages`), so counts are
one pass and, on SQLite, medians are read from its indexes: a report over a million
clients takes about a second. Rendering lives in `reactivate.render`; nothing here prints.

Counting rules (see `reactivate.rules.funnel`): the denominator is the assigned clients (members
with an advisor, not in the control group). A client counts at a stage when they have
evidence for it or for any later stage of the campaign; "first reaching the stage" is the
earliest of those times. With a window (`since`/`until`), only evidence dated inside it
counts, read from the events (voided events excluded) over the same assigned clients.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, text
from sqlmodel.sql.sqltypes import UTCDateTime

from reactivate import registry
from reactivate.clock import local, utcnow
from reactivate.db import stages
from reactivate.errors import ConfigError
from reactivate.messages import t
from reactivate.privacy import mask_mobile, mask_name
from reactivate.rules import funnel, stats
from reactivate.rules.campaign import Campaign

#: Breakdowns `--by` accepts: funnels per group, or the attempt (dialer pass) report.
BREAKDOWNS = ("advisor", "branch", "week", "risk", "asset_band", "attempt")
#: Breakdowns whose groups are ranked by the lower bound of a stage's interval.
RANKED = frozenset({"advisor", "branch"})

_ASSIGNED = "cs.advisor_code IS NOT NULL AND NOT cs.control"
# `+cs.campaign_id`: a plain scan of the summary; through an index SQLite would fetch each
# row by a random lookup, 10x slower for a campaign that fills the table
_CAMPAIGN = "+cs.campaign_id = :cid"
#: What a report reads of each assigned client besides the funnel columns.
_FACTS = (
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
)


@dataclass(frozen=True)
class ReportOptions:
    """What to report: a breakdown, a ranking stage, a drop-off list, a window of dates."""

    by: str | None = None
    rank_by: str | None = None
    dropped: str | None = None
    since: dt.date | None = None  # first day counted, in the campaign's time zone
    until: dt.date | None = None  # last day counted (inclusive)
    stale_days: int = 7
    as_of: dt.datetime | None = None  # "now" for never-called-after-N-days; default: now


@dataclass(frozen=True)
class StageFigures:
    """One stage of a funnel over `assigned` clients."""

    stage: str
    clients: int
    of_assigned: float | None
    of_previous: float | None
    ci95: tuple[float, float] | None
    target: float | None
    met: bool | None
    median_days: float | None
    confirmed: int | None = None  # wecom_added only: confirmed by WeCom's API

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "stage": self.stage,
            "clients": self.clients,
            "of_assigned": _round(self.of_assigned),
            "of_previous": _round(self.of_previous),
            "ci95": [_round(v) for v in self.ci95] if self.ci95 else None,
            "target": self.target,
            "met": self.met,
            "median_days": _round(self.median_days, 2),
        }
        if self.stage == funnel.WECOM_ADDED:
            data["confirmed"] = self.confirmed or 0
        return data


@dataclass(frozen=True)
class Group:
    """A funnel over one group's own assigned clients (an advisor, a branch, a week, ...)."""

    key: str
    name: str
    assigned: int
    stages: tuple[StageFigures, ...]

    def stage(self, name: str) -> StageFigures:
        return next(s for s in self.stages if s.stage == name)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "assigned": self.assigned,
            "stages": [s.to_json() for s in self.stages],
        }


@dataclass(frozen=True)
class Arm:
    """Reactivation in one arm of the comparison (treated or control)."""

    clients: int
    reactivated: int

    @property
    def rate(self) -> float | None:
        return self.reactivated / self.clients if self.clients else None

    def to_json(self) -> dict[str, Any]:
        return {"clients": self.clients, "reactivated": self.reactivated, "rate": _round(self.rate)}


@dataclass(frozen=True)
class Reactivation:
    """Did clients trade again: treated vs control, and the uplift in percentage points.

    `by_stage` (reactivation among assigned clients by stage reached) is descriptive:
    clients who answer were likelier to come back anyway, so it shows no cause.
    """

    treated: Arm
    control: Arm | None
    uplift: float | None  # percentage points: 100 * (treated rate - control rate)
    ci95: tuple[float, float] | None  # Newcombe hybrid score interval, percentage points
    by_stage: tuple[tuple[str, Arm], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "treated": self.treated.to_json(),
            "control": self.control.to_json() if self.control else None,
            "uplift": _round(self.uplift, 2),
            "ci95": [_round(v, 2) for v in self.ci95] if self.ci95 else None,
            "by_stage": [{"stage": s, **arm.to_json()} for s, arm in self.by_stage],
        }


@dataclass(frozen=True)
class AttemptRow:
    """Dialer pass `attempt`: clients called at least that often, and reached by that call."""

    attempt: int
    called: int
    reached: int

    @property
    def share(self) -> float | None:
        return self.reached / self.called if self.called else None

    def to_json(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "called": self.called,
            "reached": self.reached,
            "share": _round(self.share),
        }


@dataclass(frozen=True)
class DroppedClient:
    """A client who reached the stage before `--dropped STAGE` but not it; personal data masked."""

    client_id: str
    name: str
    mobile: str
    advisor_code: str | None
    advisor_name: str | None
    last_call_at: dt.datetime | None
    callback_at: dt.datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "name": self.name,
            "mobile": self.mobile,
            "advisor": self.advisor_code,
            "advisor_name": self.advisor_name,
            "last_call_at": self.last_call_at.isoformat() if self.last_call_at else None,
            "callback_at": self.callback_at.isoformat() if self.callback_at else None,
        }


@dataclass(frozen=True)
class DataQuality:
    """What may make the figures less true than they look."""

    skipped_stage: int  # later evidence without earlier (counted, flagged)
    stale_days: int
    never_called: int  # assigned over `stale_days` ago, no evidence at all, not do-not-call
    dnc_members: int  # members on the do-not-call list
    dnc_calls: int  # assigned clients whose call ended with do-not-call
    uploads_refused: int
    rows_rejected: int
    silent_advisors: tuple[tuple[str, str], ...]  # (code, name) with clients and no upload
    wecom_unconfirmed: int  # self-reported WeCom adds WeCom does not show
    wecom_synced: bool  # a WeCom sync ever ran (else unconfirmed means nothing yet)

    def to_json(self) -> dict[str, Any]:
        return {
            "skipped_stage": self.skipped_stage,
            "stale_days": self.stale_days,
            "never_called": self.never_called,
            "dnc_members": self.dnc_members,
            "dnc_calls": self.dnc_calls,
            "uploads_refused": self.uploads_refused,
            "rows_rejected": self.rows_rejected,
            "silent_advisors": [{"key": c, "name": n} for c, n in self.silent_advisors],
            "wecom_unconfirmed": self.wecom_unconfirmed if self.wecom_synced else None,
            "wecom_synced": self.wecom_synced,
        }


@dataclass(frozen=True)
class Report:
    """Everything a report shows, as plain data; `to_json` is the stable contract."""

    campaign: str
    campaign_name: str
    timezone: str
    generated_at: dt.datetime
    assigned: int
    control: int
    stages: tuple[StageFigures, ...]
    reactivation: Reactivation | None
    by: str | None
    groups: tuple[Group, ...]
    ranked_by: str | None
    data_quality: DataQuality
    window: tuple[dt.date | None, dt.date | None] | None = None
    attempts: tuple[AttemptRow, ...] = ()
    dropped_stage: str | None = None
    dropped: tuple[DroppedClient, ...] = field(default=())

    def stage(self, name: str) -> StageFigures:
        return next(s for s in self.stages if s.stage == name)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "campaign": self.campaign,
            "assigned": self.assigned,
            "control": self.control,
            "stages": [s.to_json() for s in self.stages],
            "reactivation": self.reactivation.to_json() if self.reactivation else None,
            "by": self.by,
            "groups": [g.to_json() for g in self.groups],
            "ranked_by": self.ranked_by,
            "window": (
                {"since": _iso(self.window[0]), "until": _iso(self.window[1])}
                if self.window
                else None
            ),
            "data_quality": self.data_quality.to_json(),
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
        }
        if self.by == "attempt":
            data["attempts"] = [a.to_json() for a in self.attempts]
        if self.dropped_stage:
            data["dropped"] = {
                "stage": self.dropped_stage,
                "clients": [c.to_json() for c in self.dropped],
            }
        return data


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


# --- the use case -------------------------------------------------------------------------


def build_report(engine: Engine, slug: str, options: ReportOptions | None = None) -> Report:
    """The report of campaign `slug`; raises `ConfigError` for options that do not fit it."""
    options = options or ReportOptions()
    registered = registry.get(engine, slug)
    campaign = registered.config
    _check(options, campaign)
    with engine.connect() as conn:
        builder = _Builder(conn, registered.id, campaign, options)
        report = builder.build()
        conn.rollback()  # read only; drops nothing but ends the transaction cleanly
    return report


def _check(options: ReportOptions, campaign: Campaign) -> None:
    if options.by is not None and options.by not in BREAKDOWNS:
        raise ConfigError(t("report.bad_by", value=options.by, choices=", ".join(BREAKDOWNS)))
    for flag, stage in (("--rank-by", options.rank_by), ("--dropped", options.dropped)):
        if stage is not None and stage not in campaign.stages:
            raise ConfigError(
                t("report.bad_stage", flag=flag, value=stage, stages=", ".join(campaign.stages))
            )
    if options.since and options.until and options.since > options.until:
        raise ConfigError(t("report.bad_window", since=options.since, until=options.until))
    if options.stale_days < 0:
        raise ConfigError(t("report.bad_stale", value=options.stale_days))


class _Builder:
    """The SQL of one report, for one connection and dialect."""

    def __init__(
        self, conn: Connection, campaign_id: int, campaign: Campaign, options: ReportOptions
    ) -> None:
        self.conn = conn
        self.campaign_id = campaign_id
        self.campaign = campaign
        self.options = options
        self.stages = campaign.stages
        self.sqlite = conn.dialect.name == "sqlite"
        self.params: dict[str, Any] = {"cid": campaign_id}
        self.windowed = options.since is not None or options.until is not None
        self.days = [stages.DAYS_COLUMNS[stage] for stage in self.stages]
        self.materialized = False  # counts read `report_days` once `materialize` filled it

    # - SQL pieces -

    def _sql(self, sql: str, **params: Any) -> Any:
        statement = text(sql)
        merged = {**self.params, **params}
        used = {k: v for k, v in merged.items() if f":{k}" in sql}
        typed = [
            bindparam(k, type_=UTCDateTime()) for k, v in used.items() if isinstance(v, dt.datetime)
        ]
        if typed:
            statement = statement.bindparams(*typed)
        return self.conn.execute(statement, used)

    def _source(self) -> str:
        """The assigned clients with their funnel columns (whole history or window)."""
        funnel_names = ["stages_reached", "skipped_stage", *self.days]
        if not self.windowed:
            columns = ", ".join(f"cs.{c}" for c in (*_FACTS, *funnel_names))
            return f"SELECT {columns} FROM client_stage cs WHERE {_CAMPAIGN} AND {_ASSIGNED}"
        tz = self.campaign.tz
        bounds = []
        if self.options.since is not None:
            self.params["since"] = dt.datetime.combine(self.options.since, dt.time(), tz)
            bounds.append("e.occurred_at >= :since")
        if self.options.until is not None:
            end = self.options.until + dt.timedelta(days=1)
            self.params["until"] = dt.datetime.combine(end, dt.time(), tz)
            bounds.append("e.occurred_at < :until")
        reached = ", ".join(f"'{d}'" for d in sorted(funnel.REACHED_DISPOSITIONS))
        call, wecom = funnel.EVENT_CALL, funnel.EVENT_WECOM
        window = f"""
            SELECT e.client_id,
              MIN(CASE WHEN e.stage = '{call}' THEN e.occurred_at END) AS called_at,
              MIN(CASE WHEN e.stage = '{call}' AND e.value IN ({reached}) THEN e.occurred_at END)
                AS reached_at,
              MIN(CASE WHEN e.stage = '{wecom}' THEN e.occurred_at END) AS wecom_at,
              MIN(CASE WHEN e.stage = '{wecom}' AND e.source = 'wecom' THEN e.occurred_at END)
                AS wecom_confirmed_at,
              MIN(CASE WHEN e.stage = '{funnel.EVENT_PUSHED}' THEN e.occurred_at END) AS pushed_at,
              MIN(CASE WHEN e.stage = '{funnel.EVENT_CONVERTED}' THEN e.occurred_at END)
                AS converted_at
            FROM event e
            WHERE e.campaign_id = :cid AND {" AND ".join(bounds)}
              AND e.stage IN ('{call}', '{wecom}', '{funnel.EVENT_PUSHED}', '{funnel.EVENT_CONVERTED}')
              AND NOT EXISTS (SELECT 1 FROM event v WHERE v.voids_event_id = e.id)
            GROUP BY e.client_id"""
        facts = (
            "SELECT cs.client_id, cs.advisor_code, cs.assigned_at, cs.control, w.called_at,"
            " w.reached_at, w.wecom_at, w.wecom_confirmed_at, w.pushed_at, w.converted_at,"
            " cs.reactivated_at, cs.dnc, cs.do_not_call, cs.last_call_at, cs.callback_at"
            f" FROM client_stage cs LEFT JOIN ({window}) w ON w.client_id = cs.client_id"
            f" WHERE {_CAMPAIGN} AND {_ASSIGNED}"
        )
        # the same funnel columns `stages.refresh` stores, from the window's first times
        derived = stages.funnel_columns(self.stages, sqlite=self.sqlite)
        windowed = ", ".join(f"{sql} AS {name}" for name, sql in derived.items())
        return f"SELECT {', '.join(_FACTS)}, {windowed} FROM ({facts}) f"

    def _keyed(self, by: str | None) -> tuple[str, str]:
        """(FROM clause with `s` and its joins, key expression) for breakdown `by`."""
        source = f"({self._source()}) s"
        if by is None:
            return source, "''"
        if by == "advisor":
            return source, "s.advisor_code"
        if by == "week":
            self._stage_weeks()
            return (
                f"{source} LEFT JOIN report_week wk ON wk.assigned_at = s.assigned_at",
                "wk.monday",
            )
        joined = f"{source} JOIN client c ON c.client_id = s.client_id"
        if by == "branch":
            return joined, "c.branch"
        if by == "risk":
            return joined, "c.risk"
        edges = self.campaign.asset_edges
        cases = " ".join(
            f"WHEN c.assets < {edge!r} THEN '{funnel.asset_band(edges[i - 1] if i else float('-inf'), edges)}'"
            for i, edge in enumerate(edges)
        )
        last = funnel.asset_band(edges[-1], edges)
        return joined, f"CASE WHEN c.assets IS NULL THEN 'unknown' {cases} ELSE '{last}' END"

    def _stage_weeks(self) -> None:
        """A temporary table: each distinct assignment time -> Monday of its ISO week (campaign tz).

        Assignment times are few (one per assign run), so mapping them in Python is cheap
        and exact in any time zone, where SQLite alone knows no zones.
        """
        from reactivate.db import bulk

        moments = [
            row[0]
            for row in self.conn.exec_driver_sql(
                "SELECT DISTINCT assigned_at FROM client_stage"
                f" WHERE +campaign_id = {int(self.campaign_id)} AND assigned_at IS NOT NULL"
            )
        ]
        tz = self.campaign.tz
        rows = []
        for moment in moments:
            parsed = dt.datetime.fromisoformat(moment) if isinstance(moment, str) else moment
            day = local(parsed, tz).date()
            rows.append((moment, (day - dt.timedelta(days=day.weekday())).isoformat()))
        column_type = "TEXT" if self.sqlite else "TIMESTAMPTZ"
        bulk.stage(
            self.conn,
            "report_week",
            {"assigned_at": f"{column_type} PRIMARY KEY", "monday": "TEXT"},
            rows,
        )

    # - queries -

    def counts(self, by: str | None) -> dict[Any, dict[str, int]]:
        """Per group: assigned, clients at each stage, confirmed, and data-quality counts."""
        source, key = ("report_days s", "s.k") if self.materialized else self._keyed(by)
        # COUNT(*) FILTER, not SUM(CASE ...): SQLite skips the step instead of adding 0
        # (twice as fast over a million clients)
        parts = ["COUNT(*) AS assigned", "COUNT(s.wecom_confirmed_at) AS confirmed"]
        for i in range(len(self.stages)):
            parts.append(f"COUNT(*) FILTER (WHERE s.stages_reached > {i}) AS n{i}")
            parts.append(
                "COUNT(*) FILTER (WHERE s.reactivated_at IS NOT NULL"
                f" AND s.stages_reached > {i}) AS r{i}"
            )
        self.params["stale_before"] = (self.options.as_of or utcnow()) - dt.timedelta(
            days=self.options.stale_days
        )
        parts += [
            "COUNT(s.reactivated_at) AS reactivated",
            "COUNT(*) FILTER (WHERE s.skipped_stage) AS skipped",
            "COUNT(*) FILTER (WHERE s.stages_reached = 0 AND NOT s.dnc AND NOT s.do_not_call"
            " AND s.assigned_at < :stale_before) AS never_called",
            "COUNT(*) FILTER (WHERE s.do_not_call) AS dnc_calls",
            "COUNT(*) FILTER (WHERE s.wecom_at IS NOT NULL AND s.wecom_confirmed_at IS NULL)"
            " AS wecom_unconfirmed",
        ]
        group_by = f"GROUP BY {key}" if by is not None else ""  # PostgreSQL refuses GROUP BY ''
        sql = f"SELECT {key} AS k, {', '.join(parts)} FROM {source} {group_by}"
        result = self._sql(sql)
        return {
            row.k: {k: int(v or 0) for k, v in row._mapping.items() if k != "k"} for row in result
        }

    def medians(self, by: str | None) -> tuple[dict[int, float], dict[tuple[Any, int], float]]:
        """Median days from assignment to first reaching each stage: overall, and per group."""
        if not self.sqlite:
            source, key = self._keyed(by)
            arms = " UNION ALL ".join(
                f"SELECT {key} AS k, {i} AS st, s.{days} AS d FROM {source} WHERE s.{days} IS NOT NULL"
                for i, days in enumerate(self.days)
            )
            median = "percentile_cont(0.5) WITHIN GROUP (ORDER BY d)"
            totals = self._sql(f"SELECT st, {median} AS m FROM ({arms}) d GROUP BY st")
            firsts = {int(row.st): float(row.m) for row in totals}
            if by is None:
                return firsts, {}
            grouped = self._sql(f"SELECT k, st, {median} AS m FROM ({arms}) d GROUP BY k, st")
            return firsts, {(row.k, int(row.st)): float(row.m) for row in grouped}
        # SQLite has no median: each stage's durations are read in order from a partial
        # index, and the middle one or two rows picked by OFFSET. Over the whole history the
        # summary's own indexes hold them (nothing to sort); a window's, and each group's,
        # are indexed on `report_days` (see `materialize`), from an index led by the key.
        run = self.conn.exec_driver_sql
        overall: dict[int, float] = {}
        groups: dict[tuple[Any, int], float] = {}
        for i, days in enumerate(self.days):
            present = f"{days} IS NOT NULL"
            table, where = "client_stage", f"campaign_id = ? AND {present}"
            scope: tuple[Any, ...] = (self.campaign_id,)
            if self.windowed:
                run(f"CREATE INDEX temp.report_days_{i} ON report_days({days}) WHERE {present}")
                table, where, scope = "report_days", present, ()
            count = run(f"SELECT COUNT(*) FROM {table} WHERE {where}", scope).scalar_one()
            if count:
                middle = _middle_sql(table, days, where, "")
                offset = (2 - count % 2, (count - 1) // 2)
                overall[i] = float(run(middle, (*scope, *offset)).scalar_one())
            if by is None:
                continue
            run(f"CREATE INDEX temp.report_days_k{i} ON report_days(k, {days}) WHERE {present}")
            per_key = run(f"SELECT k, COUNT(*) FROM report_days WHERE {present} GROUP BY k").all()
            for raw_key, size in per_key:
                of_key = "AND k IS NULL" if raw_key is None else "AND k = ?"
                key_params: tuple[Any, ...] = () if raw_key is None else (raw_key,)
                middle = _middle_sql("report_days", days, present, of_key)
                offset = (2 - size % 2, (size - 1) // 2)
                groups[(raw_key, i)] = float(run(middle, (*key_params, *offset)).scalar_one())
        return overall, groups

    def materialize(self, by: str | None) -> None:
        """SQLite: the assigned clients' keys and what counts and medians read, in one scan.

        A breakdown's key may need a join (branch, risk, ...) and a window's funnel columns
        come from the events: both are worked out once here, for counts and for the
        per-group (or windowed) median indexes alike.
        """
        source, key = self._keyed(by)
        columns = ", ".join(
            f"s.{c}"
            for c in (
                "assigned_at",
                "stages_reached",
                "skipped_stage",
                *self.days,
                "wecom_at",
                "wecom_confirmed_at",
                "reactivated_at",
                "dnc",
                "do_not_call",
            )
        )
        self.conn.exec_driver_sql("DROP TABLE IF EXISTS report_days")
        self._sql(
            f"CREATE TEMPORARY TABLE report_days AS SELECT {key} AS k, {columns} FROM {source}"
        )
        self.materialized = True

    def arms(self) -> dict[bool, tuple[int, int, int]]:
        """Per arm (control or not): members, reactivated, on the do-not-call list."""
        # filtered counts, not GROUP BY control: one streaming pass, no sort of every member
        sql = """
            SELECT COUNT(*) FILTER (WHERE cs.control) AS cn,
                   COUNT(cs.reactivated_at) FILTER (WHERE cs.control) AS cr,
                   COUNT(*) FILTER (WHERE cs.control AND cs.dnc) AS cd,
                   COUNT(*) FILTER (WHERE NOT cs.control) AS tn,
                   COUNT(cs.reactivated_at) FILTER (WHERE NOT cs.control) AS tr,
                   COUNT(*) FILTER (WHERE NOT cs.control AND cs.dnc) AS td
            FROM client_stage cs WHERE +cs.campaign_id = :cid"""
        row = self._sql(sql).one()
        return {
            True: (int(row.cn or 0), int(row.cr or 0), int(row.cd or 0)),
            False: (int(row.tn or 0), int(row.tr or 0), int(row.td or 0)),
        }

    def activity_loaded(self) -> bool:
        """Reactivation is known once an activity export was imported or a reactivation recorded."""
        imported = self._sql(
            "SELECT 1 FROM import_record WHERE kind = 'activity'"
            " AND (campaign_id = :cid OR campaign_id IS NULL) AND status = 'applied'"
        ).first()
        if imported is not None:
            return True
        return (
            self._sql(
                "SELECT 1 FROM client_stage cs WHERE +cs.campaign_id = :cid AND cs.reactivated_at IS NOT NULL LIMIT 1"
            ).first()
            is not None
        )

    def attempts(self) -> tuple[AttemptRow, ...]:
        """Which call reached each reached client, against clients called at least that often."""
        reached_sql = f"""
            SELECT ord, COUNT(*) AS n FROM (
              SELECT cs.client_id, COUNT(DISTINCT e.occurred_at) AS ord
              FROM client_stage cs
              JOIN event e ON e.campaign_id = cs.campaign_id AND e.client_id = cs.client_id
              WHERE {_CAMPAIGN} AND {_ASSIGNED} AND cs.reached_at IS NOT NULL
                AND e.stage = '{funnel.EVENT_CALL}' AND e.occurred_at <= cs.reached_at
                AND NOT EXISTS (SELECT 1 FROM event v WHERE v.voids_event_id = e.id)
              GROUP BY cs.client_id) x
            GROUP BY ord"""
        reached = {int(row.ord): int(row.n) for row in self._sql(reached_sql)}
        calls_sql = f"""
            SELECT cs.calls AS calls, COUNT(*) AS n FROM client_stage cs
            WHERE {_CAMPAIGN} AND {_ASSIGNED} AND cs.calls > 0 GROUP BY cs.calls"""
        by_calls = {int(row.calls): int(row.n) for row in self._sql(calls_sql)}
        top = max([*by_calls, *reached, 0])
        rows = []
        at_least = 0
        for attempt in range(top, 0, -1):  # clients called at least n times: a suffix sum
            at_least += by_calls.get(attempt, 0)
            rows.append(AttemptRow(attempt, at_least, reached.get(attempt, 0)))
        return tuple(reversed(rows))

    def dropped(self, stage: str) -> tuple[DroppedClient, ...]:
        # reached the stage before (or it is the first) but neither it nor any later one
        reached_before = self.stages.index(stage)
        sql = f"""
            SELECT s.client_id, c.name, c.mobile, s.advisor_code, a.name AS advisor_name,
                   s.last_call_at, s.callback_at
            FROM ({self._source()}) s
            JOIN client c ON c.client_id = s.client_id
            LEFT JOIN advisor a ON a.code = s.advisor_code
            WHERE s.stages_reached = {reached_before}
            ORDER BY s.advisor_code, s.client_id"""
        statement = text(sql).columns(last_call_at=UTCDateTime(), callback_at=UTCDateTime())
        used = {k: v for k, v in self.params.items() if f":{k}" in sql}
        typed = [
            bindparam(k, type_=UTCDateTime()) for k, v in used.items() if isinstance(v, dt.datetime)
        ]
        if typed:
            statement = statement.bindparams(*typed)
        tz = self.campaign.tz
        return tuple(
            DroppedClient(
                client_id=row.client_id,
                name=mask_name(row.name),
                mobile=mask_mobile(row.mobile),
                advisor_code=row.advisor_code,
                advisor_name=row.advisor_name,
                last_call_at=local(row.last_call_at, tz) if row.last_call_at else None,
                callback_at=local(row.callback_at, tz) if row.callback_at else None,
            )
            for row in self.conn.execute(statement, used)
        )

    def uploads(self) -> tuple[int, int]:
        """(results uploads refused, rows rejected over all results uploads)."""
        refused = rejected = 0
        for status, counts in self._sql(
            "SELECT status, counts FROM import_record WHERE kind = 'results' AND campaign_id = :cid"
        ):
            refused += status == "refused"
            try:
                value = json.loads(counts or "{}").get("rejected", 0)
            except (ValueError, AttributeError):
                value = 0
            rejected += int(value) if isinstance(value, int | float) else 0
        return refused, rejected

    def silent_advisors(self) -> tuple[tuple[str, str], ...]:
        # control members have no advisor: the advisor index alone answers the DISTINCT
        sql = """
            SELECT x.advisor_code AS code, COALESCE(a.name, '') AS name FROM (
              SELECT DISTINCT cs.advisor_code FROM client_stage cs
              WHERE cs.campaign_id = :cid AND cs.advisor_code IS NOT NULL) x
            LEFT JOIN advisor a ON a.code = x.advisor_code
            WHERE NOT EXISTS (SELECT 1 FROM event e WHERE e.campaign_id = :cid
                              AND e.source = 'upload' AND e.advisor_code = x.advisor_code)
            ORDER BY x.advisor_code"""
        return tuple((row.code, row.name) for row in self._sql(sql))

    def wecom_synced(self) -> bool:
        sql = "SELECT 1 FROM event WHERE campaign_id = :cid AND source = 'wecom' LIMIT 1"
        return self._sql(sql).first() is not None

    def advisor_names(self) -> dict[str, str]:
        return {row.code: row.name for row in self._sql("SELECT code, name FROM advisor")}

    # - assembly -

    def funnel(
        self, counts: Mapping[str, int], medians: Mapping[int, float]
    ) -> tuple[StageFigures, ...]:
        assigned = counts["assigned"]
        out: list[StageFigures] = []
        previous: int | None = None
        for i, stage in enumerate(self.stages):
            n = counts[f"n{i}"]
            target = self.campaign.targets.get(stage)
            share = n / assigned if assigned else None
            out.append(
                StageFigures(
                    stage=stage,
                    clients=n,
                    of_assigned=share,
                    of_previous=(n / previous if previous else None) if i else None,
                    ci95=stats.wilson(n, assigned),
                    target=target,
                    met=None if target is None or share is None else share >= target,
                    median_days=medians.get(i),
                    confirmed=counts["confirmed"] if stage == funnel.WECOM_ADDED else None,
                )
            )
            previous = n
        return tuple(out)

    def groups(
        self,
        by: str,
        counts: Mapping[Any, Mapping[str, int]],
        medians: Mapping[tuple[Any, int], float],
    ) -> tuple[tuple[Group, ...], str | None]:
        names = self.advisor_names() if by == "advisor" else {}
        by_key: dict[Any, dict[int, float]] = {}
        for (raw_key, i), value in medians.items():
            by_key.setdefault(raw_key, {})[i] = value
        groups = []
        for raw, figures in counts.items():
            key, name = _label(by, raw, names)
            per_stage = by_key.get(raw, {})
            groups.append(Group(key, name, figures["assigned"], self.funnel(figures, per_stage)))
        if by not in RANKED:
            order = list(funnel_order(by, self.campaign))
            groups.sort(key=lambda g: (order.index(g.key) if g.key in order else len(order), g.key))
            return tuple(groups), None
        stage = self.options.rank_by or self.stages[-1]

        def rank(group: Group) -> tuple[float, float, int, str]:
            figures = group.stage(stage)
            low = figures.ci95[0] if figures.ci95 else -1.0
            return (-low, -(figures.of_assigned or 0.0), -group.assigned, group.key)

        groups.sort(key=rank)
        return tuple(groups), stage

    def build(self) -> Report:
        by = self.options.by
        funnel_by = by if by not in (None, "attempt") else None
        if self.sqlite and (funnel_by is not None or self.windowed):
            self.materialize(funnel_by)
        grouped = self.counts(funnel_by)
        total: dict[str, int] = {}
        for figures in grouped.values():
            for k, v in figures.items():
                total[k] = total.get(k, 0) + v
        if not total:
            total = {"assigned": 0, "confirmed": 0, **{f"n{i}": 0 for i in range(len(self.stages))}}
        overall_medians, group_medians = self.medians(funnel_by)
        groups: tuple[Group, ...] = ()
        ranked_by = None
        if funnel_by is not None:
            groups, ranked_by = self.groups(funnel_by, grouped, group_medians)
        arms = self.arms()
        treated_n, treated_r, treated_dnc = arms.get(False, (0, 0, 0))
        control_n, control_r, control_dnc = arms.get(True, (0, 0, 0))
        reactivation = None
        if self.activity_loaded():
            treated = Arm(treated_n, treated_r)
            control = Arm(control_n, control_r) if control_n else None
            uplift = ci = None
            if control is not None and treated.clients:
                uplift = 100 * ((treated.rate or 0.0) - (control.rate or 0.0))
                interval = stats.newcombe(treated_r, treated_n, control_r, control_n)
                ci = (100 * interval[0], 100 * interval[1]) if interval else None
            by_stage = tuple(
                (stage, Arm(total.get(f"n{i}", 0), total.get(f"r{i}", 0)))
                for i, stage in enumerate(self.stages)
            )
            reactivation = Reactivation(treated, control, uplift, ci, by_stage)
        refused, rejected = self.uploads()
        quality = DataQuality(
            skipped_stage=total.get("skipped", 0),
            stale_days=self.options.stale_days,
            never_called=total.get("never_called", 0),
            dnc_members=treated_dnc + control_dnc,
            dnc_calls=total.get("dnc_calls", 0),
            uploads_refused=refused,
            rows_rejected=rejected,
            silent_advisors=self.silent_advisors(),
            wecom_unconfirmed=total.get("wecom_unconfirmed", 0),
            wecom_synced=self.wecom_synced(),
        )
        return Report(
            campaign=self.campaign.slug,
            campaign_name=self.campaign.name,
            timezone=self.campaign.timezone,
            generated_at=local(self.options.as_of or utcnow(), self.campaign.tz),
            assigned=total["assigned"],
            control=control_n,
            stages=self.funnel(total, overall_medians),
            reactivation=reactivation,
            by=by,
            groups=groups,
            ranked_by=ranked_by,
            data_quality=quality,
            window=(self.options.since, self.options.until) if self.windowed else None,
            attempts=self.attempts() if by == "attempt" else (),
            dropped_stage=self.options.dropped,
            dropped=self.dropped(self.options.dropped) if self.options.dropped else (),
        )


def _middle_sql(table: str, days: str, present: str, where_key: str) -> str:
    """The mean of the middle one or two durations, read in index order (LIMIT ?, OFFSET ?)."""
    return (
        f"SELECT AVG(d) FROM (SELECT {days} AS d FROM {table} WHERE {present} {where_key}"
        f" ORDER BY {days} LIMIT ? OFFSET ?)"
    )


def funnel_order(by: str, campaign: Campaign) -> tuple[str, ...]:
    """The natural order of a non-ranked breakdown's keys (bands low to high, C1..C5)."""
    if by == "asset_band":
        edges = campaign.asset_edges
        bands = [
            funnel.asset_band(edges[i - 1] if i else float("-inf"), edges)
            for i in range(len(edges))
        ]
        return (*bands, funnel.asset_band(edges[-1], edges), "unknown")
    if by == "risk":
        return ("C1", "C2", "C3", "C4", "C5", "unknown")
    return ()


def _label(by: str, raw: Any, names: Mapping[str, str]) -> tuple[str, str]:
    """(key, display name) of a group from its raw SQL key."""
    if raw is None or raw == "":
        return "unknown", t("report.unknown")
    if by == "advisor":
        return str(raw), names.get(str(raw), "")
    if by == "risk":
        return f"C{int(raw)}", f"C{int(raw)}"
    if by == "week":
        monday = dt.date.fromisoformat(str(raw))
        year, week, _ = monday.isocalendar()
        return f"{year}-W{week:02d}", monday.isoformat()
    return str(raw), str(raw)

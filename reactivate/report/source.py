"""Who a report counts: the assigned clients and their funnel columns, keyed by a breakdown.

Over the whole history the columns are the summary's own (`client_stage`). With a date
window they are worked out again from the events dated inside it (voided events
excluded), by the same definitions `stages.refresh` stores. A breakdown adds a key per
client (advisor, branch, ISO week of assignment, risk, asset band).
"""

from __future__ import annotations

import datetime as dt

from reactivate.clock import local
from reactivate.db import bulk, stages
from reactivate.report.scope import ASSIGNED, CAMPAIGN, Scope
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
)


def source(scope: Scope) -> str:
    """The assigned clients with their funnel columns (whole history or window)."""
    if not scope.windowed:
        funnel_names = ["stages_reached", "skipped_stage", *scope.days]
        columns = ", ".join(f"cs.{c}" for c in (*FACTS, *funnel_names))
        return f"SELECT {columns} FROM client_stage cs WHERE {CAMPAIGN} AND {ASSIGNED}"
    facts = (
        "SELECT cs.client_id, cs.advisor_code, cs.assigned_at, cs.control, w.called_at,"
        " w.reached_at, w.wecom_at, w.wecom_confirmed_at, w.pushed_at, w.converted_at,"
        " cs.reactivated_at, cs.dnc, cs.do_not_call, cs.last_call_at, cs.callback_at"
        f" FROM client_stage cs LEFT JOIN ({_first_times(scope)}) w ON w.client_id = cs.client_id"
        f" WHERE {CAMPAIGN} AND {ASSIGNED}"
    )
    # the same funnel columns `stages.refresh` stores, from the window's first times
    derived = stages.funnel_columns(scope.campaign.stages, sqlite=scope.sqlite)
    windowed = ", ".join(f"{sql} AS {name}" for name, sql in derived.items())
    return f"SELECT {', '.join(FACTS)}, {windowed} FROM ({facts}) f"


def _first_times(scope: Scope) -> str:
    """Per client, the first time of each kind of evidence dated inside the window."""
    bounds = []
    if scope.options.since is not None:
        bounds.append("e.occurred_at >= :since")
    if scope.options.until is not None:
        bounds.append("e.occurred_at < :until")
    reached = ", ".join(f"'{d}'" for d in sorted(funnel.REACHED_DISPOSITIONS))
    call, wecom = funnel.EVENT_CALL, funnel.EVENT_WECOM
    return f"""
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


def keyed(scope: Scope, by: str | None) -> tuple[str, str]:
    """(FROM clause with `s` and its joins, key expression) for breakdown `by`."""
    rows = f"({source(scope)}) s"
    if by is None:
        return rows, "''"
    if by == "advisor":
        return rows, "s.advisor_code"
    if by == "week":
        _stage_weeks(scope)
        return (
            f"{rows} LEFT JOIN report_week wk ON wk.assigned_at = s.assigned_at",
            "wk.monday",
        )
    joined = f"{rows} JOIN client c ON c.client_id = s.client_id"
    if by == "branch":
        return joined, "c.branch"
    if by == "risk":
        return joined, "c.risk"
    edges = scope.campaign.asset_edges
    cases = " ".join(
        f"WHEN c.assets < {edge!r} THEN '{funnel.asset_band(edges[i - 1] if i else float('-inf'), edges)}'"
        for i, edge in enumerate(edges)
    )
    last = funnel.asset_band(edges[-1], edges)
    return joined, f"CASE WHEN c.assets IS NULL THEN 'unknown' {cases} ELSE '{last}' END"


def counted(scope: Scope) -> tuple[str, str]:
    """(FROM clause, key expression) the counts read: `report_days` once materialized."""
    if scope.materialized:
        return "report_days s", "s.k"
    return keyed(scope, scope.funnel_by)


def _stage_weeks(scope: Scope) -> None:
    """A temporary table: each distinct assignment time -> Monday of its ISO week (campaign tz).

    Assignment times are few (one per assign run), so mapping them in Python is cheap
    and exact in any time zone, where SQLite alone knows no zones.
    """
    moments = [
        row[0]
        for row in scope.conn.exec_driver_sql(
            "SELECT DISTINCT assigned_at FROM client_stage"
            f" WHERE +campaign_id = {int(scope.campaign_id)} AND assigned_at IS NOT NULL"
        )
    ]
    tz = scope.campaign.tz
    rows = []
    for moment in moments:
        parsed = dt.datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        day = local(parsed, tz).date()
        rows.append((moment, (day - dt.timedelta(days=day.weekday())).isoformat()))
    column_type = "TEXT" if scope.sqlite else "TIMESTAMPTZ"
    bulk.stage(
        scope.conn,
        "report_week",
        {"assigned_at": f"{column_type} PRIMARY KEY", "monday": "TEXT"},
        rows,
    )


def materialize(scope: Scope) -> None:
    """SQLite: the assigned clients' keys and what counts and medians read, in one scan.

    A breakdown's key may need a join (branch, risk, ...) and a window's funnel columns
    come from the events: both are worked out once here, for counts and for the
    per-group (or windowed) median indexes alike.
    """
    rows, key = keyed(scope, scope.funnel_by)
    columns = ", ".join(
        f"s.{c}"
        for c in (
            "assigned_at",
            "stages_reached",
            "skipped_stage",
            *scope.days,
            "wecom_at",
            "wecom_confirmed_at",
            "reactivated_at",
            "dnc",
            "do_not_call",
        )
    )
    scope.conn.exec_driver_sql("DROP TABLE IF EXISTS report_days")
    scope.execute(f"CREATE TEMPORARY TABLE report_days AS SELECT {key} AS k, {columns} FROM {rows}")

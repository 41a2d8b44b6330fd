"""`reactivate activity load`: the core system's later export says who traded again.

A member is reactivated when their last trade date falls on or after their campaign's
start. The fact is an event ('reactivated', dated the trade day at midnight in the
campaign's time zone), so reports count it like any other evidence and a repeated
load adds nothing. The clients' last trade date and assets are brought up to date too.
A trade after the campaign's end still counts (reactivation may come later); a trade
dated after today, which nobody could have made, is a rejected row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, bindparam, select, text

from reactivate import access, registry
from reactivate.clock import DEFAULT_TZ, utcnow
from reactivate.db import bulk, stages
from reactivate.db.import_log import record, who
from reactivate.db.locks import lock_campaign
from reactivate.db.models import CAMPAIGNS, EVENTS
from reactivate.errors import Rejection, RowsRejected
from reactivate.messages import t
from reactivate.rules import funnel
from reactivate.sheets import values
from reactivate.sheets.clean import RowCleaner
from reactivate.sheets.fields import ACTIVITY_FIELDS
from reactivate.sheets.read import open_table, sha256_of
from reactivate.summary import Counted, count_field

EVENT_TIME = EVENTS.c.occurred_at.type

# client id -> (last trade date, assets), the latest row of each client in a file
Latest = dict[str, tuple[dt.date | None, float | None]]
# campaign id -> (start day, time zone) of the campaigns a load concerns
Starts = dict[int, tuple[dt.date, ZoneInfo]]


@dataclass
class ActivitySummary(Counted):
    file: str
    rows: int = count_field()
    clients: int = count_field()  # known clients in the file
    unknown: int = count_field()  # ids the database does not hold
    reactivated: int = count_field()  # new reactivation facts (member x campaign)
    events: int = count_field()
    import_id: int | None = None
    errors: list[Rejection] = field(default_factory=list)


def load_activity(
    engine: Engine, path: Path, *, campaign: str | None = None, sheet: str | None = None
) -> ActivitySummary:
    """Record reactivations from a later core-system export (all rows valid, or nothing)."""
    access.require(engine, "access.action.activity")
    only = registry.get(engine, campaign).id if campaign else None
    starts = _campaign_starts(engine, only)
    summary, latest = _read_latest(path, sheet, _today(starts))
    with engine.begin() as conn:
        for campaign_id in sorted(starts):  # always in id order, so two writers cannot deadlock
            lock_campaign(conn, campaign_id)
        _stage_latest(conn, latest, summary)
        summary.import_id = import_id = record(
            conn,
            kind="activity",
            campaign_id=only,
            path=path,
            sha256=sha256_of(path),
            rows=summary.rows,
            counts=summary.counts(),
            status="applied",
        )
        _update_clients(conn)
        _record_reactivations(conn, starts, import_id, path, summary)
        conn.execute(
            text("UPDATE import_record SET counts = :counts WHERE id = :id"),
            {"counts": _json(summary.counts()), "id": summary.import_id},
        )
        conn.exec_driver_sql("DROP TABLE stage_activity")
    return summary


def _read_latest(
    path: Path, sheet: str | None, today: tuple[dt.date, str]
) -> tuple[ActivitySummary, Latest]:
    """Each client's latest trade date and assets in the file; raises if any row is invalid
    (a trade after `today`, a date and the zone it is today in, among them)."""
    table = open_table(path, ACTIVITY_FIELDS, sheet=sheet)
    cleaner = RowCleaner(
        table,
        [
            ("client_id", values.client_id),
            ("last_trade_date", values.date),
            ("assets", values.amount),
        ],
    )
    summary = ActivitySummary(file=table.file)
    latest: Latest = {}
    for number, cells in table.rows:
        cleaned = cleaner.clean(number, cells)
        summary.rows += 1
        if isinstance(cleaned, Rejection):
            summary.errors.append(cleaned)
            continue
        client_id, traded, assets = cleaned
        if client_id is None:
            summary.errors.append(cleaner.reject(number, "client_id", t("reject.no_id")))
            continue
        if traded is not None and traded > today[0]:
            future = t("reject.future", value=traded.isoformat(), tz=today[1])
            summary.errors.append(cleaner.reject(number, "last_trade_date", future))
            continue
        known = latest.get(client_id)
        if known is None or (traded and (known[0] is None or traded > known[0])):
            latest[client_id] = (traded, assets)
    if summary.errors:
        raise RowsRejected(
            t("error.rows_rejected", count=len(summary.errors), first=summary.errors[0]),
            summary.errors,
        )
    return summary, latest


def _campaign_starts(engine: Engine, only: int | None) -> Starts:
    """Start day and time zone of each campaign the load concerns (all, or `only`)."""
    with engine.connect() as conn:
        slugs = conn.execute(select(CAMPAIGNS.c.slug)).scalars().all()
    return {
        found.id: (found.config.start, found.config.tz)
        for found in (registry.get(engine, slug) for slug in slugs)
        if only is None or found.id == only
    }


def _today(starts: Starts) -> tuple[dt.date, str]:
    """Today on the clock of the campaigns the load concerns, and that clock's zone: where
    their zones differ, the latest (a trade after it is after today on every clock)."""
    now = utcnow()
    zones = {tz for _start, tz in starts.values()} or {DEFAULT_TZ}
    return max((now.astimezone(tz).date(), tz.key) for tz in zones)


def _stage_latest(conn: Any, latest: Latest, summary: ActivitySummary) -> None:
    """Stage the file's clients as `stage_activity` and count the known and unknown ones."""
    rows = [(cid, d.isoformat() if d else None, a) for cid, (d, a) in latest.items()]
    bulk.stage(
        conn,
        "stage_activity",
        {"client_id": "TEXT PRIMARY KEY", "traded": "DATE", "assets": "DOUBLE PRECISION"},
        rows,
    )
    summary.clients = int(
        conn.execute(
            text("SELECT count(*) FROM stage_activity s JOIN client c ON c.client_id = s.client_id")
        ).scalar_one()
    )
    summary.unknown = len(rows) - summary.clients


def _update_clients(conn: Any) -> None:
    """Bring the staged clients' last trade date and assets up to date."""
    conn.execute(
        text(
            """UPDATE client SET
                 last_trade_date = (SELECT s.traded FROM stage_activity s
                                    WHERE s.client_id = client.client_id),
                 assets = COALESCE((SELECT s.assets FROM stage_activity s
                                    WHERE s.client_id = client.client_id), assets)
               WHERE client_id IN (SELECT client_id FROM stage_activity WHERE traded IS NOT NULL)"""
        )
    )


def _record_reactivations(
    conn: Any,
    starts: Starts,
    import_id: int,
    path: Path,
    summary: ActivitySummary,
) -> None:
    """Insert the new reactivation events and refresh their members' stages."""
    facts = _facts(conn, starts)
    if not facts:
        return
    new = _insert_events(conn, facts, starts, import_id, path)
    summary.reactivated = summary.events = len(new)
    by_campaign: dict[int, list[str]] = {}
    for campaign_id, client_id, _ in new:
        by_campaign.setdefault(campaign_id, []).append(client_id)
    for campaign_id, client_ids in by_campaign.items():
        stages.refresh(conn, campaign_id, client_ids)


def _facts(conn: Any, starts: Starts) -> list[tuple[int, str, dt.date]]:
    """(campaign, client, trade day) for members who traded on or after their campaign's start."""
    rows = conn.execute(
        text(
            """SELECT m.campaign_id, m.client_id, s.traded FROM stage_activity s
               JOIN member m ON m.client_id = s.client_id
               WHERE s.traded IS NOT NULL"""
        )
    )
    facts = []
    for campaign_id, client_id, traded in rows:
        if campaign_id not in starts:
            continue
        day = traded if isinstance(traded, dt.date) else dt.date.fromisoformat(str(traded))
        if day >= starts[campaign_id][0]:
            facts.append((campaign_id, client_id, day))
    return facts


def _insert_events(
    conn: Any,
    facts: list[tuple[int, str, dt.date]],
    starts: Starts,
    import_id: int,
    path: Path,
) -> list[tuple[int, str, dt.date]]:
    """Insert the facts not already recorded (same member, same trade day); returns the new ones.

    The event is dated the trade day at midnight on the campaign's wall clock."""
    existing = {
        (row.campaign_id, row.client_id, row.value)
        for row in conn.execute(
            text(
                f"""SELECT e.campaign_id, e.client_id, e.value FROM event e
                    WHERE e.stage = '{funnel.EVENT_REACTIVATED}'
                      AND NOT EXISTS (SELECT 1 FROM event v WHERE v.voids_event_id = e.id)"""
            )
        )
    }
    new = [f for f in facts if (f[0], f[1], f[2].isoformat()) not in existing]
    now = utcnow()
    statement = text(
        """INSERT INTO event (campaign_id, client_id, stage, value, occurred_at, source, import_id,
                              source_file, recorded_by, recorded_at)
           VALUES (:campaign_id, :client_id, :stage, :value, :at, 'activity', :import_id, :file, :by, :now)"""
    ).bindparams(bindparam("at", type_=EVENT_TIME), bindparam("now", type_=EVENT_TIME))
    if new:
        conn.execute(
            statement,
            [
                {
                    "campaign_id": campaign_id,
                    "client_id": client_id,
                    "stage": funnel.EVENT_REACTIVATED,
                    "value": day.isoformat(),
                    "at": dt.datetime.combine(day, dt.time(), tzinfo=starts[campaign_id][1]),
                    "import_id": import_id,
                    "file": str(path),
                    "by": who(conn),
                    "now": now,
                }
                for campaign_id, client_id, day in new
            ],
        )
    return new


def _json(data: dict[str, int]) -> str:
    import json

    return json.dumps(data)

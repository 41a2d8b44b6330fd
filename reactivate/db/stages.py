"""The per-client stage summary (`client_stage`), rebuilt from members and events.

Set-based: one DELETE and one INSERT ... SELECT ... GROUP BY per refresh, run inside
the transaction that wrote the events, so the summary can never disagree with them.
A void event cancels the event it names; voided events are not evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, text

from reactivate import funnel
from reactivate.db import bulk

_REACHED = ", ".join(f"'{d}'" for d in sorted(funnel.REACHED_DISPOSITIONS))

_SUMMARY_SQL = f"""
INSERT INTO client_stage (
    campaign_id, client_id, advisor_code, assigned_at, control, dnc,
    called_at, reached_at, wecom_at, wecom_confirmed_at, pushed_at, converted_at,
    reactivated_at, calls, attempts, last_call_at, callback_at, do_not_call)
SELECT
    m.campaign_id, m.client_id, m.advisor_code, m.assigned_at, m.control, m.dnc,
    MIN(CASE WHEN e.stage = '{funnel.EVENT_CALL}' THEN e.occurred_at END),
    MIN(CASE WHEN e.stage = '{funnel.EVENT_CALL}' AND e.value IN ({_REACHED}) THEN e.occurred_at END),
    MIN(CASE WHEN e.stage = '{funnel.EVENT_WECOM}' THEN e.occurred_at END),
    MIN(CASE WHEN e.stage = '{funnel.EVENT_WECOM}' AND e.source = 'wecom' THEN e.occurred_at END),
    MIN(CASE WHEN e.stage = '{funnel.EVENT_PUSHED}' THEN e.occurred_at END),
    MIN(CASE WHEN e.stage = '{funnel.EVENT_CONVERTED}' THEN e.occurred_at END),
    MIN(CASE WHEN e.stage = '{funnel.EVENT_REACTIVATED}' THEN e.occurred_at END),
    COUNT(DISTINCT CASE WHEN e.stage = '{funnel.EVENT_CALL}' THEN e.occurred_at END),
    COALESCE(MAX(CASE WHEN e.stage = '{funnel.EVENT_ATTEMPTS}' THEN CAST(e.value AS INTEGER) END), 0),
    MAX(CASE WHEN e.stage = '{funnel.EVENT_CALL}' THEN e.occurred_at END),
    MAX(CASE WHEN e.stage = '{funnel.EVENT_CALLBACK}' THEN e.occurred_at END),
    COALESCE(MAX(CASE WHEN e.stage = '{funnel.EVENT_CALL}' AND e.value = '{funnel.DO_NOT_CALL}'
                      THEN 1 ELSE 0 END), 0) = 1
FROM member m
LEFT JOIN event e
  ON e.campaign_id = m.campaign_id AND e.client_id = m.client_id
 AND e.stage <> '{funnel.EVENT_VOID}'
 {{unvoided}}
WHERE m.campaign_id = :campaign_id {{only}}
GROUP BY m.campaign_id, m.client_id, m.advisor_code, m.assigned_at, m.control, m.dnc
"""

_UNVOIDED = "AND NOT EXISTS (SELECT 1 FROM event v WHERE v.voids_event_id = e.id)"
_TOUCHED = "touched_client"

# attempts = the larger of the highest count reported and the number of distinct calls
_ATTEMPTS_SQL = """
UPDATE client_stage SET attempts = calls
WHERE campaign_id = :campaign_id AND attempts < calls {only}
"""


def refresh(conn: Connection, campaign_id: int, client_ids: Iterable[str] | None = None) -> None:
    """Rebuild the summary rows of `client_ids` (all of the campaign's members when None)."""
    if client_ids is None:
        _rebuild(conn, campaign_id, only_touched=False)
        return
    bulk.stage(conn, _TOUCHED, {"client_id": "TEXT PRIMARY KEY"}, ((c,) for c in set(client_ids)))
    _rebuild(conn, campaign_id, only_touched=True)
    conn.exec_driver_sql(f"DROP TABLE {_TOUCHED}")


def refresh_selected(
    conn: Connection, campaign_id: int, select_ids: str, params: Mapping[str, Any]
) -> None:
    """Rebuild the summary rows of the clients `select_ids` (SQL: one column of client ids,
    repeats allowed) names, without bringing the ids into Python."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_TOUCHED}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {_TOUCHED} (client_id TEXT PRIMARY KEY)")
    touched = conn.execute(
        text(f"INSERT INTO {_TOUCHED} (client_id) SELECT DISTINCT client_id FROM ({select_ids}) s"),
        params,
    ).rowcount
    if touched:
        _rebuild(conn, campaign_id, only_touched=True)
    conn.exec_driver_sql(f"DROP TABLE {_TOUCHED}")


def _rebuild(conn: Connection, campaign_id: int, *, only_touched: bool) -> None:
    only = f"AND {{alias}}client_id IN (SELECT client_id FROM {_TOUCHED})" if only_touched else ""
    # Most databases hold no void event at all: then the per-event probe for one is skipped.
    any_void = conn.execute(
        text("SELECT 1 FROM event WHERE voids_event_id IS NOT NULL LIMIT 1")
    ).first()
    unvoided = _UNVOIDED if any_void is not None else ""
    params = {"campaign_id": campaign_id}
    conn.execute(
        text(f"DELETE FROM client_stage WHERE campaign_id = :campaign_id {only.format(alias='')}"),
        params,
    )
    conn.execute(text(_SUMMARY_SQL.format(only=only.format(alias="m."), unvoided=unvoided)), params)
    conn.execute(text(_ATTEMPTS_SQL.format(only=only.format(alias=""))), params)

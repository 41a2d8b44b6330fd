"""The per-client stage summary (`client_stage`), rebuilt from members and events.

Set-based: one DELETE and one INSERT ... SELECT ... GROUP BY per refresh, run inside
the transaction that wrote the events, so the summary can never disagree with them.
A void event cancels the event it names; voided events are not evidence.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

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
 AND NOT EXISTS (SELECT 1 FROM event v WHERE v.voids_event_id = e.id)
WHERE m.campaign_id = :campaign_id {{only}}
GROUP BY m.campaign_id, m.client_id, m.advisor_code, m.assigned_at, m.control, m.dnc
"""

# attempts = the larger of the highest count reported and the number of distinct calls
_ATTEMPTS_SQL = """
UPDATE client_stage SET attempts = calls
WHERE campaign_id = :campaign_id AND attempts < calls {only}
"""


def refresh(conn: Connection, campaign_id: int, client_ids: Iterable[str] | None = None) -> None:
    """Rebuild the summary rows of `client_ids` (all of the campaign's members when None)."""
    from sqlalchemy import text

    only = ""
    if client_ids is not None:
        bulk.stage(
            conn,
            "touched_client",
            {"client_id": "TEXT PRIMARY KEY"},
            ((c,) for c in set(client_ids)),
        )
        only = "AND {alias}client_id IN (SELECT client_id FROM touched_client)"
    params = {"campaign_id": campaign_id}
    conn.execute(
        text(f"DELETE FROM client_stage WHERE campaign_id = :campaign_id {only.format(alias='')}"),
        params,
    )
    conn.execute(text(_SUMMARY_SQL.format(only=only.format(alias="m."))), params)
    conn.execute(text(_ATTEMPTS_SQL.format(only=only.format(alias=""))), params)
    if client_ids is not None:
        conn.exec_driver_sql("DROP TABLE touched_client")

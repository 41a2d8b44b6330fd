"""The dialer's pass report (`--by attempt`): which call reached each reached client.

Pass n counts the clients called at least n times and those whose n-th distinct call
time was the first that reached them (voided calls excluded).
"""

from __future__ import annotations

from reactivate.report.model import AttemptRow
from reactivate.report.scope import ASSIGNED, CAMPAIGN, Scope
from reactivate.rules import funnel


def attempts(scope: Scope) -> tuple[AttemptRow, ...]:
    """Which call reached each reached client, against clients called at least that often."""
    reached_sql = f"""
            SELECT ord, COUNT(*) AS n FROM (
              SELECT cs.client_id, COUNT(DISTINCT e.occurred_at) AS ord
              FROM client_stage cs
              JOIN event e ON e.campaign_id = cs.campaign_id AND e.client_id = cs.client_id
              WHERE {CAMPAIGN} AND {ASSIGNED} AND cs.reached_at IS NOT NULL
                AND e.stage = '{funnel.EVENT_CALL}' AND e.occurred_at <= cs.reached_at
                AND NOT EXISTS (SELECT 1 FROM event v WHERE v.voids_event_id = e.id)
              GROUP BY cs.client_id) x
            GROUP BY ord"""
    reached = {int(row.ord): int(row.n) for row in scope.execute(reached_sql)}
    calls_sql = f"""
            SELECT cs.calls AS calls, COUNT(*) AS n FROM client_stage cs
            WHERE {CAMPAIGN} AND {ASSIGNED} AND cs.calls > 0 GROUP BY cs.calls"""
    by_calls = {int(row.calls): int(row.n) for row in scope.execute(calls_sql)}
    top = max([*by_calls, *reached, 0])
    rows = []
    at_least = 0
    for attempt in range(top, 0, -1):  # clients called at least n times: a suffix sum
        at_least += by_calls.get(attempt, 0)
        rows.append(AttemptRow(attempt, at_least, reached.get(attempt, 0)))
    return tuple(reversed(rows))

"""The dialer's pass report (`--by attempt`): which call reached each reached client.

Pass n counts the clients called at least n times and those whose n-th distinct call
time was the first that reached them (voided calls excluded; the summary's `calls` and
`reached_call`, worked out by `db.stages.refresh`).
"""

from __future__ import annotations

from reactivate.report.model import AttemptRow
from reactivate.report.scope import ASSIGNED, Scope


def attempts(scope: Scope) -> tuple[AttemptRow, ...]:
    """Which call reached each reached client, against clients called at least that often."""
    reached_sql = f"""
            SELECT cs.reached_call AS ord, COUNT(*) AS n FROM client_stage cs
            WHERE {scope.in_campaign} AND {ASSIGNED} AND cs.reached_call IS NOT NULL
            GROUP BY cs.reached_call"""
    reached = {int(row.ord): int(row.n) for row in scope.execute(reached_sql)}
    calls_sql = f"""
            SELECT cs.calls AS calls, COUNT(*) AS n FROM client_stage cs
            WHERE {scope.in_campaign} AND {ASSIGNED} AND cs.calls > 0 GROUP BY cs.calls"""
    by_calls = {int(row.calls): int(row.n) for row in scope.execute(calls_sql)}
    top = max([*by_calls, *reached, 0])
    rows = []
    at_least = 0
    for attempt in range(top, 0, -1):  # clients called at least n times: a suffix sum
        at_least += by_calls.get(attempt, 0)
        rows.append(AttemptRow(attempt, at_least, reached.get(attempt, 0)))
    return tuple(reversed(rows))

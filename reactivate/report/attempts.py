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
    # one pass over `ix_client_stage_attempt` (the campaign's rows by calls and reached
    # call, with what tells who is assigned), in its order: no scan of the summary, no
    # sort. A reached client was called, so `calls > 0` loses none of them.
    sql = f"""
            SELECT cs.calls AS calls, cs.reached_call AS ord, COUNT(*) AS n FROM client_stage cs
            WHERE cs.campaign_id = :cid AND {ASSIGNED} AND cs.calls > 0
            GROUP BY cs.calls, cs.reached_call"""
    by_calls: dict[int, int] = {}
    reached: dict[int, int] = {}
    for row in scope.execute(sql):
        by_calls[int(row.calls)] = by_calls.get(int(row.calls), 0) + int(row.n)
        if row.ord is not None:
            reached[int(row.ord)] = reached.get(int(row.ord), 0) + int(row.n)
    top = max([*by_calls, *reached, 0])
    rows = []
    at_least = 0
    for attempt in range(top, 0, -1):  # clients called at least n times: a suffix sum
        at_least += by_calls.get(attempt, 0)
        rows.append(AttemptRow(attempt, at_least, reached.get(attempt, 0)))
    return tuple(reversed(rows))

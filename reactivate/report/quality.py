"""What may make a report's figures less true than they look (the data-quality section).

The per-client flags (skipped stages, never called, do-not-call, unconfirmed WeCom adds)
are counted with the funnel (`funnels.counts`); this adds what the uploads and the WeCom
syncs left behind.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from reactivate.db import tally
from reactivate.report.model import DataQuality
from reactivate.report.scope import Scope


def data_quality(scope: Scope, total: Mapping[str, int], dnc_members: int) -> DataQuality:
    """The section from the funnel's `total` counts, the members on do-not-call and the uploads."""
    refused, rejected = _uploads(scope)
    return DataQuality(
        skipped_stage=total.get("skipped", 0),
        stale_days=scope.options.stale_days,
        never_called=total.get("never_called", 0),
        dnc_members=dnc_members,
        dnc_calls=total.get("dnc_calls", 0),
        uploads_refused=refused,
        rows_rejected=rejected,
        silent_advisors=_silent_advisors(scope),
        wecom_unconfirmed=total.get("wecom_unconfirmed", 0),
        wecom_synced=_wecom_synced(scope),
    )


def _uploads(scope: Scope) -> tuple[int, int]:
    """(results uploads refused, rows rejected over all results uploads). In a partial
    view, over the uploads of the view's advisors' workbooks (the advisor the import log
    keeps with the counts; an upload recorded without one is nobody's view but ops')."""
    refused = rejected = 0
    advisors = (
        {row.advisor_code for row in scope.execute(_holders(scope))} if scope.partial else set()
    )
    for row in scope.execute(
        "SELECT status, counts FROM import_record WHERE kind = 'results' AND campaign_id = :cid"
    ):
        try:
            counts = json.loads(row.counts or "{}")
            value = counts.get("rejected", 0)
        except (ValueError, AttributeError):
            counts, value = {}, 0
        if scope.partial and counts.get("advisor") not in advisors:
            continue
        refused += row.status == "refused"
        rejected += int(value) if isinstance(value, int | float) else 0
    return refused, rejected


def _holders(scope: Scope) -> str:
    """SQL of the advisors with clients: the tallies' advisor groups, or in a partial view
    (the tallies are campaign-wide) the advisors of the summary rows the login may read."""
    if scope.partial:
        return (
            "SELECT DISTINCT advisor_code FROM client_stage WHERE campaign_id = :cid"
            f" AND {tally.assigned()}"
        )
    return (
        "SELECT key AS advisor_code FROM stage_tally WHERE campaign_id = :cid AND dim = 'advisor'"
    )


def _silent_advisors(scope: Scope) -> tuple[tuple[str, str], ...]:
    """(code, name) of the advisors with clients and not one upload, by code."""
    holders = _holders(scope)
    sql = f"""
            SELECT x.advisor_code AS code, COALESCE(a.name, '') AS name FROM ({holders}) x
            LEFT JOIN advisor a ON a.code = x.advisor_code
            WHERE NOT EXISTS (SELECT 1 FROM event e WHERE e.campaign_id = :cid
                              AND e.source = 'upload' AND e.advisor_code = x.advisor_code)
            ORDER BY x.advisor_code"""
    return tuple((row.code, row.name) for row in scope.execute(sql))


def _wecom_synced(scope: Scope) -> bool:
    sql = "SELECT 1 FROM event WHERE campaign_id = :cid AND source = 'wecom' LIMIT 1"
    return scope.execute(sql).first() is not None

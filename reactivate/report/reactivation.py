"""Did clients trade again: every non-control member against the control group.

The uplift is the difference of the two arms' rates in percentage points, with its
Newcombe interval; reactivation by stage reached is descriptive only (see
`model.Reactivation`). Nothing is reported until activity is known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reactivate.report.model import Arm, Reactivation
from reactivate.report.scope import Scope
from reactivate.rules import stats


@dataclass(frozen=True)
class Members:
    """One arm's members: how many, how many reactivated, how many on the do-not-call list."""

    clients: int
    reactivated: int
    dnc: int


def arms(scope: Scope) -> tuple[Members, Members]:
    """(treated, control): every member of the campaign, control or not (from the tallies'
    cohort rows, which hold every member; in a partial view, from the summary rows the
    login may read, since the tallies are campaign-wide)."""
    if scope.partial:
        sql = """
            SELECT COUNT(*) FILTER (WHERE control) AS cn,
                   COUNT(*) FILTER (WHERE control AND reactivated_at IS NOT NULL) AS cr,
                   COUNT(*) FILTER (WHERE control AND dnc) AS cd,
                   COUNT(*) FILTER (WHERE NOT control) AS tn,
                   COUNT(*) FILTER (WHERE NOT control AND reactivated_at IS NOT NULL) AS tr,
                   COUNT(*) FILTER (WHERE NOT control AND dnc) AS td
            FROM client_stage WHERE campaign_id = :cid"""
    else:
        sql = """
                SELECT SUM(members) FILTER (WHERE arm = 'control') AS cn,
                       SUM(reactivated) FILTER (WHERE arm = 'control') AS cr,
                       SUM(dnc) FILTER (WHERE arm = 'control') AS cd,
                       SUM(members) FILTER (WHERE arm <> 'control') AS tn,
                       SUM(reactivated) FILTER (WHERE arm <> 'control') AS tr,
                       SUM(dnc) FILTER (WHERE arm <> 'control') AS td
                FROM stage_tally WHERE campaign_id = :cid AND dim = 'cohort'"""
    row = scope.execute(sql).one()
    treated = Members(int(row.tn or 0), int(row.tr or 0), int(row.td or 0))
    control = Members(int(row.cn or 0), int(row.cr or 0), int(row.cd or 0))
    return treated, control


def reactivation(
    scope: Scope, treated: Members, control: Members, total: Mapping[str, int]
) -> Reactivation | None:
    """The comparison of the arms, and by stage from the funnel's `total` counts; None
    until activity is loaded."""
    if not _activity_loaded(scope, treated.reactivated + control.reactivated):
        return None
    treated_arm = Arm(treated.clients, treated.reactivated)
    control_arm = Arm(control.clients, control.reactivated) if control.clients else None
    uplift = ci = None
    if control_arm is not None and treated_arm.clients:
        uplift = 100 * ((treated_arm.rate or 0.0) - (control_arm.rate or 0.0))
        interval = stats.newcombe(
            treated.reactivated, treated.clients, control.reactivated, control.clients
        )
        ci = (100 * interval[0], 100 * interval[1]) if interval else None
    by_stage = tuple(
        (stage, Arm(total.get(f"n{i}", 0), total.get(f"r{i}", 0)))
        for i, stage in enumerate(scope.campaign.stages)
    )
    return Reactivation(treated_arm, control_arm, uplift, ci, by_stage)


def _activity_loaded(scope: Scope, reactivated: int) -> bool:
    """Reactivation is known once an activity export was imported or a reactivation recorded."""
    imported = scope.execute(
        "SELECT 1 FROM import_record WHERE kind = 'activity'"
        " AND (campaign_id = :cid OR campaign_id IS NULL) AND status = 'applied'"
    ).first()
    return imported is not None or reactivated > 0

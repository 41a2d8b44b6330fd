"""Median whole days from assignment to first reaching each stage: overall, and per group.

A median is of whole days elapsed (rounded down: a first call 30 hours after assignment is
day 1), so a histogram of small integers per group and stage holds it exactly
(`db.tally.median_of`: the middle value, or the mean of the middle two). Over the whole
history the histograms are kept with the summary (`stage_days`); a window's are counted
from its clients (`report_days` on SQLite).
"""

from __future__ import annotations

from typing import Any

from reactivate.db.tally import WEEK, floor_days, medians_by, monday_of
from reactivate.report.scope import Scope
from reactivate.report.source import counted, week_histograms

#: Stage index -> median days; (group key, stage index) -> median days.
Overall = dict[int, float]
PerGroup = dict[tuple[Any, int], float]


def medians(scope: Scope) -> tuple[Overall, PerGroup]:
    """Medians over every counted client, and per group of the breakdown (empty without)."""
    index = {stage: i for i, stage in enumerate(scope.campaign.stages)}
    by = scope.funnel_by
    overall_rows = _histograms(scope, None)
    overall = {index[stage]: m for (_k, stage), m in medians_by(overall_rows).items()}
    if by is None:
        return overall, {}
    grouped = medians_by(_histograms(scope, by))
    return overall, {
        (key, index[stage]): m for (key, stage), m in grouped.items() if stage in index
    }


def _histograms(scope: Scope, by: str | None) -> list[Any]:
    """Rows of (group key, stage, whole days, clients) of breakdown `by` ('' without)."""
    if by == WEEK:  # keyed as the trend's counts are
        found = scope.execute(f"SELECT k, stage, day, n FROM ({week_histograms(scope)}) w")
        return [(monday_of(row.k).isoformat(), row.stage, row.day, row.n) for row in found]
    if scope.tallied:
        key = "key" if by is not None else "''"
        sql = (
            f"SELECT {key} AS k, stage, day, SUM(clients) AS n FROM stage_days"
            f" WHERE campaign_id = :cid AND dim = '{by or 'cohort'}'"
            f" GROUP BY {'key, ' if by is not None else ''}stage, day"
        )
        return list(scope.execute(sql))
    rows, key = counted(scope)
    key = key if by is not None else "''"
    arms = []
    for stage, days in zip(scope.campaign.stages, scope.days, strict=True):
        day = floor_days(f"s.{days}", sqlite=scope.sqlite)
        arms.append(
            f"SELECT {key} AS k, '{stage}' AS stage, {day} AS day, COUNT(*) AS n FROM {rows}"
            f" WHERE s.{days} IS NOT NULL GROUP BY {key if by is not None else ''}"
            f"{', ' if by is not None else ''}{day}"
        )
    return list(scope.execute(" UNION ALL ".join(arms)))

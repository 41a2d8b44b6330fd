"""Median whole days from assignment to first reaching each stage: overall, and per group.

A median is of whole days elapsed (rounded down: a first call 30 hours after assignment is
day 1), so a histogram of small integers per group and stage holds it exactly
(`db.tally.medians_sql`: the middle value, or the mean of the middle two). Over the whole
history the histograms are kept with the summary (`stage_days`); a window's are counted
from its clients (`report_days`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reactivate.db.tally import WEEK, DayCounts, floor_days, medians_by, medians_sql, monday_of
from reactivate.report.scope import Scope
from reactivate.report.source import counted, days_inside, week_histograms, window_days

#: Stage index -> median days; (group key, stage index) -> median days.
Overall = dict[int, float]
PerGroup = dict[tuple[Any, int], float]


def medians(scope: Scope) -> tuple[Overall, PerGroup]:
    """Medians over every counted client, and per group of the breakdown (empty without)."""
    index = {stage: i for i, stage in enumerate(scope.campaign.stages)}
    by = scope.funnel_by
    overall = {index[stage]: m for (_k, stage), m in _medians(scope, None).items()}
    if by is None:
        return overall, {}
    return overall, {
        (key, index[stage]): m for (key, stage), m in _medians(scope, by).items() if stage in index
    }


def _medians(scope: Scope, by: str | None) -> dict[tuple[Any, str], float]:
    """(group key, stage) -> median of breakdown `by` ('' without): worked out by the
    database (`medians_sql`), or, for a window on PostgreSQL, by numpy (`DayCounts`) from
    the day histograms' rows (`window_counts`, which the window's counts read too) and
    its returning clients' (`_returning`), each read by a statement of its own."""
    if scope.sqlite or not scope.by_dates:
        found = scope.execute(medians_sql(_histograms(scope, by)))
        if by == WEEK:  # keyed as the trend's counts are
            found = [(monday_of(k).isoformat(), stage, low, high) for k, stage, low, high in found]
        return medians_by(found)
    counts = scope.read(window_counts, by)
    if scope.options.since is not None:
        # the breakdown's rows, summed over its groups for the overall medians
        rows = scope.once(_returning_rows)
        if by is None and scope.funnel_by is not None:
            rows = [("", stage, day, n) for _k, stage, day, n in rows]
        counts.add(rows)
    return counts.medians()


def medians_ahead(scope: Scope) -> list[tuple[Callable[..., Any], tuple[Any, ...]]]:
    """A window's reads for `medians` that `report.ahead` may run beside `report_days`:
    the day histograms of the overall funnel and of its breakdown."""
    by = scope.funnel_by
    return [(window_counts, (None,)), *([(window_counts, (by,))] if by is not None else [])]


def window_counts(scope: Scope, by: str | None) -> DayCounts:
    """PostgreSQL: the day histograms of the days inside the window per group of `by`
    (none: one) and stage (`source.window_days`), as `DayCounts` for the window's
    returning clients' to be added to."""
    return scope.once(window_days, by).counts(scope.campaign.stages)


def _returning_rows(scope: Scope) -> list[Any]:
    """The rows of `_returning` of the report's breakdown."""
    return scope.tuples(_returning(scope, scope.funnel_by))


def _histograms(scope: Scope, by: str | None) -> str:
    """SQL of rows (group key, stage, whole days, clients) of breakdown `by` ('' without)."""
    if by == WEEK:
        return week_histograms(scope)
    if scope.tallied and by is not None:  # one row per group, stage and day: read in
        # the primary key's order, which the running count wants (no sort)
        return (
            "SELECT key AS k, stage, day, clients AS n FROM stage_days"
            f" WHERE campaign_id = :cid AND dim = '{by}'"
        )
    if scope.tallied:
        return (
            "SELECT '' AS k, stage, day, SUM(clients) AS n FROM stage_days"
            " WHERE campaign_id = :cid AND dim = 'cohort' GROUP BY stage, day"
        )
    if scope.by_dates:
        return _dated(scope, by)
    rows, key = counted(scope)
    key = key if by is not None else "''"
    arms = []
    for stage, days in zip(scope.campaign.stages, scope.days, strict=True):
        # `report_days` holds whole days already (`source.materialize`)
        day = f"s.{days}" if scope.materialized else floor_days(f"s.{days}", sqlite=scope.sqlite)
        arms.append(
            f"SELECT {key} AS k, '{stage}' AS stage, {day} AS day, COUNT(*) AS n FROM {rows}"
            f" WHERE s.{days} IS NOT NULL GROUP BY {key if by is not None else ''}"
            f"{', ' if by is not None else ''}{day}"
        )
    return " UNION ALL ".join(arms)


def _dated(scope: Scope, by: str | None) -> str:
    """A window's histograms: the day histograms' of the days inside it (`stage_dates`:
    the clients who first reached each stage then, after the summary's whole days), and
    the clients who reached it before the window and have evidence for it inside it
    (`report_days`), after their window's."""
    # the day rows summed once, with the others (grouped here first, then again below, a
    # week `--by advisor` at 10M spent 0.7 s more on PostgreSQL: 410,000 day rows)
    arms = [_window_rows(scope, by)]
    if scope.options.since is not None:
        arms.append(_returning(scope, by))
    return f"SELECT k, stage, day, SUM(n) AS n FROM ({' UNION ALL '.join(arms)}) c GROUP BY k, stage, day"


def _window_rows(scope: Scope, by: str | None) -> str:
    """SQL of the day histograms' rows (k, stage, day, n) of the days inside the window."""
    key = "key" if by is not None else "''"
    stages = ", ".join(f"'{stage}'" for stage in scope.campaign.stages) or "''"
    return (
        f"SELECT {key} AS k, stage, day, clients AS n FROM stage_dates"
        f" WHERE campaign_id = :cid AND dim = '{by or 'cohort'}' AND {days_inside(scope)}"
        f" AND stage IN ({stages})"
    )


def _returning(scope: Scope, by: str | None) -> str:
    """SQL of rows (k, stage, day, n) of the window's clients who reached a stage before it
    and have evidence for it inside it (`report_days`), per group, stage and their whole
    days in the window."""
    key = "s.k" if by is not None else "''"
    arms = []
    for i, (stage, days) in enumerate(zip(scope.campaign.stages, scope.days, strict=True)):
        grouped = f"{key}, s.{days}" if by is not None else f"s.{days}"
        arms.append(
            f"SELECT {key} AS k, '{stage}' AS stage, s.{days} AS day, COUNT(*) AS n"
            f" FROM report_days s WHERE s.b{i} AND s.{days} IS NOT NULL GROUP BY {grouped}"
        )
    return " UNION ALL ".join(arms) or "SELECT '' AS k, '' AS stage, 0 AS day, 0 AS n WHERE FALSE"

"""Median days from assignment to first reaching each stage: overall, and per group.

PostgreSQL has `percentile_cont`. SQLite has no median: each stage's durations are read in
order from a partial index, and the middle one or two rows picked by OFFSET. Over the
whole history the summary's own indexes hold them (nothing to sort); a window's, and each
group's, are indexed on `report_days` (see `source.materialize`), from an index led by
the key.
"""

from __future__ import annotations

from typing import Any

from reactivate.report.scope import Scope
from reactivate.report.source import keyed

#: Stage index -> median days; (group key, stage index) -> median days.
Overall = dict[int, float]
PerGroup = dict[tuple[Any, int], float]


def medians(scope: Scope) -> tuple[Overall, PerGroup]:
    """Medians over every counted client, and per group of the breakdown (empty without)."""
    return _sqlite(scope) if scope.sqlite else _postgresql(scope)


def _postgresql(scope: Scope) -> tuple[Overall, PerGroup]:
    by = scope.funnel_by
    rows, key = keyed(scope, by)
    arms = " UNION ALL ".join(
        f"SELECT {key} AS k, {i} AS st, s.{days} AS d FROM {rows} WHERE s.{days} IS NOT NULL"
        for i, days in enumerate(scope.days)
    )
    median = "percentile_cont(0.5) WITHIN GROUP (ORDER BY d)"
    totals = scope.execute(f"SELECT st, {median} AS m FROM ({arms}) d GROUP BY st")
    firsts = {int(row.st): float(row.m) for row in totals}
    if by is None:
        return firsts, {}
    grouped = scope.execute(f"SELECT k, st, {median} AS m FROM ({arms}) d GROUP BY k, st")
    return firsts, {(row.k, int(row.st)): float(row.m) for row in grouped}


def _sqlite(scope: Scope) -> tuple[Overall, PerGroup]:
    run = scope.conn.exec_driver_sql
    overall: Overall = {}
    groups: PerGroup = {}
    for i, days in enumerate(scope.days):
        present = f"{days} IS NOT NULL"
        table, where = "client_stage", f"campaign_id = ? AND {present}"
        where_params: tuple[Any, ...] = (scope.campaign_id,)
        if scope.windowed:
            run(f"CREATE INDEX temp.report_days_{i} ON report_days({days}) WHERE {present}")
            table, where, where_params = "report_days", present, ()
        count = run(f"SELECT COUNT(*) FROM {table} WHERE {where}", where_params).scalar_one()
        if count:
            middle = _middle_sql(table, days, where, "")
            overall[i] = float(run(middle, (*where_params, *_middle(count))).scalar_one())
        if scope.funnel_by is None:
            continue
        run(f"CREATE INDEX temp.report_days_k{i} ON report_days(k, {days}) WHERE {present}")
        per_key = run(f"SELECT k, COUNT(*) FROM report_days WHERE {present} GROUP BY k").all()
        for raw_key, size in per_key:
            of_key = "AND k IS NULL" if raw_key is None else "AND k = ?"
            key_params: tuple[Any, ...] = () if raw_key is None else (raw_key,)
            middle = _middle_sql("report_days", days, present, of_key)
            groups[(raw_key, i)] = float(run(middle, (*key_params, *_middle(size))).scalar_one())
    return overall, groups


def _middle(count: int) -> tuple[int, int]:
    """(LIMIT, OFFSET) of the middle one (odd `count`) or two (even) of `count` sorted rows."""
    return 2 - count % 2, (count - 1) // 2


def _middle_sql(table: str, days: str, present: str, where_key: str) -> str:
    """The mean of the middle one or two durations, read in index order (LIMIT ?, OFFSET ?)."""
    return (
        f"SELECT AVG(d) FROM (SELECT {days} AS d FROM {table} WHERE {present} {where_key}"
        f" ORDER BY {days} LIMIT ? OFFSET ?)"
    )

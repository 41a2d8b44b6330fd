"""The funnel counts, overall and per group, and the figures made of them.

Per group: the assigned, the clients at each stage (cumulative: `stages_reached > i`),
the reactivated among them and the data-quality counts. Over the whole history they are
sums of the group's tally rows (`db.tally`: a few thousand rows for any campaign); in a
window, one GROUP BY over the window's clients, whose sum is the overall funnel. Groups
are then labelled and put in order: advisors and branches ranked by the lower bound of a
stage's interval, other breakdowns in their natural order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from reactivate.db import tally
from reactivate.messages import t
from reactivate.report.model import RANKED, Group, StageFigures
from reactivate.report.scope import ASSIGNED, Scope
from reactivate.report.source import counted, days_inside, week_histograms, window_days
from reactivate.rules import funnel, stats
from reactivate.rules.campaign import Campaign


def counts(scope: Scope, by: str | None) -> dict[Any, dict[str, int]]:
    """Per group of breakdown `by` (one group '' without): assigned, clients at each
    stage, confirmed, and data-quality counts."""
    if by == "week":
        return _trend(scope)
    if scope.tallied:
        return _tallied(scope, by)
    if scope.by_dates:
        return _dated(scope, by)
    rows, key = counted(scope)
    if by is None:
        key = "''"
    parts = _aggregates(len(scope.campaign.stages))
    # PostgreSQL refuses GROUP BY ''
    group_by = f"GROUP BY {key}" if by is not None else ""
    sql = f"SELECT {key} AS k, {', '.join(f'{v} AS {n}' for n, v in parts.items())} FROM {rows} {group_by}"
    return {
        row.k: {k: int(v or 0) for k, v in row._mapping.items() if k != "k"}
        for row in scope.execute(sql)
    }


def _aggregates(n_stages: int) -> dict[str, str]:
    """`counts`' aggregates over rows `s` with funnel columns."""
    # COUNT(*) FILTER, not SUM(CASE ...): SQLite skips the step instead of adding 0
    # (twice as fast over a million clients)
    parts = {"assigned": "COUNT(*)", "confirmed": "COUNT(s.wecom_confirmed_at)"}
    for i in range(n_stages):
        parts[f"n{i}"] = f"COUNT(*) FILTER (WHERE s.stages_reached > {i})"
        parts[f"r{i}"] = (
            f"COUNT(*) FILTER (WHERE s.reactivated_at IS NOT NULL AND s.stages_reached > {i})"
        )
    parts.update(
        reactivated="COUNT(s.reactivated_at)",
        skipped="COUNT(*) FILTER (WHERE s.skipped_stage)",
        never_called="COUNT(*) FILTER (WHERE s.stages_reached = 0 AND NOT s.dnc"
        " AND NOT s.do_not_call AND s.assigned_at < :stale_before)",
        dnc_calls="COUNT(*) FILTER (WHERE s.do_not_call)",
        wecom_unconfirmed="COUNT(*) FILTER (WHERE s.wecom_at IS NOT NULL"
        " AND s.wecom_confirmed_at IS NULL)",
    )
    return parts


#: What a client counts for whatever its evidence: its assignment, its reactivation
#: (never windowed) and a do-not-call answer (read from the summary, as over the whole
#: history).
_ALWAYS = ("assigned", "reactivated", "dnc_calls")


def _dated(scope: Scope, by: str | None) -> dict[Any, dict[str, int]]:
    """A window's `counts`: what counts whatever a client's evidence (assigned,
    reactivated, do-not-call answers) from the tallies; each stage's clients and the
    WeCom adds and confirmations from the day histograms of the days inside the window
    (`stage_dates`: the clients who first reached the stage then) plus, from
    `report_days`, the clients who reached it before the window and have evidence for it
    inside it; the skipping clients likewise, overall only (the cohorts' skipping days
    count those first seen inside the window; a group's are shown nowhere); and the
    never called as the members who could be called (neither on the do-not-call list nor
    with such an answer, assigned before the cut) but those at some stage in the window.
    What the tallies give is read beside `report_days` where it can be (`report.ahead`)."""
    found, added = scope.read(window_tallies, by)
    stages = scope.campaign.stages
    blank = dict.fromkeys(_aggregates(len(stages)), 0)
    called = 0
    if scope.options.since is not None:
        names = list(_own(scope))
        for k, *values in _returning_counts(scope, by):
            counted = dict(zip(names, values, strict=True))
            figures = found.setdefault(k, dict(blank))
            for name in names:
                if name in figures:
                    figures[name] += int(counted[name] or 0)
            added[k] = added.get(k, 0) + int(counted["added"] or 0)
            called += int(counted["called"] or 0)
    for k, figures in found.items():
        figures["wecom_unconfirmed"] = added.get(k, 0) - figures["confirmed"]
    if by is None and found:
        overall = found[""]
        overall["skipped"] += scope.read(_skipping)
        overall["never_called"] = scope.read(_callable) - called - scope.read(_called)
    return found


def _own(scope: Scope) -> dict[str, str]:
    """What the clients first seen before the window (`report_days`) count beyond the
    histograms, which count a stage (or WeCom add) of theirs first reached inside it: the
    aggregates over their rows `s`."""
    own = {"skipped": "COUNT(*) FILTER (WHERE s.skipped_stage)"}
    for i in range(len(scope.campaign.stages)):
        at = f"s.b{i} AND s.stages_reached > {i}"
        own[f"n{i}"] = f"COUNT(*) FILTER (WHERE {at})"
        own[f"r{i}"] = f"COUNT(*) FILTER (WHERE {at} AND s.reactivated_at IS NOT NULL)"
    again = "s.h_{0} < :since AND s.{0} IS NOT NULL"
    own["confirmed"] = f"COUNT(*) FILTER (WHERE {again.format('wecom_confirmed_at')})"
    own["added"] = f"COUNT(*) FILTER (WHERE {again.format('wecom_at')})"
    own["called"] = (
        "COUNT(*) FILTER (WHERE s.b0 AND s.stages_reached > 0 AND NOT s.dnc"
        " AND NOT s.do_not_call AND s.assigned_at < :stale_before)"
        if scope.campaign.stages
        else "0"
    )
    return own


def _returning_counts(scope: Scope, by: str | None) -> list[Any]:
    """Rows (k, *`_own`) of `report_days` per group of breakdown `by`, or one overall ('');
    the overall row is the sum of the report's breakdown's rows, when it has one (one
    statement over the quarter of a million returning clients of a week at 10M fewer:
    0.25 s)."""
    rows: list[Any] = scope.once(_returning_rows)
    if by is not None or scope.funnel_by is None:
        return rows
    sums = [0] * len(_own(scope))
    for _k, *values in rows:
        sums = [total + int(value or 0) for total, value in zip(sums, values, strict=True)]
    return [("", *sums)]


def _returning_rows(scope: Scope) -> list[Any]:
    """`_returning_counts`' rows of the report's breakdown (or overall), from `report_days`."""
    columns = ", ".join(f"{v} AS {n}" for n, v in _own(scope).items())
    key, group_by = ("s.k", "GROUP BY s.k") if scope.funnel_by is not None else ("''", "")
    return scope.tuples(f"SELECT {key} AS k, {columns} FROM report_days s {group_by}")


def counts_ahead(scope: Scope) -> list[tuple[Callable[..., Any], tuple[Any, ...]]]:
    """A window's reads for `counts` and `groups` that `report.ahead` may run beside
    `report_days`, in the order they are asked for: the tallies' part of its breakdown's
    counts and of the overall funnel's, the overall funnel's skipping and callable
    clients, and the advisors' names."""
    by = scope.funnel_by
    reads: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [(window_tallies, (by,))]
    if by is not None:
        reads.append((window_tallies, (None,)))
    reads += [(_skipping, ()), (_callable, ()), (_called, ())]
    return reads + ([(advisor_names, ())] if by == "advisor" else [])


def window_tallies(
    scope: Scope, by: str | None
) -> tuple[dict[Any, dict[str, int]], dict[Any, int]]:
    """What a window's `counts` of breakdown `by` take from the tallies alone: per group,
    what counts whatever a client's evidence (`_ALWAYS`), and each stage's clients and
    the WeCom confirmations from the day histograms of the days inside the window, the
    other counts 0; and per group the WeCom adds of those days."""
    found = _tallied(scope, by)
    stages = scope.campaign.stages
    window = _aggregates(len(stages))
    for figures in found.values():
        figures.update({n: 0 for n in window if n not in _ALWAYS})
    blank = dict.fromkeys(window, 0)
    dim, key = (by, "key") if by is not None else ("cohort", "''")
    names = {stage: i for i, stage in enumerate(stages)}
    added = dict.fromkeys(found, 0)
    # PostgreSQL: summed from the day rows the medians read too (`source.window_days`)
    rows = (
        scope.execute(
            f"SELECT {key} AS k, stage, SUM(clients) AS n, SUM(reactivated) AS r FROM stage_dates"
            f" WHERE campaign_id = :cid AND dim = '{dim}' AND {days_inside(scope)}"
            f" AND stage <> '{tally.SKIPPED}' GROUP BY 1, stage"
        )
        if scope.sqlite
        else scope.once(window_days, by).sums()
    )
    for k, stage, n, r in rows:
        figures = found.setdefault(k, dict(blank))
        if stage in names:
            figures[f"n{names[stage]}"] += int(n)
            figures[f"r{names[stage]}"] += int(r)
        elif stage == tally.CONFIRMED:
            figures["confirmed"] += int(n)
        elif stage == tally.ADDED:
            added[k] = added.get(k, 0) + int(n)
    return found, added


def _skipping(scope: Scope) -> int:
    """The clients first seen inside the window (or, without a `since`, anywhere) who skip
    a stage in it: the cohorts' skipping days (`tally._skip_rows`) of a first day inside
    it, up to its last day."""
    bounds = ["date >= :first_day"] if scope.options.since is not None else []
    if scope.options.until is not None:
        bounds.append("date + day <= :last_day")
    row = scope.execute(
        f"SELECT SUM(clients) AS n FROM stage_dates WHERE campaign_id = :cid AND dim = 'cohort'"
        f" AND stage = '{tally.SKIPPED}'{''.join(f' AND {b}' for b in bounds)}"
    ).one()
    return int(row.n or 0)


def _called(scope: Scope) -> int:
    """The callable clients assigned before the stale cut who first reached the campaign's
    first stage inside the window (the day histograms' cohort rows)."""
    if not scope.campaign.stages:
        return 0
    row = scope.execute(
        "SELECT SUM(callable) AS n FROM stage_dates WHERE campaign_id = :cid AND dim = 'cohort'"
        f" AND stage = '{scope.campaign.stages[0]}' AND {days_inside(scope)}"
        " AND assigned_at < :stale_before"
    ).one()
    return int(row.n or 0)


def _callable(scope: Scope) -> int:
    """The assigned clients assigned before the stale cut who are neither on the
    do-not-call list nor with a do-not-call answer: from the tallies' cohort rows, but
    those both (not tallied; few, read by `ix_client_stage_dnc`: a scan of the summary
    cost 0.1-0.2 s at 1M on SQLite, 0.38 s on PostgreSQL)."""
    tallied = scope.execute(
        "SELECT SUM(members) - SUM(dnc) - SUM(dnc_calls) AS n FROM stage_tally"
        " WHERE campaign_id = :cid AND dim = 'cohort' AND arm = 'assigned'"
        " AND assigned_at < :stale_before"
    ).one()
    # SQLite, without statistics, would read every assigned client by their advisor's index
    indexed = " INDEXED BY ix_client_stage_dnc" if scope.sqlite else ""
    both = scope.execute(
        f"SELECT COUNT(*) AS n FROM client_stage cs{indexed} WHERE cs.campaign_id = :cid"
        f" AND {ASSIGNED} AND cs.dnc AND cs.do_not_call AND cs.assigned_at < :stale_before"
    ).one()
    return int(tallied.n or 0) + int(both.n or 0)


def _tallied(scope: Scope, by: str | None) -> dict[Any, dict[str, int]]:
    """`counts` from the tallies: each group's rows summed."""
    n_stages = len(scope.campaign.stages)
    at = [f"SUM(at{j})" for j in range(1, n_stages + 1)]
    rat = [f"SUM(rat{j})" for j in range(1, n_stages + 1)]
    parts = ["SUM(members) AS assigned", "SUM(confirmed) AS confirmed"]
    for i in range(n_stages):  # at stage i: at more than i stages
        parts.append(f"{' + '.join(at[i:])} AS n{i}")
        parts.append(f"{' + '.join(rat[i:])} AS r{i}")
    parts += [
        "SUM(reactivated) AS reactivated",
        "SUM(skipped) AS skipped",
        # cohort rows carry their assignment time; other breakdowns' rows never fall before
        "SUM(quiet) FILTER (WHERE assigned_at < :stale_before) AS never_called",
        "SUM(dnc_calls) AS dnc_calls",
        "SUM(wecom_unconfirmed) AS wecom_unconfirmed",
    ]
    key, group_by = ("key", "GROUP BY key") if by is not None else ("''", "")
    sql = (
        f"SELECT {key} AS k, {', '.join(parts)} FROM stage_tally"
        f" WHERE campaign_id = :cid AND dim = '{by or 'cohort'}' AND arm = 'assigned' {group_by}"
    )
    found = {
        row.k: {k: int(v or 0) for k, v in row._mapping.items() if k != "k"}
        for row in scope.execute(sql)
    }
    return found


def _trend(scope: Scope) -> dict[Any, dict[str, int]]:
    """Per week (its Monday): the clients assigned that week, and the clients who first
    reached each stage that week (the `week` histograms of `db.tally`, or in a partial
    view the same counted from the login's rows)."""
    found: dict[Any, dict[str, int]] = {}
    assigned_sql = (
        f"SELECT {tally.DIMENSIONS['cohort']} AS k, COUNT(*) AS n FROM client_stage cs"
        f" WHERE {scope.in_campaign} AND {ASSIGNED} GROUP BY 1"
        if scope.partial
        else "SELECT key AS k, SUM(members) AS n FROM stage_tally WHERE campaign_id = :cid"
        " AND dim = 'cohort' AND arm = 'assigned' GROUP BY key"
    )
    for row in scope.execute(assigned_sql):
        found.setdefault(row.k, {})["assigned"] = int(row.n)
    names = {stage: f"n{i}" for i, stage in enumerate(scope.campaign.stages)}
    names[tally.CONFIRMED] = "confirmed"
    reached = scope.execute(
        f"SELECT k, stage, SUM(n) AS n FROM ({week_histograms(scope)}) w GROUP BY k, stage"
    )
    for row in reached:
        if row.stage in names:
            week = tally.monday_of(row.k).isoformat()  # keyed as the cohorts are
            found.setdefault(week, {})[names[row.stage]] = int(row.n)
    blank = {"assigned": 0, **dict.fromkeys(names.values(), 0)}
    return {key: {**blank, **figures} for key, figures in found.items()}


def totals(grouped: Mapping[Any, Mapping[str, int]], stage_count: int) -> dict[str, int]:
    """The groups' counts summed: the overall funnel (zeros when nobody is assigned)."""
    total: dict[str, int] = {}
    for figures in grouped.values():
        for k, v in figures.items():
            total[k] = total.get(k, 0) + v
    if not total:
        total = {"assigned": 0, "confirmed": 0, **{f"n{i}": 0 for i in range(stage_count)}}
    return total


def stage_figures(
    campaign: Campaign,
    counts: Mapping[str, int],
    medians: Mapping[int, float],
    *,
    trend_of: int | None = None,
) -> tuple[StageFigures, ...]:
    """One funnel: each stage's clients, shares, interval and target, from one group's counts.

    A week of the trend (`trend_of`: the campaign's assigned clients) counts clients new
    at each stage that week, as shares of every assigned client: no share of the
    previous stage (other clients) and no target (a campaign's, not a week's)."""
    assigned = counts["assigned"] if trend_of is None else trend_of
    out: list[StageFigures] = []
    previous: int | None = None
    for i, stage in enumerate(campaign.stages):
        n = counts[f"n{i}"]
        target = campaign.targets.get(stage) if trend_of is None else None
        share = n / assigned if assigned else None
        out.append(
            StageFigures(
                stage=stage,
                clients=n,
                of_assigned=share,
                of_previous=(n / previous if previous else None)
                if i and trend_of is None
                else None,
                ci95=stats.wilson(n, assigned),
                target=target,
                met=None if target is None or share is None else share >= target,
                median_days=medians.get(i),
                confirmed=counts["confirmed"] if stage == funnel.WECOM_ADDED else None,
            )
        )
        previous = n
    return tuple(out)


def groups(
    scope: Scope,
    by: str,
    counts: Mapping[Any, Mapping[str, int]],
    medians: Mapping[tuple[Any, int], float],
    assigned: int,
) -> tuple[tuple[Group, ...], str | None]:
    """The groups of breakdown `by` in order, and the stage they are ranked by (if ranked);
    `assigned`: the campaign's assigned clients (the trend's denominator)."""
    trend_of = assigned if by == "week" else None
    names = scope.read(advisor_names) if by == "advisor" else {}
    by_key: dict[Any, dict[int, float]] = {}
    for (raw_key, i), value in medians.items():
        by_key.setdefault(raw_key, {})[i] = value
    found = []
    for raw, figures in counts.items():
        key, name = _label(by, raw, names)
        per_stage = by_key.get(raw, {})
        found.append(
            Group(
                key,
                name,
                figures["assigned"],
                stage_figures(scope.campaign, figures, per_stage, trend_of=trend_of),
            )
        )
    if by not in RANKED:
        order = list(funnel_order(by, scope.campaign))
        found.sort(key=lambda g: (order.index(g.key) if g.key in order else len(order), g.key))
        return tuple(found), None
    stage = scope.options.rank_by or scope.campaign.stages[-1]

    def rank(group: Group) -> tuple[float, float, int, str]:
        figures = group.stage(stage)
        low = figures.ci95[0] if figures.ci95 else -1.0
        return (-low, -(figures.of_assigned or 0.0), -group.assigned, group.key)

    found.sort(key=rank)
    return tuple(found), stage


def funnel_order(by: str, campaign: Campaign) -> tuple[str, ...]:
    """The natural order of a non-ranked breakdown's keys (bands low to high, C1..C5)."""
    if by == "asset_band":
        edges = campaign.asset_edges
        bands = [
            funnel.asset_band(edges[i - 1] if i else float("-inf"), edges)
            for i in range(len(edges))
        ]
        return (*bands, funnel.asset_band(edges[-1], edges), "unknown")
    if by == "risk":
        return ("C1", "C2", "C3", "C4", "C5", "unknown")
    return ()


def advisor_names(scope: Scope) -> dict[str, str]:
    return {row.code: row.name for row in scope.execute("SELECT code, name FROM advisor")}


def _label(by: str, raw: Any, names: Mapping[str, str]) -> tuple[str, str]:
    """(key, display name) of a group from its raw SQL key."""
    if raw is None or raw == "":
        return "unknown", t("report.unknown")
    if by == "advisor":
        return str(raw), names.get(str(raw), "")
    if by == "risk":
        return f"C{int(raw)}", f"C{int(raw)}"
    if by in ("week", "cohort"):
        monday = dt.date.fromisoformat(str(raw))
        year, week, _ = monday.isocalendar()
        return f"{year}-W{week:02d}", monday.isoformat()
    return str(raw), str(raw)

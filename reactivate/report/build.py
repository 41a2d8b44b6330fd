"""The manager's report, step by step: check the options, read each part, assemble a `Report`.

Counting rules (see `reactivate.rules.funnel`): the denominator is the assigned clients (members
with an advisor, not in the control group). A client counts at a stage when they have
evidence for it or for any later stage of the campaign; "first reaching the stage" is the
earliest of those times. With a window (`since`/`until`), only evidence dated inside it
counts, read from the events (voided events excluded) over the same assigned clients.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from reactivate import access, registry
from reactivate.clock import local, utcnow
from reactivate.db.dialect import is_postgresql, tune_big_reads
from reactivate.errors import ConfigError
from reactivate.messages import t
from reactivate.report import ahead
from reactivate.report.attempts import attempts
from reactivate.report.dropped import dropped, dropped_count, dropped_text
from reactivate.report.funnels import counts, counts_ahead, groups, stage_figures, totals
from reactivate.report.medians import medians, medians_ahead
from reactivate.report.model import BREAKDOWNS, Group, Report, ReportOptions
from reactivate.report.quality import data_quality
from reactivate.report.reactivation import arms, reactivation
from reactivate.report.scope import Scope
from reactivate.report.source import materialize
from reactivate.rules.campaign import Campaign

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from reactivate.db.reads import SQLiteEngine

# the options travel with the function that takes them (callers may import both from here)
__all__ = ["ReportOptions", "build_report", "open_report"]


def build_report(
    engine: Engine | SQLiteEngine, slug: str, options: ReportOptions | None = None
) -> Report:
    """The report of campaign `slug`; raises `ConfigError` for options that do not fit it."""
    with open_report(engine, slug, options) as report:
        return replace(report, dropped_text=None)


@contextmanager
def open_report(
    engine: Engine | SQLiteEngine, slug: str, options: ReportOptions | None = None
) -> Iterator[Report]:
    """`build_report`'s report, its connection open while the caller writes it: with
    `--dropped`, `Report.dropped_text` writes the whole list as it reads it."""
    options = options or ReportOptions()
    registered = registry.get(engine, slug)
    campaign = registered.config
    _check(options, campaign)
    with engine.connect() as conn:
        if is_postgresql(conn):  # one snapshot for every read, those beside it too (`ahead`)
            cast("Connection", conn).execution_options(isolation_level="REPEATABLE READ")
        tune_big_reads(conn)
        now = options.as_of or utcnow()
        seen_partly = access.partial_view(conn)
        yield _build(Scope(conn, registered.id, campaign, options, now, seen_partly))
        conn.rollback()  # read only; drops nothing but ends the transaction cleanly


def _check(options: ReportOptions, campaign: Campaign) -> None:
    if options.by is not None and options.by not in BREAKDOWNS:
        raise ConfigError(t("report.bad_by", value=options.by, choices=", ".join(BREAKDOWNS)))
    for flag, stage in (("--rank-by", options.rank_by), ("--dropped", options.dropped)):
        if stage is not None and stage not in campaign.stages:
            raise ConfigError(
                t("report.bad_stage", flag=flag, value=stage, stages=", ".join(campaign.stages))
            )
    if options.by == "week" and (options.since or options.until):
        raise ConfigError(t("report.week_window"))
    if options.since and options.until and options.since > options.until:
        raise ConfigError(t("report.bad_window", since=options.since, until=options.until))
    if options.stale_days < 0:
        raise ConfigError(t("report.bad_stale", value=options.stale_days))


def _build(scope: Scope) -> Report:
    with ahead.reading(scope, _read_ahead(scope)) as reader:
        return _built(replace(scope, ahead=reader))


def _read_ahead(scope: Scope) -> list[ahead.Read]:
    """What a window's report reads beside its returning clients (`report.ahead`): the
    tallies' part of its counts and medians. Only while `report_days` is worked out from
    the events: a window without a `since` reads nobody one by one."""
    if not scope.by_dates or scope.options.since is None:
        return []
    return [*counts_ahead(scope), *medians_ahead(scope)]


def _built(scope: Scope) -> Report:
    campaign, options = scope.campaign, scope.options
    if scope.materialized:
        materialize(scope)
    grouped = counts(scope, scope.funnel_by)
    # a breakdown's tally rows carry no assignment time, which the never-called count needs;
    # the trend's weeks hold only the clients new at each stage
    separate = scope.funnel_by == "week" or (
        (scope.tallied or scope.by_dates) and scope.funnel_by is not None
    )
    overall = counts(scope, None) if separate else grouped
    total = totals(overall, len(campaign.stages))
    overall_medians, group_medians = medians(scope)
    found: tuple[Group, ...] = ()
    ranked_by = None
    if scope.funnel_by is not None:
        found, ranked_by = groups(scope, scope.funnel_by, grouped, group_medians, total["assigned"])
    treated, control = arms(scope)
    return Report(
        campaign=campaign.slug,
        campaign_name=campaign.name,
        timezone=campaign.timezone,
        generated_at=local(scope.now, campaign.tz),
        assigned=total["assigned"],
        control=control.clients,
        stages=stage_figures(campaign, total, overall_medians),
        reactivation=reactivation(scope, treated, control, total),
        by=options.by,
        groups=found,
        ranked_by=ranked_by,
        data_quality=data_quality(scope, total, treated.dnc + control.dnc),
        window=(options.since, options.until) if scope.windowed else None,
        attempts=attempts(scope) if options.by == "attempt" else (),
        dropped_stage=options.dropped,
        **_dropped(scope, total),
    )


def _dropped(scope: Scope, total: dict[str, int]) -> dict[str, Any]:
    """The `--dropped` list's fields of the report: its first clients (or all), how many
    it holds when cut, and its whole text."""
    stage, shown = scope.options.dropped, scope.options.dropped_shown
    if not stage:
        return {}
    listed = dropped(scope, stage, shown) if shown != 0 else ()
    cut = shown is not None and 0 < shown == len(listed)  # 0: the list only as text
    return {
        "dropped": listed,
        "dropped_count": dropped_count(scope, stage, total) if cut else None,
        "dropped_text": partial(dropped_text, scope, stage),
    }

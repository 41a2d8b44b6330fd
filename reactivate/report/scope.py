"""What one report's queries share: the connection, the campaign, its options, bound values.

Each concern of a report (`source`, `funnels`, `medians`, `reactivation`, `quality`,
`attempts`, `dropped`) is a few functions taking a `Scope`; `build` calls them in order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reactivate.db import reads, stages
from reactivate.report.model import ReportOptions
from reactivate.rules.campaign import Campaign

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from reactivate.db.reads import SQLiteConnection

ASSIGNED = "cs.advisor_code IS NOT NULL AND NOT cs.control"
# `+cs.campaign_id`: a plain scan of the summary; through an index SQLite would fetch each
# row by a random lookup, 10x slower for a campaign that fills the table
CAMPAIGN = "+cs.campaign_id = :cid"


@dataclass(frozen=True)
class Scope:
    """One report being read: on `conn`, of campaign `campaign_id`, as `options` ask."""

    conn: Connection | SQLiteConnection
    campaign_id: int
    campaign: Campaign
    options: ReportOptions
    now: dt.datetime  # the report's "now": `options.as_of` or the clock
    # the caller sees part of the campaign (a manager, an advisor on a shared PostgreSQL):
    # counts come from the rows the database lets them read, not the campaign's tallies
    partial: bool = False

    @property
    def sqlite(self) -> bool:
        return self.conn.dialect.name == "sqlite"

    @property
    def windowed(self) -> bool:
        return self.options.since is not None or self.options.until is not None

    @property
    def funnel_by(self) -> str | None:
        """The breakdown counted as a funnel per group (`attempt` is a report of its own)."""
        by = self.options.by
        return by if by != "attempt" else None

    @property
    def tallied(self) -> bool:
        """Counts and medians are read from the tallies (`db.tally`): all but a window's."""
        return not self.windowed and not self.partial

    @property
    def materialized(self) -> bool:
        """SQLite reads a window's clients from `report_days` (`source.materialize`)."""
        return self.sqlite and self.windowed

    @property
    def days(self) -> list[str]:
        """The summary's days-to-stage columns, in the campaign's stage order."""
        return [stages.DAYS_COLUMNS[stage] for stage in self.campaign.stages]

    @property
    def params(self) -> dict[str, Any]:
        """Every value a report's SQL may bind: the campaign, the window's bounds, the stale cut."""
        params: dict[str, Any] = {
            "cid": self.campaign_id,
            "stale_before": self.now - dt.timedelta(days=self.options.stale_days),
        }
        tz = self.campaign.tz
        if self.options.since is not None:
            params["since"] = dt.datetime.combine(self.options.since, dt.time(), tz)
        if self.options.until is not None:
            end = self.options.until + dt.timedelta(days=1)  # `until` is inclusive
            params["until"] = dt.datetime.combine(end, dt.time(), tz)
        return params

    def execute(self, sql: str) -> Any:
        """Run `sql` with the values it names (datetimes bound as stored)."""
        used = {k: v for k, v in self.params.items() if f":{k}" in sql}
        return reads.execute(self.conn, sql, used)

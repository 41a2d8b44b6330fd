"""What one report's queries share: the connection, the campaign, its options, bound values.

Each concern of a report (`source`, `funnels`, `medians`, `reactivation`, `quality`,
`attempts`, `dropped`) is a few functions taking a `Scope`; `build` calls them in order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from reactivate.db import reads, stages, tally
from reactivate.report.model import ReportOptions
from reactivate.rules.campaign import Campaign

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from reactivate.db.reads import SQLiteConnection
    from reactivate.report.ahead import Ahead

ASSIGNED = tally.assigned("cs")

T = TypeVar("T")


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
    # reads running beside the report's own connection (`report.ahead`), if any
    ahead: Ahead | None = field(default=None, compare=False)
    # what several concerns read the same way, read once per report (`once`)
    _read: dict[tuple[Callable[..., Any], tuple[Any, ...]], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def sqlite(self) -> bool:
        return self.conn.dialect.name == "sqlite"

    @property
    def in_campaign(self) -> str:
        """The summary rows `cs` of the campaign. SQLite: `+cs.campaign_id`, a plain scan;
        through an index it would fetch each row by a random lookup, 10x slower for a
        campaign that fills the table. PostgreSQL: the plain column, so that the
        summary's partial indexes (revision 0004) can serve it."""
        return "+cs.campaign_id = :cid" if self.sqlite else "cs.campaign_id = :cid"

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
    def by_dates(self) -> bool:
        """A window's counts and medians are sums over its days of the day histograms
        (`stage_dates`), with the clients first seen before it who have evidence inside
        it counted one by one (`source.materialize`): all but a partial view's, whose rows
        the campaign-wide tallies do not count."""
        return self.windowed and not self.partial

    @property
    def materialized(self) -> bool:
        """A window's clients are read from `report_days` (`source.materialize`), worked
        out once: counts and each stage's histogram would each work them out again (six
        times on PostgreSQL, which does not share a subquery between statements)."""
        return self.windowed

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
            params["first_day"] = tally.day_number(self.options.since)
        if self.options.until is not None:
            end = self.options.until + dt.timedelta(days=1)  # `until` is inclusive
            params["until"] = dt.datetime.combine(end, dt.time(), tz)
            params["last_day"] = tally.day_number(self.options.until)
        return params

    def once(self, read: Callable[..., T], *args: Any) -> T:
        """`read(self, *args)`, worked out the first time it is asked for in this report."""
        if (read, args) not in self._read:
            self._read[(read, args)] = read(self, *args)
        value: T = self._read[(read, args)]
        return value

    def read(self, read: Callable[..., T], *args: Any) -> T:
        """`read(self, *args)`: its result read ahead on a connection of its own when it
        was sent there (`report.ahead`), else read now."""
        if self.ahead is not None and self.ahead.holds((read, args)):
            found: T = self.ahead.result((read, args))
            return found
        return read(self, *args)

    def execute(self, sql: str) -> Any:
        """Run `sql` with the values it names (datetimes bound as stored)."""
        return reads.execute(self.conn, sql, self.params_of(sql))

    def tuples(self, sql: str) -> list[Any]:
        """`execute`'s rows at once, as the driver's plain tuples where it can (`reads.tuples`)."""
        return reads.tuples(self.conn, sql, self.params_of(sql))

    def params_of(self, sql: str) -> dict[str, Any]:
        """The bound values `sql` names."""
        return {k: v for k, v in self.params.items() if f":{k}" in sql}

"""The manager's report, and one client's timeline (`client show`).

A report is read from `client_stage`, the per-member summary `db.stages.refresh` rebuilds
from the events inside every transaction that writes them: per client, the first time at
each stage, how many stages they count at, a skipped stage, and the days to each stage
under the campaign's stage list. Every figure is then a SQL aggregate over that table
(joined to `client` for breakdown keys), never a Python loop over clients: counts are one
GROUP BY and, on SQLite, medians are read from its indexes, so a report over a million
clients takes about a second. A date window (`since`/`until`) sums the day histograms
(`stage_dates`: per group and local day, the clients who first reached each stage then)
over its days, and adds the clients first seen before it who have evidence inside it,
found by the summary's indexes of first times, their funnel columns worked out again
from the evidence dated inside it (the events read only for clients who had a kind
before it).

`build.build_report` checks the options and runs the steps in order over one read-only
connection, each a module of plain functions taking a `scope.Scope` (on PostgreSQL a
window's reads of the tallies alone run meanwhile on a second connection on the same
snapshot, `ahead`, while the first works out the window's returning clients):

- `source`: the counted clients (whole history or window) and each breakdown's key;
  a window's clients first seen before it who may have evidence inside it are
  materialized once into a temporary table
- `funnels`: the counts per stage, overall and per group; groups labelled and ranked
- `medians`: median days from assignment to each stage
- `reactivation`: treated against the control group, uplift with its interval
- `quality`: the data-quality section
- `attempts`, `dropped`: the dialer's pass report, the drop-off list (masked; as CSV or
  JSON read a frame at a time while `open_report` holds the connection open, and
  written a column at a time)

The result is a `model.Report`, plain data whose `to_json` is the stable contract;
`reactivate.render` draws it and never queries. Nothing here prints.
"""

from reactivate.report.build import build_report, open_report
from reactivate.report.model import (
    BREAKDOWNS,
    RANKED,
    Arm,
    AttemptRow,
    DataQuality,
    DroppedClient,
    Group,
    Reactivation,
    Report,
    ReportOptions,
    StageFigures,
)
from reactivate.report.timeline import Timeline, TimelineEvent, client_timeline

__all__ = [
    "BREAKDOWNS",
    "RANKED",
    "Arm",
    "AttemptRow",
    "DataQuality",
    "DroppedClient",
    "Group",
    "Reactivation",
    "Report",
    "ReportOptions",
    "StageFigures",
    "Timeline",
    "TimelineEvent",
    "client_timeline",
    "build_report",
    "open_report",
]

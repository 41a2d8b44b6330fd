"""What a report holds, as plain data: its options, figures and the JSON contract.

`Report` is what `build_report` returns and every renderer reads; `to_json` is the stable
contract for other tools (keys are only ever added). Nothing here queries or prints.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from reactivate.rules import funnel

#: Breakdowns `--by` accepts: funnels per group, or the attempt (dialer pass) report.
BREAKDOWNS = ("advisor", "branch", "week", "cohort", "risk", "asset_band", "attempt")
#: Breakdowns whose groups are ranked by the lower bound of a stage's interval.
RANKED = frozenset({"advisor", "branch"})


@dataclass(frozen=True)
class ReportOptions:
    """What to report: a breakdown, a ranking stage, a drop-off list, a window of dates."""

    by: str | None = None
    rank_by: str | None = None
    dropped: str | None = None
    # how many of the `--dropped` list to read as clients, its first (a table shows 50):
    # None, all of them
    dropped_shown: int | None = None
    since: dt.date | None = None  # first day counted, in the campaign's time zone
    until: dt.date | None = None  # last day counted (inclusive)
    stale_days: int = 7
    as_of: dt.datetime | None = None  # "now" for never-called-after-N-days; default: now


@dataclass(frozen=True)
class StageFigures:
    """One stage of a funnel over `assigned` clients."""

    stage: str
    clients: int
    of_assigned: float | None
    of_previous: float | None
    ci95: tuple[float, float] | None
    target: float | None
    met: bool | None
    median_days: float | None
    confirmed: int | None = None  # wecom_added only: confirmed by WeCom's API

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "stage": self.stage,
            "clients": self.clients,
            "of_assigned": _round(self.of_assigned),
            "of_previous": _round(self.of_previous),
            "ci95": [_round(v) for v in self.ci95] if self.ci95 else None,
            "target": self.target,
            "met": self.met,
            "median_days": _round(self.median_days, 2),
        }
        if self.stage == funnel.WECOM_ADDED:
            data["confirmed"] = self.confirmed or 0
        return data


@dataclass(frozen=True)
class Group:
    """A funnel over one group's own assigned clients (an advisor, a branch, a week, ...)."""

    key: str
    name: str
    assigned: int
    stages: tuple[StageFigures, ...]

    def stage(self, name: str) -> StageFigures:
        return next(s for s in self.stages if s.stage == name)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "assigned": self.assigned,
            "stages": [s.to_json() for s in self.stages],
        }


@dataclass(frozen=True)
class Arm:
    """Reactivation in one arm of the comparison (treated or control)."""

    clients: int
    reactivated: int

    @property
    def rate(self) -> float | None:
        return self.reactivated / self.clients if self.clients else None

    def to_json(self) -> dict[str, Any]:
        return {"clients": self.clients, "reactivated": self.reactivated, "rate": _round(self.rate)}


@dataclass(frozen=True)
class Reactivation:
    """Did clients trade again: treated vs control, and the uplift in percentage points.

    `by_stage` (reactivation among assigned clients by stage reached) is descriptive:
    clients who answer were likelier to come back anyway, so it shows no cause.
    """

    treated: Arm
    control: Arm | None
    uplift: float | None  # percentage points: 100 * (treated rate - control rate)
    ci95: tuple[float, float] | None  # Newcombe hybrid score interval, percentage points
    by_stage: tuple[tuple[str, Arm], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "treated": self.treated.to_json(),
            "control": self.control.to_json() if self.control else None,
            "uplift": _round(self.uplift, 2),
            "ci95": [_round(v, 2) for v in self.ci95] if self.ci95 else None,
            "by_stage": [{"stage": s, **arm.to_json()} for s, arm in self.by_stage],
        }


@dataclass(frozen=True)
class AttemptRow:
    """Dialer pass `attempt`: clients called at least that often, and reached by that call."""

    attempt: int
    called: int
    reached: int

    @property
    def share(self) -> float | None:
        return self.reached / self.called if self.called else None

    def to_json(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "called": self.called,
            "reached": self.reached,
            "share": _round(self.share),
        }


#: The keys of a `--dropped` client's JSON object (`DroppedClient.to_json`), in order.
DROPPED_KEYS = (
    "client_id",
    "name",
    "mobile",
    "advisor",
    "advisor_name",
    "last_call_at",
    "callback_at",
)


class DroppedClient(NamedTuple):
    """A client who reached the stage before `--dropped STAGE` but not it; personal data masked.

    A named tuple, not a dataclass like the rest: a list holds a few hundred thousand, and
    a tuple is built in C from a row's values (a frozen dataclass's `__init__` sets each
    field by a call: 0.3 s of the 257,575 clients' list at 1M members)."""

    client_id: str
    name: str
    mobile: str
    advisor_code: str | None
    advisor_name: str | None
    last_call_at: dt.datetime | None
    callback_at: dt.datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "name": self.name,
            "mobile": self.mobile,
            "advisor": self.advisor_code,
            "advisor_name": self.advisor_name,
            "last_call_at": self.last_call_at.isoformat() if self.last_call_at else None,
            "callback_at": self.callback_at.isoformat() if self.callback_at else None,
        }


@dataclass(frozen=True)
class DataQuality:
    """What may make the figures less true than they look."""

    skipped_stage: int  # later evidence without earlier (counted, flagged)
    stale_days: int
    never_called: int  # assigned over `stale_days` ago, no evidence at all, not do-not-call
    dnc_members: int  # members on the do-not-call list
    dnc_calls: int  # assigned clients whose call ended with do-not-call
    uploads_refused: int
    rows_rejected: int
    silent_advisors: tuple[tuple[str, str], ...]  # (code, name) with clients and no upload
    wecom_unconfirmed: int  # self-reported WeCom adds WeCom does not show
    wecom_synced: bool  # a WeCom sync ever ran (else unconfirmed means nothing yet)

    def to_json(self) -> dict[str, Any]:
        return {
            "skipped_stage": self.skipped_stage,
            "stale_days": self.stale_days,
            "never_called": self.never_called,
            "dnc_members": self.dnc_members,
            "dnc_calls": self.dnc_calls,
            "uploads_refused": self.uploads_refused,
            "rows_rejected": self.rows_rejected,
            "silent_advisors": [{"key": c, "name": n} for c, n in self.silent_advisors],
            "wecom_unconfirmed": self.wecom_unconfirmed if self.wecom_synced else None,
            "wecom_synced": self.wecom_synced,
        }


@dataclass(frozen=True)
class Report:
    """Everything a report shows, as plain data; `to_json` is the stable contract."""

    campaign: str
    campaign_name: str
    timezone: str
    generated_at: dt.datetime
    assigned: int
    control: int
    stages: tuple[StageFigures, ...]
    reactivation: Reactivation | None
    by: str | None
    groups: tuple[Group, ...]
    ranked_by: str | None
    data_quality: DataQuality
    window: tuple[dt.date | None, dt.date | None] | None = None
    attempts: tuple[AttemptRow, ...] = ()
    dropped_stage: str | None = None
    dropped: tuple[DroppedClient, ...] = field(default=())
    # how many clients the list holds, when `dropped` holds only its first ones
    dropped_count: int | None = None
    # the whole list as CSV or JSON, UTF-8, read from the database as it is written, in blocks:
    # `dropped_text(fmt, lead)` (`report.dropped.dropped_text`); only while the report's
    # connection is open (`report.open_report`), else None
    dropped_text: Callable[[str, str], Iterator[bytes]] | None = field(
        default=None, compare=False, repr=False
    )

    @property
    def dropped_total(self) -> int:
        """How many clients the `--dropped` list holds."""
        return len(self.dropped) if self.dropped_count is None else self.dropped_count

    def stage(self, name: str) -> StageFigures:
        return next(s for s in self.stages if s.stage == name)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "campaign": self.campaign,
            "assigned": self.assigned,
            "control": self.control,
            "stages": [s.to_json() for s in self.stages],
            "reactivation": self.reactivation.to_json() if self.reactivation else None,
            "by": self.by,
            "groups": [g.to_json() for g in self.groups],
            "ranked_by": self.ranked_by,
            "window": (
                {"since": _iso(self.window[0]), "until": _iso(self.window[1])}
                if self.window
                else None
            ),
            "data_quality": self.data_quality.to_json(),
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
        }
        if self.by == "attempt":
            data["attempts"] = [a.to_json() for a in self.attempts]
        if self.dropped_stage:
            data["dropped"] = {
                "stage": self.dropped_stage,
                "clients": [c.to_json() for c in self.dropped],
            }
        return data


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None

"""`reactivate followups`: who each advisor should contact next, and why.

One set-based query over members, the stage summary (`client_stage`) and the last call
of each client picks, in this order of urgency:

- callback_due: a call-back time the client asked for has come, and no call since;
- retry: the last call went unanswered (no answer, busy), fewer than the campaign's
  `followup.max_attempts` attempts so far, and `followup.retry_delay_hours` have passed;
- never_called: assigned, and no evidence of any contact yet;
- reached_not_wecom: the client answered, but is not on WeCom yet;
- wecom_not_pushed: on WeCom, but no product pushed yet.

Never a control-group or do-not-call client (flagged, on the firm-wide list, or a
do-not-call result in this campaign), nor a client already converted, nor one waiting
for a call-back time still to come. Names and mobiles are masked unless the list is
for one advisor or becomes their workbooks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from reactivate import access, registry
from reactivate.clock import from_db, local, utcnow
from reactivate.db.dialect import db_time
from reactivate.db.locks import lock_campaign
from reactivate.errors import ConfigError
from reactivate.messages import t
from reactivate.privacy import mask_mobile, mask_name
from reactivate.rules import funnel

#: Reasons in order of urgency.
REASONS = ("callback_due", "retry", "never_called", "reached_not_wecom", "wecom_not_pushed")
_UNANSWERED = (funnel.NO_ANSWER, funnel.BUSY)

_FOLLOWUP_SQL = f"""
SELECT * FROM (
  SELECT m.client_id, m.advisor_code, c.name, c.mobile, c.branch, c.assets, c.risk,
         c.last_trade_date,
         COALESCE(cs.attempts, 0) AS attempts, cs.last_call_at, cs.callback_at,
         lc.value AS last_result,
    CASE
      WHEN cs.converted_at IS NOT NULL THEN NULL
      WHEN cs.callback_at IS NOT NULL
           AND (cs.last_call_at IS NULL OR cs.last_call_at < cs.callback_at)
        THEN CASE WHEN cs.callback_at <= :now THEN 'callback_due' END
      WHEN lc.value IN ('{_UNANSWERED[0]}', '{_UNANSWERED[1]}') AND cs.last_call_at > :retry_before
        THEN NULL
      WHEN lc.value IN ('{_UNANSWERED[0]}', '{_UNANSWERED[1]}') AND cs.reached_at IS NULL
        THEN CASE WHEN COALESCE(cs.attempts, 0) < :max_attempts THEN 'retry' END
      WHEN cs.client_id IS NULL OR (cs.called_at IS NULL AND cs.reached_at IS NULL
           AND cs.wecom_at IS NULL AND cs.pushed_at IS NULL AND cs.attempts = 0)
        THEN 'never_called'
      WHEN cs.wecom_at IS NOT NULL AND cs.pushed_at IS NULL THEN 'wecom_not_pushed'
      WHEN cs.reached_at IS NOT NULL AND cs.wecom_at IS NULL AND cs.pushed_at IS NULL
        THEN 'reached_not_wecom'
    END AS reason
  FROM member m
  JOIN {{clients}} c ON c.client_id = m.client_id
  LEFT JOIN client_stage cs ON cs.campaign_id = m.campaign_id AND cs.client_id = m.client_id
  LEFT JOIN (
    SELECT e.client_id, MAX(e.value) AS value
    FROM event e
    JOIN client_stage s ON s.campaign_id = e.campaign_id AND s.client_id = e.client_id
     AND s.last_call_at = e.occurred_at
    WHERE e.campaign_id = :campaign_id AND e.stage = '{funnel.EVENT_CALL}'
      AND NOT EXISTS (SELECT 1 FROM event v WHERE v.voids_event_id = e.id)
    GROUP BY e.client_id
  ) lc ON lc.client_id = m.client_id
  WHERE m.campaign_id = :campaign_id
    AND m.advisor_code IS NOT NULL {{advisor}}
    AND NOT m.control AND NOT m.dnc
    AND NOT COALESCE(cs.do_not_call, false)
    AND NOT EXISTS (SELECT 1 FROM do_not_call d
                    WHERE (d.kind = 'client_id' AND d.value = m.client_id)
                       OR (d.kind = 'mobile' AND d.value = c.mobile))
) f
WHERE f.reason IS NOT NULL
"""

_IDLE_SQL = f"""
SELECT a.code, a.name, a.branch, MIN(m.assigned_at) AS first_assigned,
       (SELECT MAX(e.recorded_at) FROM event e
         WHERE e.campaign_id = :campaign_id AND e.advisor_code = a.code
           AND e.source = 'upload' AND e.stage <> '{funnel.EVENT_VOID}') AS last_upload
FROM advisor a
JOIN member m ON m.advisor_code = a.code AND m.campaign_id = :campaign_id
WHERE NOT m.control {{advisor}}
GROUP BY a.code, a.name, a.branch
"""


@dataclass(frozen=True)
class Followup:
    """One client to contact next, with why; name and mobile masked unless `full`."""

    client_id: str
    advisor: str
    reason: str
    name: str
    mobile: str
    attempts: int
    last_call_at: dt.datetime | None
    last_result: str | None
    due_at: dt.datetime | None  # callback time asked for, or when the retry became due

    def to_json(self, tz: Any) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "advisor": self.advisor,
            "reason": self.reason,
            "reason_text": t(f"followup.{self.reason}"),
            "name": self.name,
            "mobile": self.mobile,
            "attempts": self.attempts,
            "last_call_at": _shown(self.last_call_at, tz),
            "last_result": self.last_result,
            "due_at": _shown(self.due_at, tz),
        }


@dataclass(frozen=True)
class IdleAdvisor:
    """An advisor with clients in the campaign and no upload for `days` days or more."""

    code: str
    name: str
    last_upload: dt.datetime | None
    days: int


@dataclass
class FollowupReport:
    campaign: str
    timezone: str
    advisor: str | None
    items: list[Followup] = field(default_factory=list)
    idle: list[IdleAdvisor] = field(default_factory=list)
    idle_days: int = 3
    workbooks: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        tz = registry_tz(self.timezone)
        counts = {reason: 0 for reason in REASONS}
        for item in self.items:
            counts[item.reason] += 1
        return {
            "campaign": self.campaign,
            "advisor": self.advisor,
            "count": len(self.items),
            "by_reason": counts,
            "followups": [item.to_json(tz) for item in self.items],
            "idle_days": self.idle_days,
            "idle_advisors": [
                {
                    "code": a.code,
                    "name": a.name,
                    "last_upload": _shown(a.last_upload, tz),
                    "days": a.days,
                }
                for a in self.idle
            ],
            "workbooks": self.workbooks,
        }


def registry_tz(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _shown(moment: dt.datetime | None, tz: Any) -> str | None:
    if moment is None:
        return None
    return local(moment, tz).strftime("%Y-%m-%d %H:%M")


def followups(
    engine: Engine,
    slug: str,
    *,
    advisor: str | None = None,
    idle_days: int = 3,
    workbooks: Path | None = None,
    now: dt.datetime | None = None,
) -> FollowupReport:
    """The follow-up list (and idle advisors); with `workbooks`, one workbook per advisor."""
    if workbooks is not None:
        access.require(engine, "access.action.workbooks")  # signed with what only ops read
    registered = registry.get(engine, slug)
    campaign = registered.config
    now = now or utcnow()
    settings = campaign.followup
    report = FollowupReport(slug, campaign.timezone, advisor, idle_days=idle_days)
    with engine.connect() as conn:
        if advisor is not None:
            known = conn.execute(
                text("SELECT 1 FROM advisor WHERE code = :code"), {"code": advisor}
            ).first()
            if known is None:
                raise ConfigError(t("error.advisor_unknown", code=advisor))
        params: dict[str, Any] = {
            "campaign_id": registered.id,
            "now": db_time(conn, now),
            "retry_before": db_time(conn, now - dt.timedelta(hours=settings.retry_delay_hours)),
            "max_attempts": settings.max_attempts,
        }
        only = ""
        if advisor is not None:
            only = "AND m.advisor_code = :advisor"
            params["advisor"] = advisor
        rows = list(
            conn.execute(
                text(_FOLLOWUP_SQL.format(advisor=only, clients=access.client_source(conn))), params
            )
        )
        idle_rows = list(conn.execute(text(_IDLE_SQL.format(advisor=only)), params))
    full = advisor is not None
    delay = dt.timedelta(hours=settings.retry_delay_hours)
    rank = {reason: i for i, reason in enumerate(REASONS)}
    for row in rows:
        last_call = from_db(row.last_call_at)
        callback = from_db(row.callback_at)
        due = callback if row.reason == "callback_due" else None
        if row.reason == "retry" and last_call is not None:
            due = last_call + delay
        report.items.append(
            Followup(
                client_id=row.client_id,
                advisor=row.advisor_code,
                reason=row.reason,
                name=(row.name or "") if full else mask_name(row.name),
                mobile=(row.mobile or "") if full else mask_mobile(row.mobile),
                attempts=int(row.attempts),
                last_call_at=last_call,
                last_result=row.last_result,
                due_at=due,
            )
        )
    report.items.sort(key=lambda f: (f.advisor, rank[f.reason], f.due_at or now, f.client_id))
    cutoff = now - dt.timedelta(days=idle_days)
    for row in idle_rows:
        last = from_db(row.last_upload)
        since = last or from_db(row.first_assigned)
        if since is not None and since <= cutoff:
            report.idle.append(IdleAdvisor(row.code, row.name, last, (now - since).days))
    report.idle.sort(key=lambda a: (-a.days, a.code))
    if workbooks is not None:
        report.workbooks = _write_workbooks(engine, registered, report.items, workbooks)
    return report


def _write_workbooks(
    engine: Engine,
    registered: registry.Registered,
    items: list[Followup],
    out: Path,
) -> list[str]:
    """One stamped workbook per advisor holding their follow-up clients, each with why,
    the last call and when it is due; each a new issue."""
    from reactivate.assign import issue_workbooks
    from reactivate.messages import zh
    from reactivate.sheets.workbook import WorkbookFollowup

    selections: dict[str, list[str]] = {}
    for item in items:
        selections.setdefault(item.advisor, []).append(item.client_id)
    followups = {
        item.client_id: WorkbookFollowup(
            reason=zh.TEXTS[f"followup.{item.reason}"],  # the workbook is Chinese
            attempts=item.attempts,
            last_result=item.last_result,
            last_call_at=item.last_call_at,
            due_at=item.due_at,
        )
        for item in items
    }
    with engine.begin() as conn:
        lock_campaign(conn, registered.id)
        written = issue_workbooks(
            conn,
            registered,
            {code: sorted(ids) for code, ids in selections.items()},
            out,
            followups=followups,
        )
        return [str(path) for path in written]

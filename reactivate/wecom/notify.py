"""`reactivate wecom notify`: tell each advisor where they stand, and the managers' group how it goes.

    outbox = plan(engine, "2020h2-dormant", attach=True, webhook=True)
    summary = send(wecom, outbox)                 # or print `outbox` for a dry run

Each advisor of the campaign (active, holding clients, with a WeCom userid) gets one
app text: their clients, their follow-ups now (from `reactivate.followups`), and their
funnel so far (cumulative counts from `client_stage`). `attach` adds their latest
workbook as a file message. `webhook` adds the managers' summary for the group robot:
the report (`reactivate.report`) as WeCom-sized markdown (`reactivate.render.report`)
and, unless `chart` is off, the funnel as a PNG image message (`reactivate.render.chart`).
No client's name or mobile is in any of it.

WeCom drops, without an error, app messages beyond 30 a minute to one member: `send`
counts what it sends to each member and waits before a 31st within a minute.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, select, text

from reactivate import access, registry, roster
from reactivate.clock import utcnow
from reactivate.db import tally
from reactivate.db.models import ADVISORS, WORKBOOK_ISSUES
from reactivate.errors import ConfigError
from reactivate.messages import t
from reactivate.wecom.client import MAX_MARKDOWN_BYTES, MAX_TEXT_BYTES, WeComClient

#: WeCom's cap on app messages to one member; more within a minute are silently dropped.
PER_MEMBER_PER_MINUTE: Final = 30

#: The funnel's stages as cumulative counts: a client counts at a stage with evidence for it
#: or any later stage.
_FUNNEL_SQL = """
SELECT {key},
       COUNT(*) AS assigned,
       SUM(CASE WHEN COALESCE(cs.called_at, cs.reached_at, cs.wecom_at, cs.pushed_at,
                              cs.converted_at) IS NOT NULL THEN 1 ELSE 0 END) AS called,
       SUM(CASE WHEN COALESCE(cs.reached_at, cs.wecom_at, cs.pushed_at, cs.converted_at)
                     IS NOT NULL THEN 1 ELSE 0 END) AS reached,
       SUM(CASE WHEN COALESCE(cs.wecom_at, cs.pushed_at, cs.converted_at) IS NOT NULL
                THEN 1 ELSE 0 END) AS wecom_added,
       SUM(CASE WHEN cs.wecom_confirmed_at IS NOT NULL THEN 1 ELSE 0 END) AS confirmed,
       SUM(CASE WHEN COALESCE(cs.pushed_at, cs.converted_at) IS NOT NULL THEN 1 ELSE 0 END)
           AS pushed,
       SUM(CASE WHEN cs.converted_at IS NOT NULL THEN 1 ELSE 0 END) AS converted
FROM client_stage cs
JOIN advisor a ON a.code = cs.advisor_code
WHERE cs.campaign_id = :cid AND {assigned}
GROUP BY {key}
ORDER BY {key}
"""

_COUNTS = ("called", "reached", "wecom_added", "confirmed", "pushed", "converted")


@dataclass(frozen=True)
class Funnel:
    assigned: int = 0
    called: int = 0
    reached: int = 0
    wecom_added: int = 0
    confirmed: int = 0  # WeCom added, confirmed by WeCom's API
    pushed: int = 0
    converted: int = 0

    def share(self, count: int) -> str:
        return f"{count / self.assigned:.1%}" if self.assigned else "-"


@dataclass(frozen=True)
class Message:
    """One advisor's app message, and the workbook to attach (None: none, or not asked)."""

    advisor: str
    userid: str
    text: str
    attachment: Path | None = None


@dataclass
class Outbox:
    """Everything `send` would send; printable as is (no secrets, no client data)."""

    campaign: str
    messages: list[Message] = field(default_factory=list)
    markdown: str | None = None
    chart: bytes | None = None  # the funnel as a PNG, for the group robot
    without_userid: list[str] = field(default_factory=list)
    missing_workbooks: list[str] = field(default_factory=list)  # --attach, none on disk

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "messages": [
                {
                    "advisor": m.advisor,
                    "userid": m.userid,
                    "text": m.text,
                    "attachment": str(m.attachment) if m.attachment else None,
                }
                for m in self.messages
            ],
            "webhook_markdown": self.markdown,
            "webhook_chart_bytes": None if self.chart is None else len(self.chart),
            "without_userid": self.without_userid,
            "missing_workbooks": self.missing_workbooks,
        }


@dataclass
class NotifySummary:
    campaign: str
    texts: int = 0
    files: int = 0
    webhook: bool = False
    chart: bool = False  # the funnel's picture posted to the group robot
    invalid: list[str] = field(default_factory=list)  # advisors WeCom would not deliver to
    without_userid: list[str] = field(default_factory=list)
    missing_workbooks: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "texts": self.texts,
            "files": self.files,
            "webhook": self.webhook,
            "chart": self.chart,
            "invalid": self.invalid,
            "without_userid": self.without_userid,
            "missing_workbooks": self.missing_workbooks,
        }


def plan(
    engine: Engine,
    slug: str,
    *,
    attach: bool = False,
    webhook: bool = False,
    chart: bool = True,
    now: dt.datetime | None = None,
) -> Outbox:
    """The messages for the campaign's advisors (and, when `webhook`, the robot's markdown and,
    when `chart`, the funnel's picture)."""
    from reactivate.followups import followups

    access.require(engine, "access.action.wecom")
    campaign = registry.open_campaign(engine, slug)
    config = campaign.config
    now = now or utcnow()
    outbox = Outbox(campaign=slug)
    due: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item in followups(engine, slug, now=now).items:
        due[item.advisor][item.reason] += 1
    with engine.connect() as conn:
        advisors = roster.campaign_advisors(conn, campaign.id)
        names: dict[str, str] = dict(conn.execute(select(ADVISORS.c.code, ADVISORS.c.name)).all())
        funnels = _funnels(conn, campaign.id, "a.code")
        workbooks = _latest_workbooks(conn, campaign.id) if attach else {}
    for code, userid in advisors.items():
        if userid is None:
            outbox.without_userid.append(code)
            continue
        counts = due.get(code, {})
        mine = funnels.get(code, Funnel())
        text_ = t(
            "wecom.notify_text",
            campaign=config.name,
            name=names.get(code, code),
            clients=mine.assigned,
            due=sum(counts.values()),
            callback=counts.get("callback_due", 0),
            retry=counts.get("retry", 0),
            never=counts.get("never_called", 0),
            called=mine.called,
            reached=mine.reached,
            wecom=mine.wecom_added,
            confirmed=mine.confirmed,
            pushed=mine.pushed,
            converted=mine.converted,
        )
        text_ = _fit(text_, MAX_TEXT_BYTES)
        attachment = None
        if attach:
            path = workbooks.get(code)
            if path is not None and path.is_file():
                attachment = path
            else:
                outbox.missing_workbooks.append(code)
        outbox.messages.append(Message(code, userid, text_, attachment))
    if webhook:
        from reactivate.render.report import to_markdown
        from reactivate.report import ReportOptions, build_report

        report = build_report(engine, slug, ReportOptions(by="advisor", as_of=now))
        outbox.markdown = to_markdown(report, MAX_MARKDOWN_BYTES)
        if chart:
            from reactivate.render.chart import to_png

            try:
                outbox.chart = to_png(report)
            except ConfigError as exc:  # no Chinese font: the markdown alone is still worth sending
                raise ConfigError(f"{exc} {t('wecom.notify_no_chart')}") from exc
    return outbox


def send(
    wecom: WeComClient,
    outbox: Outbox,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> NotifySummary:
    """Send what `outbox` holds; the per-member limit is kept by waiting, never exceeded."""
    summary = NotifySummary(
        campaign=outbox.campaign,
        without_userid=list(outbox.without_userid),
        missing_workbooks=list(outbox.missing_workbooks),
    )
    pacer = _Pacer(sleep, clock)
    for message in outbox.messages:
        pacer.wait(message.userid)
        if wecom.send_text([message.userid], message.text):
            summary.invalid.append(message.advisor)
            continue
        summary.texts += 1
        if message.attachment is not None:
            media_id = wecom.upload_media(message.attachment)
            pacer.wait(message.userid)
            if wecom.send_file([message.userid], media_id):
                summary.invalid.append(message.advisor)
                continue
            summary.files += 1
    if outbox.markdown is not None:
        wecom.webhook_markdown(outbox.markdown)
        summary.webhook = True
    if outbox.chart is not None:
        wecom.webhook_image(outbox.chart)
        summary.chart = True
    return summary


class _Pacer:
    """Waits before a message that would be a member's 31st within a minute."""

    def __init__(self, sleep: Callable[[float], None], clock: Callable[[], float]) -> None:
        self._sleep = sleep
        self._clock = clock
        self._sent: dict[str, list[float]] = defaultdict(list)

    def wait(self, userid: str) -> None:
        now = self._clock()
        recent = [when for when in self._sent[userid] if now - when < 60.0]
        if len(recent) >= PER_MEMBER_PER_MINUTE:
            pause = 60.0 - (now - recent[-PER_MEMBER_PER_MINUTE])
            self._sleep(pause)
            now += pause
            recent = [when for when in recent if now - when < 60.0]
        recent.append(now)
        self._sent[userid] = recent


def _funnels(conn: Connection, campaign_id: int, key: str) -> dict[str, Funnel]:
    result = {}
    for row in conn.execute(
        text(_FUNNEL_SQL.format(key=key, assigned=tally.assigned("cs"))), {"cid": campaign_id}
    ):
        values = row._mapping
        result[str(row[0])] = Funnel(
            assigned=int(values["assigned"]), **{c: int(values[c] or 0) for c in _COUNTS}
        )
    return result


def _latest_workbooks(conn: Connection, campaign_id: int) -> dict[str, Path]:
    latest: dict[str, Path] = {}
    for code, path in conn.execute(
        select(WORKBOOK_ISSUES.c.advisor_code, WORKBOOK_ISSUES.c.path)
        .where(WORKBOOK_ISSUES.c.campaign_id == campaign_id)
        .order_by(WORKBOOK_ISSUES.c.advisor_code, WORKBOOK_ISSUES.c.issue)
    ):
        latest[code] = _published(Path(path))
    return latest


def _published(path: Path) -> Path:
    """Where a workbook lives: `assign` writes into a `.issuing-*` scratch folder, moves the
    files up after the commit, and the issue record may still name the scratch path."""
    if path.is_file():
        return path
    parts = [part for part in path.parts if not part.startswith(".issuing-")]
    return Path(*parts) if parts else path


def _fit(text_: str, limit: int) -> str:
    """`text_` cut (at a character) to `limit` UTF-8 bytes."""
    data = text_.encode("utf-8")
    if len(data) <= limit:
        return text_
    return data[: limit - 3].decode("utf-8", errors="ignore") + "…"

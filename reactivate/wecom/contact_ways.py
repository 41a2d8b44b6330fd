"""`reactivate wecom qr`: 「联系我」 ways whose `state` ties a WeCom add to campaign and client.

    summary = create_ways(engine, wecom, "2020h2-dormant")            # one per advisor
    summary = create_ways(engine, wecom, "2020h2-dormant", per_client=True)
    summary = remove_ways(engine, wecom, "2020h2-dormant")           # when it ends

A state is `rc` + 16 base32 characters of an HMAC (keyed by the database's secret) over
campaign, advisor and client: compact, ASCII, stable across runs, and it never shows
the client id. Every way is stored with its `config_id` (the only handle to delete it)
and QR link; the advisor's campaign way is the link their next workbook carries.

WeCom allows 500,000 API-made ways per corp, so `per_client` refuses a campaign that
would pass that (counting the ways already stored), and calls are paced under the
rate limits. Ways are written to the database in small batches as they are made (and
on any error), so a config_id is never lost; no transaction waits on the network.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Connection, Engine, func, select

from reactivate import access, registry, roster
from reactivate.clock import utcnow
from reactivate.db import bulk
from reactivate.db.meta import workbook_secret
from reactivate.db.models import MEMBERS, WECOM_WAYS
from reactivate.errors import ConfigError, WeComError
from reactivate.messages import t
from reactivate.wecom.client import MAX_REMARK_CHARS, USER_REFUSED, WeComClient

#: WeCom's cap on 「联系我」 ways created through the API, per corp.
API_QUOTA: Final = 500_000
#: Pause between calls: ~1,500 a minute, under the 2,000/min per-API limit older docs state.
PACE_SECONDS: Final = 0.04
#: Ways written to the database per short transaction while creating or removing.
FLUSH_EVERY: Final = 100


@dataclass
class QrSummary:
    campaign: str
    per_client: bool = False
    created: int = 0
    existing: int = 0  # already made by an earlier run
    removed: int = 0
    already_gone: int = 0  # WeCom did not know the way any more (41044)
    refused: dict[str, int] = field(default_factory=dict)  # advisor code -> errcode
    without_userid: list[str] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)  # advisor code -> campaign QR link

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "per_client": self.per_client,
            "created": self.created,
            "existing": self.existing,
            "removed": self.removed,
            "already_gone": self.already_gone,
            "refused": [{"advisor": c, "errcode": e} for c, e in self.refused.items()],
            "without_userid": self.without_userid,
            "links": self.links,
        }


def make_state(secret: bytes, campaign_id: int, advisor_code: str, client_id: str | None) -> str:
    """`rc` + 16 base32 characters: 18 ASCII characters, well within WeCom's 30."""
    message = f"wecom-state|{campaign_id}|{advisor_code}|{client_id or ''}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return "rc" + base64.b32encode(digest[:10]).decode("ascii").lower()


def create_ways(
    engine: Engine,
    wecom: WeComClient,
    slug: str,
    *,
    per_client: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    pace: float = PACE_SECONDS,
    quota: int = API_QUOTA,
) -> QrSummary:
    """Make the missing ways: one per advisor of the campaign, or one per assigned client."""
    access.require(engine, "access.action.wecom")
    campaign = registry.open_campaign(engine, slug)
    summary = QrSummary(campaign=slug, per_client=per_client)
    with engine.begin() as conn:  # the secret may be created on first use
        secret = workbook_secret(conn)
        advisors = roster.campaign_advisors(conn, campaign.id)
        userids = {code: userid for code, userid in advisors.items() if userid}
        summary.without_userid = [code for code, userid in advisors.items() if not userid]
        wanted = _wanted_ways(conn, campaign.id, list(userids), per_client=per_client)
        have = _live_ways(conn, campaign.id)
        stored = conn.execute(
            select(func.count()).select_from(WECOM_WAYS).where(WECOM_WAYS.c.removed_at.is_(None))
        ).scalar_one()
    todo = [key for key in wanted if key not in have]
    summary.existing = len(wanted) - len(todo)
    if per_client and len(todo) > quota - stored:
        raise ConfigError(
            t("wecom.qr_over_quota", count=len(todo), left=max(quota - stored, 0), quota=quota)
        )
    maker = _WayMaker(engine, wecom, campaign.id, secret, userids, slug[:MAX_REMARK_CHARS])
    maker.make(todo, summary, sleep, pace)
    summary.links = advisor_links(engine, campaign.id)
    return summary


# (advisor code, client id): a way's key; client None for the advisor's campaign way
_WayKey = tuple[str, str | None]


def _wanted_ways(
    conn: Connection, campaign_id: int, codes: list[str], *, per_client: bool
) -> list[_WayKey]:
    """The ways the campaign should have: one per advisor of `codes`, or with `per_client`
    one per client assigned to them (by advisor, then client)."""
    if not per_client:
        return [(code, None) for code in codes]
    return [
        (code, client_id)
        for client_id, code in conn.execute(
            select(MEMBERS.c.client_id, MEMBERS.c.advisor_code)
            .where(MEMBERS.c.campaign_id == campaign_id, MEMBERS.c.advisor_code.in_(codes))
            .order_by(MEMBERS.c.advisor_code, MEMBERS.c.client_id)
        )
    ]


def _live_ways(conn: Connection, campaign_id: int) -> set[_WayKey]:
    """The campaign's ways made earlier and not removed."""
    return {
        (code, client_id)
        for code, client_id in conn.execute(
            select(WECOM_WAYS.c.advisor_code, WECOM_WAYS.c.client_id).where(
                WECOM_WAYS.c.campaign_id == campaign_id, WECOM_WAYS.c.removed_at.is_(None)
            )
        )
    }


@dataclass
class _WayMaker:
    """Makes ways on WeCom and stores each in small batches as it is made."""

    engine: Engine
    wecom: WeComClient
    campaign_id: int
    secret: bytes
    userids: dict[str, str]  # advisor code -> WeCom userid
    remark: str
    pending: list[dict[str, Any]] = field(default_factory=list)

    def make(
        self,
        todo: list[_WayKey],
        summary: QrSummary,
        sleep: Callable[[float], None],
        pace: float,
    ) -> None:
        """Make the ways `todo`, paced; an advisor WeCom refuses is skipped from then on
        (`summary.refused`). What was made is stored even when a call fails."""
        try:
            for i, (code, client_id) in enumerate(todo):
                if code in summary.refused:
                    continue
                if i and pace:
                    sleep(pace)
                if self._make_one(code, client_id, summary):
                    summary.created += 1
                    if len(self.pending) >= FLUSH_EVERY:
                        self._flush()
        finally:
            self._flush()

    def _make_one(self, code: str, client_id: str | None, summary: QrSummary) -> bool:
        """Make one way and queue it for storing; False when WeCom refuses the advisor."""
        state = make_state(self.secret, self.campaign_id, code, client_id)
        try:
            way = self.wecom.add_contact_way(self.userids[code], state, remark=self.remark)
        except WeComError as exc:
            if exc.errcode not in USER_REFUSED:
                raise
            summary.refused[code] = exc.errcode
            return False
        self.pending.append(
            {
                "campaign_id": self.campaign_id,
                "advisor_code": code,
                "client_id": client_id,
                "state": state,
                "config_id": way.config_id,
                "qr_code": way.qr_code,
                "created_at": utcnow(),
                "removed_at": None,
            }
        )
        return True

    def _flush(self) -> None:
        if self.pending:
            with self.engine.begin() as conn:
                bulk.upsert(conn, WECOM_WAYS, self.pending, ["state"])
            self.pending.clear()


def remove_ways(
    engine: Engine,
    wecom: WeComClient,
    slug: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    pace: float = PACE_SECONDS,
) -> QrSummary:
    """Delete every stored way of the campaign on WeCom (open or closed campaign)."""
    access.require(engine, "access.action.wecom")
    campaign = registry.get(engine, slug)
    summary = QrSummary(campaign=slug)
    with engine.connect() as conn:
        ways = conn.execute(
            select(WECOM_WAYS.c.id, WECOM_WAYS.c.config_id)
            .where(WECOM_WAYS.c.campaign_id == campaign.id, WECOM_WAYS.c.removed_at.is_(None))
            .order_by(WECOM_WAYS.c.id)
        ).all()
    done: list[int] = []

    def flush() -> None:
        if done:
            with engine.begin() as conn:
                conn.execute(
                    WECOM_WAYS.update().where(WECOM_WAYS.c.id.in_(done)).values(removed_at=utcnow())
                )
            done.clear()

    try:
        for i, (way_id, config_id) in enumerate(ways):
            if i and pace:
                sleep(pace)
            if wecom.del_contact_way(config_id):
                summary.removed += 1
            else:
                summary.already_gone += 1
            done.append(way_id)
            if len(done) >= FLUSH_EVERY:
                flush()
    finally:
        flush()
    return summary


def advisor_links(engine: Engine, campaign_id: int) -> dict[str, str]:
    """Advisor code -> the QR link of their campaign way (the one workbooks carry)."""
    with engine.connect() as conn:
        return {
            code: link
            for code, link in conn.execute(
                select(WECOM_WAYS.c.advisor_code, WECOM_WAYS.c.qr_code)
                .where(
                    WECOM_WAYS.c.campaign_id == campaign_id,
                    WECOM_WAYS.c.client_id.is_(None),
                    WECOM_WAYS.c.removed_at.is_(None),
                )
                .order_by(WECOM_WAYS.c.advisor_code)
            )
        }

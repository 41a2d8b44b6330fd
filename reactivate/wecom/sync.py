"""`reactivate wecom sync`: confirm from WeCom's own data who really added an advisor.

    summary = sync(engine, wecom, "2020h2-dormant")

1. Read the campaign's advisors: active, holding assigned clients, with a WeCom userid.
2. Page `batch/get_by_user` for all of them (network; no transaction open).
3. In one short write transaction: store every (advisor, external contact) relation
   seen, match each to one of that advisor's assigned clients, write the new events,
   mark relations that disappeared, refresh the stage summary.

Matching, in order, never by name:
- the relation's `state` is a per-client 「联系我」 way made by `wecom qr` for this
  campaign, and that client is assigned to the advisor;
- the remark mobiles the advisor typed equal the mobile of exactly one of the
  advisor's assigned clients. A mobile that fits several of them matches none and is
  reported as ambiguous.

A match writes a `wecom_added` event (source 'wecom', source_ref the external userid,
occurred_at WeCom's createtime); when the relation is older than the client's
assignment it writes `wecom_preexisting` instead, which is no campaign add. A
relation of an advisor whose contacts were all read this time and that is no longer
shown is marked lost (and a `wecom_lost` event is written when it was matched);
advisors WeCom refused or did not license are listed and never lose anything.
Syncing again writes nothing new.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select

from reactivate import access, registry, roster
from reactivate.clock import from_db, utcnow
from reactivate.db import bulk, stages
from reactivate.db.import_log import who
from reactivate.db.locks import lock_campaign
from reactivate.db.models import (
    CLIENTS,
    EVENTS,
    MEMBERS,
    WECOM_RELATIONS,
    WECOM_WAYS,
)
from reactivate.privacy import mask_mobile
from reactivate.rules import funnel
from reactivate.wecom.client import ContactRow, ContactsResult, WeComClient

SOURCE = "wecom"
MATCH_STATE = "state"
MATCH_MOBILE = "mobile"
MATCH_AMBIGUOUS = "ambiguous"


_NOT_DIGITS = re.compile(r"\D")


@dataclass(frozen=True)
class Ambiguous:
    """A relation whose remark mobile fits several of the advisor's clients (masked)."""

    advisor: str
    external_userid: str
    mobile: str  # masked
    clients: int


@dataclass
class SyncSummary:
    """What a sync saw and wrote. `events` counts only new rows; a repeat sync writes 0."""

    campaign: str
    advisors: int = 0  # asked: active advisors with clients here and a WeCom userid
    complete: int = 0  # of which every relation was read (safe to detect losses)
    contacts: int = 0  # (advisor, external contact) relations seen
    matched: int = 0  # relations tied to an assigned client (preexisting included)
    preexisting: int = 0  # of which older than the client's assignment: no campaign add
    events: int = 0  # new events written
    unmatched: int = 0  # relations since the campaign started that fit no assigned client
    ambiguous: int = 0
    lost: int = 0  # relations newly gone for advisors read completely
    refused: dict[str, int] = field(default_factory=dict)  # advisor code -> errcode
    unlicensed: list[str] = field(default_factory=list)  # advisor codes
    without_userid: list[str] = field(default_factory=list)  # advisors WeCom cannot be asked for
    ambiguities: list[Ambiguous] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "advisors": self.advisors,
            "contacts": self.contacts,
            "matched": self.matched,
            "events": self.events,
            "unmatched": self.unmatched,
            "ambiguous": self.ambiguous,
            "lost": self.lost,
            "preexisting": self.preexisting,
            "complete": self.complete,
            "refused": [
                {"advisor": code, "errcode": errcode} for code, errcode in self.refused.items()
            ],
            "unlicensed": self.unlicensed,
            "without_userid": self.without_userid,
            "ambiguities": [
                {
                    "advisor": a.advisor,
                    "external_userid": a.external_userid,
                    "mobile": a.mobile,
                    "clients": a.clients,
                }
                for a in self.ambiguities
            ],
        }


@dataclass(frozen=True)
class _Member:
    advisor: str
    assigned_at: dt.datetime | None


def normalize_mobile(value: str | None) -> str | None:
    """Digits only, without a +86 / 0086 prefix; None when nothing is left."""
    if not value:
        return None
    digits = _NOT_DIGITS.sub("", value)
    for prefix in ("0086", "86"):
        if len(digits) == 11 + len(prefix) and digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits or None


def sync(
    engine: Engine, wecom: WeComClient, slug: str, *, now: dt.datetime | None = None
) -> SyncSummary:
    """Read the campaign's advisors' WeCom contacts and record what they confirm."""
    access.require(engine, "access.action.wecom")
    campaign = registry.open_campaign(engine, slug)
    summary = SyncSummary(campaign=slug)
    with engine.connect() as conn:
        advisors = roster.campaign_advisors(conn, campaign.id)
    summary.without_userid = [code for code, userid in advisors.items() if userid is None]
    code_of: dict[str, str] = {}
    for code, userid in advisors.items():
        if userid is not None:
            code_of.setdefault(userid, code)
    summary.advisors = len(code_of)
    result = wecom.contacts_by_user(list(code_of)) if code_of else ContactsResult()
    summary.refused = {code_of[u]: errcode for u, errcode in result.refused.items()}
    summary.unlicensed = [code_of[u] for u in result.unlicensed if u in code_of]
    complete = {u for u in result.complete_userids if u in code_of}
    summary.complete = len(complete)
    start = dt.datetime.combine(campaign.config.start, dt.time(), campaign.config.tz)
    with engine.begin() as conn:
        lock_campaign(conn, campaign.id)
        _record(
            conn,
            campaign.id,
            [row for row in result.contacts if row.userid in code_of],
            code_of,
            complete,
            start.astimezone(dt.UTC),
            now or utcnow(),
            summary,
        )
    return summary


def _record(
    conn: Connection,
    campaign_id: int,
    rows: list[ContactRow],
    code_of: Mapping[str, str],
    complete: set[str],
    start: dt.datetime,
    now: dt.datetime,
    summary: SyncSummary,
) -> None:
    members, by_mobile = _members(conn, campaign_id, set(code_of.values()))
    seen = _Seen(
        campaign_id, code_of, members, by_mobile, _client_ways(conn, campaign_id), start, now
    )
    known = _known_relations(conn, campaign_id)
    for row in rows:
        seen.add(row, summary)
    summary.contacts = len(seen.relations)
    lost = seen.lose(known, complete)
    summary.lost = len(lost)
    bulk.upsert(
        conn,
        WECOM_RELATIONS,
        seen.relations,
        ["campaign_id", "userid", "external_userid"],
        update=[c for c in seen.relations[0] if c != "first_seen_at"] if seen.relations else None,
    )
    if lost:
        conn.execute(
            WECOM_RELATIONS.update()
            .where(WECOM_RELATIONS.c.id == bindparam("relation_id"))
            .values(lost_at=bindparam("lost_at")),
            [{"relation_id": r.id, "lost_at": now} for r in lost],
        )
    _write_events(conn, campaign_id, seen.events, summary)


def _client_ways(conn: Connection, campaign_id: int) -> dict[str, str]:
    """State -> client id of the campaign's per-client ways."""
    return {
        state: client_id
        for state, client_id in conn.execute(
            select(WECOM_WAYS.c.state, WECOM_WAYS.c.client_id).where(
                WECOM_WAYS.c.campaign_id == campaign_id, WECOM_WAYS.c.client_id.is_not(None)
            )
        )
    }


def _known_relations(conn: Connection, campaign_id: int) -> dict[tuple[str, str], Any]:
    """(userid, external userid) -> the relation stored by earlier syncs."""
    return {
        (r.userid, r.external_userid): r
        for r in conn.execute(
            select(
                WECOM_RELATIONS.c.id,
                WECOM_RELATIONS.c.userid,
                WECOM_RELATIONS.c.external_userid,
                WECOM_RELATIONS.c.client_id,
                WECOM_RELATIONS.c.advisor_code,
                WECOM_RELATIONS.c.lost_at,
            ).where(WECOM_RELATIONS.c.campaign_id == campaign_id)
        )
    }


@dataclass
class _Seen:
    """The relations one sync saw, each matched, and the events they give."""

    campaign_id: int
    code_of: Mapping[str, str]
    members: Mapping[str, _Member]
    by_mobile: Mapping[tuple[str, str], list[str]]
    ways: Mapping[str, str]
    start: dt.datetime
    now: dt.datetime
    relations: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    keys: set[tuple[str, str]] = field(default_factory=set)

    def add(self, row: ContactRow, summary: SyncSummary) -> None:
        """Match one relation WeCom listed; count it as matched, ambiguous or unmatched."""
        key = (row.userid, row.external_userid)
        if key in self.keys:  # WeCom lists a relation once; a repeat would only double-count
            return
        self.keys.add(key)
        code = self.code_of[row.userid]
        client_id, how = _match(row, code, self.members, self.by_mobile, self.ways)
        if client_id is not None:
            summary.matched += 1
            assigned_at = self.members[client_id].assigned_at
            kind = funnel.EVENT_WECOM
            if assigned_at is not None and row.createtime < assigned_at:
                kind = funnel.EVENT_WECOM_PREEXISTING
                summary.preexisting += 1
            self.events.append(
                _event(client_id, kind, how, row.createtime, code, row.external_userid)
            )
        elif how == MATCH_AMBIGUOUS:
            summary.ambiguous += 1
            shown = next(iter(row.remark_mobiles), "")
            fits = {c for m in row.remark_mobiles for c in self.by_mobile.get((code, _norm(m)), ())}
            summary.ambiguities.append(
                Ambiguous(code, row.external_userid, mask_mobile(shown), len(fits))
            )
        elif row.createtime >= self.start:
            summary.unmatched += 1
        self.relations.append(self._relation(row, code, client_id, how))

    def _relation(
        self, row: ContactRow, code: str, client_id: str | None, how: str | None
    ) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id,
            "userid": row.userid,
            "external_userid": row.external_userid,
            "advisor_code": code,
            "client_id": client_id,
            "match": how,
            "state": row.state,
            "remark_mobiles": json.dumps(list(row.remark_mobiles)) if row.remark_mobiles else None,
            "add_way": row.add_way,
            "createtime": row.createtime,
            "first_seen_at": self.now,
            "last_seen_at": self.now,
            "lost_at": None,
        }

    def lose(self, known: Mapping[tuple[str, str], Any], complete: set[str]) -> list[Any]:
        """The known relations of advisors read completely that were not seen this time;
        a lost event for each that was matched to a member."""
        lost = [
            r
            for key, r in known.items()
            if key[0] in complete and r.lost_at is None and key not in self.keys
        ]
        for r in lost:
            if r.client_id is not None and r.client_id in self.members:
                self.events.append(
                    _event(
                        r.client_id,
                        funnel.EVENT_WECOM_LOST,
                        None,
                        self.now,
                        r.advisor_code,
                        r.external_userid,
                    )
                )
        return lost


def _write_events(
    conn: Connection, campaign_id: int, events: list[dict[str, Any]], summary: SyncSummary
) -> None:
    """Insert the events not written before and refresh their members' stages."""
    fresh = _new_events(conn, campaign_id, events)
    summary.events = len(fresh)
    if fresh:
        by, recorded = who(conn), utcnow()
        conn.execute(
            EVENTS.insert(),
            [
                {**e, "campaign_id": campaign_id, "recorded_by": by, "recorded_at": recorded}
                for e in fresh
            ],
        )
        stages.refresh(conn, campaign_id, {e["client_id"] for e in fresh})


def _members(
    conn: Connection, campaign_id: int, codes: set[str]
) -> tuple[dict[str, _Member], dict[tuple[str, str], list[str]]]:
    """Assigned members of these advisors, and (advisor, mobile) -> their client ids."""
    members: dict[str, _Member] = {}
    by_mobile: dict[tuple[str, str], list[str]] = defaultdict(list)
    rows = conn.execute(
        select(MEMBERS.c.client_id, MEMBERS.c.advisor_code, MEMBERS.c.assigned_at, CLIENTS.c.mobile)
        .join(CLIENTS, CLIENTS.c.client_id == MEMBERS.c.client_id)
        .where(
            MEMBERS.c.campaign_id == campaign_id,
            MEMBERS.c.advisor_code.is_not(None),
            MEMBERS.c.control.is_(False),
        )
    )
    for client_id, code, assigned_at, mobile in rows:
        if code not in codes:
            continue
        members[client_id] = _Member(code, from_db(assigned_at))
        normalized = normalize_mobile(mobile)
        if normalized is not None:
            by_mobile[(code, normalized)].append(client_id)
    return members, by_mobile


def _norm(mobile: str) -> str:
    return normalize_mobile(mobile) or ""


def _match(
    row: ContactRow,
    code: str,
    members: Mapping[str, _Member],
    by_mobile: Mapping[tuple[str, str], list[str]],
    ways: Mapping[str, str],
) -> tuple[str | None, str | None]:
    """(client id, how) for one relation; (None, 'ambiguous') when a mobile fits several."""
    if row.state:
        client_id = ways.get(row.state)
        member = members.get(client_id) if client_id is not None else None
        if client_id is not None and member is not None and member.advisor == code:
            return client_id, MATCH_STATE
    fits = {c for m in row.remark_mobiles for c in by_mobile.get((code, _norm(m)), ())}
    if len(fits) == 1:
        return next(iter(fits)), MATCH_MOBILE
    if len(fits) > 1:
        return None, MATCH_AMBIGUOUS
    return None, None


def _event(
    client_id: str,
    stage: str,
    value: str | None,
    occurred_at: dt.datetime,
    advisor_code: str | None,
    external_userid: str,
) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "stage": stage,
        "value": value,
        "occurred_at": occurred_at,
        "advisor_code": advisor_code,
        "source": SOURCE,
        "source_ref": external_userid,
    }


def _new_events(
    conn: Connection, campaign_id: int, events: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The events not written before: an add or preexisting relation once per client and
    external contact (voided ones included, so a correction is not undone by the next
    sync); a loss once per disappearance (its time differs)."""
    wanted = list(events)
    if not wanted:
        return []
    kinds = (funnel.EVENT_WECOM, funnel.EVENT_WECOM_PREEXISTING)
    written = {
        (client_id, stage, ref)
        for client_id, stage, ref in conn.execute(
            select(EVENTS.c.client_id, EVENTS.c.stage, EVENTS.c.source_ref).where(
                EVENTS.c.campaign_id == campaign_id,
                EVENTS.c.source == SOURCE,
                EVENTS.c.stage.in_(kinds),
            )
        )
    }
    fresh = []
    for event in wanted:
        key = (event["client_id"], event["stage"], event["source_ref"])
        if event["stage"] in kinds:
            if key in written:
                continue
            written.add(key)
        fresh.append(event)
    return fresh

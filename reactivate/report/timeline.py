"""One client's story in a campaign: every event, its source and who recorded it, voids marked.

For `reactivate client show`. Personal data is masked here, before anything renders it;
mobile numbers typed into free-text values are masked too.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reactivate import access, registry
from reactivate.clock import local
from reactivate.errors import ConfigError
from reactivate.messages import t
from reactivate.privacy import mask_mobile, mask_name
from reactivate.rules import funnel

if TYPE_CHECKING:
    from sqlalchemy import Engine

_MOBILE = re.compile(r"(?<!\d)1\d{10}(?!\d)")


@dataclass(frozen=True)
class TimelineEvent:
    id: int
    occurred_at: dt.datetime  # campaign time zone
    kind: str
    value: str | None
    source: str
    recorded_by: str
    advisor_code: str | None
    source_file: str | None
    source_row: int | None
    voided_by: int | None  # the void event that cancelled this one
    voids: int | None  # for a void event: the event it cancels

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "occurred_at": self.occurred_at.isoformat(),
            "kind": self.kind,
            "value": self.value,
            "source": self.source,
            "recorded_by": self.recorded_by,
            "advisor": self.advisor_code,
            "source_file": self.source_file,
            "source_row": self.source_row,
            "voided_by": self.voided_by,
            "voids": self.voids,
        }


@dataclass(frozen=True)
class Timeline:
    campaign: str
    client_id: str
    name: str  # masked
    mobile: str  # masked
    branch: str | None
    advisor_code: str | None
    advisor_name: str | None
    assigned_at: dt.datetime | None
    control: bool
    dnc: bool
    events: tuple[TimelineEvent, ...]
    purged: bool = False  # name and mobile erased when a campaign of theirs closed

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "client_id": self.client_id,
            "name": self.name,
            "mobile": self.mobile,
            "branch": self.branch,
            "advisor": self.advisor_code,
            "advisor_name": self.advisor_name,
            "assigned_at": self.assigned_at.isoformat() if self.assigned_at else None,
            "control": self.control,
            "dnc": self.dnc,
            "personal_data_purged": self.purged,
            "events": [e.to_json() for e in self.events],
        }


def client_timeline(engine: Engine, slug: str, client_id: str) -> Timeline:
    """Client `client_id`'s events in campaign `slug`, oldest first; `ConfigError` if not a member."""
    from sqlalchemy import text

    from reactivate.db.models import UTCDateTime

    registered = registry.get(engine, slug)
    tz = registered.config.tz
    params = {"cid": registered.id, "client": client_id.strip()}
    member_sql = """SELECT m.client_id, c.name, c.mobile, c.branch, m.advisor_code,
                  a.name AS advisor_name, m.assigned_at, m.control, m.dnc,
                  (c.name IS NULL AND c.mobile IS NULL AND EXISTS (
                      SELECT 1 FROM member o JOIN campaign k ON k.id = o.campaign_id
                      WHERE o.client_id = m.client_id AND k.status = 'closed')) AS purged
           FROM member m JOIN {clients} c ON c.client_id = m.client_id
           LEFT JOIN advisor a ON a.code = m.advisor_code
           WHERE m.campaign_id = :cid AND m.client_id = :client"""
    events_sql = text(
        """SELECT e.id, e.occurred_at, e.stage, e.value, e.source, e.recorded_by, e.advisor_code,
                  e.source_file, e.source_row, e.voids_event_id,
                  (SELECT MIN(v.id) FROM event v WHERE v.voids_event_id = e.id) AS voided_by
           FROM event e WHERE e.campaign_id = :cid AND e.client_id = :client
           ORDER BY e.occurred_at, e.id"""
    ).columns(occurred_at=UTCDateTime())
    with engine.connect() as conn:
        clients = access.client_source(conn)  # managers read names and mobiles masked
        member = conn.execute(
            text(member_sql.format(clients=clients)).columns(assigned_at=UTCDateTime()), params
        ).first()
        if member is None:
            raise ConfigError(t("client.not_member", client_id=client_id, slug=slug))
        rows = conn.execute(events_sql, params).all()
    events = tuple(
        TimelineEvent(
            id=int(r.id),
            occurred_at=local(r.occurred_at, tz),
            kind=r.stage,
            value=_mask_value(r.value),
            source=r.source,
            recorded_by=r.recorded_by,
            advisor_code=r.advisor_code,
            source_file=r.source_file,
            source_row=r.source_row,
            voided_by=int(r.voided_by) if r.voided_by is not None else None,
            voids=int(r.voids_event_id)
            if r.stage == funnel.EVENT_VOID and r.voids_event_id
            else None,
        )
        for r in rows
    )
    return Timeline(
        campaign=slug,
        client_id=member.client_id,
        name=mask_name(member.name),
        mobile=mask_mobile(member.mobile),
        branch=member.branch,
        advisor_code=member.advisor_code,
        advisor_name=member.advisor_name,
        assigned_at=local(member.assigned_at, tz) if member.assigned_at else None,
        control=bool(member.control),
        dnc=bool(member.dnc),
        events=events,
        purged=bool(member.purged),
    )


def _mask_value(value: str | None) -> str | None:
    if value is None:
        return None
    return _MOBILE.sub(lambda m: mask_mobile(m.group(0)), value)

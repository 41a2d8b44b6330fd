"""Registered campaigns: add or update from a TOML file, look one up by slug, describe."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reactivate import access
from reactivate.clock import utcnow
from reactivate.db import reads, stages
from reactivate.errors import CampaignNotFound, StateError
from reactivate.messages import t
from reactivate.rules import campaign as campaign_config
from reactivate.rules.campaign import Campaign

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from reactivate.db.reads import SQLiteEngine


@dataclasses.dataclass(frozen=True)
class Registered:
    """A campaign as registered: its database id, status and validated config."""

    id: int
    status: str
    config: Campaign

    @property
    def slug(self) -> str:
        return self.config.slug


def register(engine: Engine, path: Path) -> tuple[Campaign, bool]:
    """Validate `path` and register it; an existing slug is updated. Returns (campaign, created)."""
    from sqlalchemy import insert, select, update

    from reactivate.db.models import CAMPAIGNS

    access.require(engine, "access.action.campaign")
    text = campaign_config.read_file(path)
    config = campaign_config.from_toml(text, source=str(path))
    values = {
        "name": config.name,
        "start": config.start,
        "end": config.end,
        "definition": text,
        "source_path": str(path),
    }
    with engine.begin() as conn:
        record = conn.execute(
            select(CAMPAIGNS.c.id, CAMPAIGNS.c.status, CAMPAIGNS.c.definition).where(
                CAMPAIGNS.c.slug == config.slug
            )
        ).first()
        if record is None:
            new_id = conn.execute(
                insert(CAMPAIGNS)
                .values(slug=config.slug, registered_at=utcnow(), **values)
                .returning(CAMPAIGNS.c.id)
            ).scalar_one()
            if access.enforced(conn):  # advisors' uploads into it refresh by its function
                access.install_refresh(conn, int(new_id))
            return config, True
        if record.status == "closed":
            raise StateError(t("error.campaign_closed_unchangeable", slug=config.slug))
        before = campaign_config.from_toml(record.definition, f"campaign {config.slug}").stages
        conn.execute(update(CAMPAIGNS).where(CAMPAIGNS.c.id == record.id).values(**values))
        if before != config.stages:
            # the summary's funnel columns are worked out under the stage list
            stages.refresh(conn, record.id)
        if access.enforced(conn):
            access.install_refresh(conn, record.id)
    return config, False


def get(engine: Engine | SQLiteEngine, slug: str, *, conn: Connection | None = None) -> Registered:
    """The registered campaign `slug`, or `CampaignNotFound` naming the known ones; read
    on a connection of its own, or on `conn` (in its transaction): a command that goes on
    to use one spares a second (a server process started, on PostgreSQL: about 8 ms)."""
    try:
        with contextlib.nullcontext(conn) if conn is not None else engine.connect() as used:
            row = reads.execute(
                used,
                "SELECT id, status, definition FROM campaign WHERE slug = :slug",
                {"slug": slug},
            ).first()
    except Exception as exc:  # most commands read this first: a login without a role
        access.explain_refusal(engine, exc)
        raise
    if row is None:
        with engine.connect() as used:
            found = reads.execute(used, "SELECT slug FROM campaign ORDER BY slug", {})
            known = [name for (name,) in found]
        raise CampaignNotFound(
            t("error.campaign_not_found", slug=slug, known=", ".join(known) or "none")
        )
    config = campaign_config.from_toml(row.definition, source=f"campaign {slug}")
    return Registered(id=row.id, status=row.status, config=config)


def open_campaign(engine: Engine, slug: str, *, conn: Connection | None = None) -> Registered:
    """The campaign `slug`, refused when closed: nothing is written to a closed campaign.
    (`conn`: as `get`'s.)"""
    campaign = get(engine, slug, conn=conn)
    if campaign.status != "open":
        raise StateError(t("error.campaign_closed", slug=slug))
    return campaign


def overview(engine: Engine) -> list[dict[str, Any]]:
    """One row per campaign with its member count."""
    from sqlalchemy import func, select

    from reactivate.db.models import CAMPAIGNS, MEMBERS

    members = (
        select(MEMBERS.c.campaign_id, func.count().label("n"))
        .group_by(MEMBERS.c.campaign_id)
        .subquery()
    )
    query = (
        select(CAMPAIGNS, func.coalesce(members.c.n, 0).label("members"))
        .outerjoin(members, members.c.campaign_id == CAMPAIGNS.c.id)
        .order_by(CAMPAIGNS.c.start, CAMPAIGNS.c.slug)
    )
    with engine.connect() as conn:
        return [
            {
                "slug": row.slug,
                "name": row.name,
                "start": row.start.isoformat(),
                "end": row.end.isoformat(),
                "status": row.status,
                "members": row.members,
            }
            for row in conn.execute(query)
        ]


def describe(engine: Engine, slug: str) -> dict[str, Any]:
    """The campaign's settings as plain data (dates as ISO text)."""
    registered = get(engine, slug)
    data = dataclasses.asdict(registered.config)
    data["status"] = registered.status
    data["products"] = [f"{p['code']} {p['name']} (R{p['risk']})" for p in data["products"]]
    return _jsonable(data)  # type: ignore[no-any-return]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def close(engine: Engine, slug: str, *, purge_personal_data: bool = False) -> tuple[bool, int]:
    """Freeze a campaign (no more loads, assignments or uploads); optionally purge personal data.

    Purging blanks the name, mobile and extra columns of this campaign's clients that no
    other open campaign needs, and the mobiles advisors typed as WeCom remarks in it; ids,
    events and figures stay, so reports still work. The storage is then rewritten so that
    the old values are not left in it (`reactivate.db.scrub`). Returns (closed now,
    clients purged). Closing a closed campaign only purges.
    """
    from sqlalchemy import select, update

    from reactivate.db import scrub
    from reactivate.db.models import CAMPAIGNS, CLIENTS, MEMBERS, WECOM_RELATIONS

    access.require(engine, "access.action.close")
    campaign = get(engine, slug)
    clients = CLIENTS
    with engine.begin() as conn:
        closed_now = campaign.status != "closed"
        if closed_now:
            conn.execute(
                update(CAMPAIGNS)
                .where(CAMPAIGNS.c.id == campaign.id)
                .values(status="closed", closed_at=utcnow())
            )
        purged = 0
        if purge_personal_data:
            scrub.secure_delete(conn)
            still_needed = (
                select(MEMBERS.c.client_id)
                .join(CAMPAIGNS, CAMPAIGNS.c.id == MEMBERS.c.campaign_id)
                .where(CAMPAIGNS.c.status == "open", CAMPAIGNS.c.id != campaign.id)
            )
            ours = select(MEMBERS.c.client_id).where(MEMBERS.c.campaign_id == campaign.id)
            result = conn.execute(
                update(clients)
                .where(
                    clients.c.client_id.in_(ours),
                    clients.c.client_id.not_in(still_needed),
                    (clients.c.name.is_not(None))
                    | (clients.c.mobile.is_not(None))
                    | (clients.c.extra.is_not(None)),
                )
                .values(name=None, mobile=None, extra=None)
            )
            purged = int(result.rowcount)
            conn.execute(
                update(WECOM_RELATIONS)
                .where(
                    WECOM_RELATIONS.c.campaign_id == campaign.id,
                    WECOM_RELATIONS.c.remark_mobiles.is_not(None),
                )
                .values(remark_mobiles=None)
            )
    if purge_personal_data:
        scrub.rewrite(engine, [CLIENTS, WECOM_RELATIONS])
    return closed_now, purged

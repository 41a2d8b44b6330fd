"""Registered campaigns: add or update from a TOML file, look one up by slug, describe."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from reactivate import campaign as campaign_config
from reactivate.campaign import Campaign
from reactivate.clock import utcnow
from reactivate.db.models import CampaignRecord, Member
from reactivate.errors import CampaignNotFound, StateError
from reactivate.messages import t


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
    text = campaign_config.read_file(path)
    config = campaign_config.from_toml(text, source=str(path))
    with Session(engine) as session, session.begin():
        record = session.scalars(
            select(CampaignRecord).where(CampaignRecord.slug == config.slug)  # type: ignore[arg-type]
        ).first()
        created = record is None
        if record is None:
            record = CampaignRecord(
                slug=config.slug,
                name=config.name,
                start=config.start,
                end=config.end,
                definition=text,
                source_path=str(path),
                registered_at=utcnow(),
            )
        elif record.status == "closed":
            raise StateError(f"Campaign {config.slug} is closed; it cannot be changed.")
        record.name, record.start, record.end = config.name, config.start, config.end
        record.definition, record.source_path = text, str(path)
        session.add(record)
    return config, created


def get(engine: Engine, slug: str) -> Registered:
    """The registered campaign `slug`, or `CampaignNotFound` naming the known ones."""
    with Session(engine) as session:
        record = session.scalars(
            select(CampaignRecord).where(CampaignRecord.slug == slug)  # type: ignore[arg-type]
        ).first()
        if record is None:
            known = session.scalars(select(CampaignRecord.slug)).all()  # type: ignore[arg-type]
            raise CampaignNotFound(
                t("error.campaign_not_found", slug=slug, known=", ".join(known) or "none")
            )
        assert record.id is not None
        config = campaign_config.from_toml(record.definition, source=f"campaign {slug}")
        return Registered(id=record.id, status=record.status, config=config)


def overview(engine: Engine) -> list[dict[str, Any]]:
    """One row per campaign with its member count."""
    members = (
        select(Member.campaign_id, func.count().label("n"))
        .group_by(Member.campaign_id)  # type: ignore[arg-type]
        .subquery()
    )
    query = (
        select(CampaignRecord, func.coalesce(members.c.n, 0))
        .outerjoin(members, members.c.campaign_id == CampaignRecord.id)
        .order_by(CampaignRecord.start, CampaignRecord.slug)  # type: ignore[arg-type]
    )
    with Session(engine) as session:
        return [
            {
                "slug": record.slug,
                "name": record.name,
                "start": record.start.isoformat(),
                "end": record.end.isoformat(),
                "status": record.status,
                "members": count,
            }
            for record, count in session.execute(query).all()
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

"""`reactivate assignments export`: who has whom, one row per campaign member.

For other systems and for "who has whom" questions, so mobile and name are masked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, select

from reactivate import access, registry
from reactivate.clock import local
from reactivate.db.models import (
    ADVISORS,
    CLIENT_STAGES,
    CLIENTS,
    MEMBERS,
)
from reactivate.privacy import mask_mobile, mask_name
from reactivate.rules import funnel

COLUMNS = (
    "client_id",
    "name",
    "mobile",
    "advisor_code",
    "advisor_name",
    "branch",
    "assigned_at",
    "control",
    "dnc",
    "stage",
)


def current_stage(row: Any) -> str:
    """The furthest stage a client has evidence for (cumulative), or their assignment state."""
    for stage, column in (
        (funnel.CONVERTED, "converted_at"),
        (funnel.PUSHED, "pushed_at"),
        (funnel.WECOM_ADDED, "wecom_at"),
        (funnel.REACHED, "reached_at"),
        (funnel.CALLED, "called_at"),
    ):
        if getattr(row, column, None) is not None:
            return stage
    if row.control:
        return "control"
    return funnel.ASSIGNED if row.advisor_code else "unassigned"


def assignment_rows(engine: Engine, slug: str) -> Iterator[dict[str, Any]]:
    """Every member of the campaign with their advisor and current stage, by client id."""
    access.require(engine, "access.action.export")  # now, before a first row is asked for
    return _rows(engine, registry.get(engine, slug))


def _rows(engine: Engine, campaign: registry.Registered) -> Iterator[dict[str, Any]]:
    tz = campaign.config.tz
    query = (
        select(
            MEMBERS.c.client_id,
            MEMBERS.c.advisor_code,
            MEMBERS.c.assigned_at,
            MEMBERS.c.control,
            MEMBERS.c.dnc,
            CLIENTS.c.name,
            CLIENTS.c.mobile,
            CLIENTS.c.branch,
            ADVISORS.c.name.label("advisor_name"),
            CLIENT_STAGES.c.called_at,
            CLIENT_STAGES.c.reached_at,
            CLIENT_STAGES.c.wecom_at,
            CLIENT_STAGES.c.pushed_at,
            CLIENT_STAGES.c.converted_at,
        )
        .join(CLIENTS, CLIENTS.c.client_id == MEMBERS.c.client_id)
        .outerjoin(ADVISORS, ADVISORS.c.code == MEMBERS.c.advisor_code)
        .outerjoin(
            CLIENT_STAGES,
            (CLIENT_STAGES.c.campaign_id == MEMBERS.c.campaign_id)
            & (CLIENT_STAGES.c.client_id == MEMBERS.c.client_id),
        )
        .where(MEMBERS.c.campaign_id == campaign.id)
        .order_by(MEMBERS.c.client_id)
    )
    with engine.connect() as conn:
        for row in conn.execution_options(yield_per=10_000).execute(query):
            yield {
                "client_id": row.client_id,
                "name": mask_name(row.name),
                "mobile": mask_mobile(row.mobile),
                "advisor_code": row.advisor_code or "",
                "advisor_name": row.advisor_name or "",
                "branch": row.branch or "",
                # a time: ISO in CSV and JSON, a date cell in xlsx (render.tables)
                "assigned_at": local(row.assigned_at, tz) if row.assigned_at else "",
                "control": bool(row.control),
                "dnc": bool(row.dnc),
                "stage": current_stage(row),
            }

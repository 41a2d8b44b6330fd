"""`--dropped STAGE`: who stopped just before STAGE, masked, with their last call and callback."""

from __future__ import annotations

from reactivate.clock import local
from reactivate.db.models import UTCDateTime
from reactivate.privacy import mask_mobile, mask_name
from reactivate.report.model import DroppedClient
from reactivate.report.scope import Scope
from reactivate.report.source import source


def dropped(scope: Scope, stage: str) -> tuple[DroppedClient, ...]:
    """The counted clients who reached the stage before `stage` (or it is the first) but
    neither it nor any later one, by advisor and client id."""
    reached_before = scope.campaign.stages.index(stage)
    sql = f"""
            SELECT s.client_id, c.name, c.mobile, s.advisor_code, a.name AS advisor_name,
                   s.last_call_at, s.callback_at
            FROM ({source(scope)}) s
            JOIN client c ON c.client_id = s.client_id
            LEFT JOIN advisor a ON a.code = s.advisor_code
            WHERE s.stages_reached = {reached_before}
            ORDER BY s.advisor_code, s.client_id"""
    tz = scope.campaign.tz
    return tuple(
        DroppedClient(
            client_id=row.client_id,
            name=mask_name(row.name),
            mobile=mask_mobile(row.mobile),
            advisor_code=row.advisor_code,
            advisor_name=row.advisor_name,
            last_call_at=local(row.last_call_at, tz) if row.last_call_at else None,
            callback_at=local(row.callback_at, tz) if row.callback_at else None,
        )
        for row in scope.execute(sql, last_call_at=UTCDateTime(), callback_at=UTCDateTime())
    )

"""`--dropped STAGE`: who stopped just before STAGE, masked, with their last call and callback."""

from __future__ import annotations

import datetime as dt
from typing import Any

from reactivate import access
from reactivate.clock import from_db
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
            JOIN {access.client_source(scope.conn)} c ON c.client_id = s.client_id
            LEFT JOIN advisor a ON a.code = s.advisor_code
            WHERE s.stages_reached = {reached_before}
            ORDER BY s.advisor_code, s.client_id"""
    tz = scope.campaign.tz

    def shown(value: object) -> dt.datetime | None:
        moment = from_db(value)  # read raw: a typed column costs more than the rest per row
        return moment.astimezone(tz) if moment is not None else None

    return tuple(
        DroppedClient(
            client_id=row[0],
            name=mask_name(row[1]),
            mobile=mask_mobile(row[2]),
            advisor_code=row[3],
            advisor_name=row[4],
            last_call_at=shown(row[5]),
            callback_at=shown(row[6]),
        )
        for row in _rows(scope, sql)
    )


def _rows(scope: Scope, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in scope.execute(sql)]

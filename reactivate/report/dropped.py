"""`--dropped STAGE`: who stopped just before STAGE, masked, with their last call and callback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

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
    shown = _shown(scope.campaign.tz)
    # fetched at once, not row by row: a few hundred thousand rows in a fraction of the time
    rows: list[tuple[Any, ...]] = [tuple(row) for row in scope.execute(sql).all()]
    return tuple(
        DroppedClient(
            client_id,
            mask_name(name),
            mask_mobile(mobile),
            advisor_code,
            advisor_name,
            shown(last_call_at),
            shown(callback_at),
        )
        for client_id, name, mobile, advisor_code, advisor_name, last_call_at, callback_at in rows
    )


def _shown(tz: ZoneInfo) -> Callable[[object], dt.datetime | None]:
    """A stored time read raw (a typed column costs more than the rest per row) -> campaign time."""

    def shown(value: object) -> dt.datetime | None:
        moment = from_db(value)
        return moment.astimezone(tz) if moment is not None else None

    return shown

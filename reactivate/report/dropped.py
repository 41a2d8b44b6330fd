"""`--dropped STAGE`: who stopped just before STAGE, masked, with their last call and callback."""

from __future__ import annotations

from typing import Any

from reactivate import access
from reactivate.clock import shown_column
from reactivate.privacy import masked_mobile_sql, masked_name_sql
from reactivate.report.model import DroppedClient
from reactivate.report.scope import Scope
from reactivate.report.source import source


def dropped(scope: Scope, stage: str) -> tuple[DroppedClient, ...]:
    """The counted clients who reached the stage before `stage` (or it is the first) but
    neither it nor any later one, by advisor and client id."""
    reached_before = scope.campaign.stages.index(stage)
    sql = f"""
            SELECT s.client_id, coalesce({masked_name_sql("c.name", sqlite=scope.sqlite)}, ''),
                   coalesce({masked_mobile_sql("c.mobile", sqlite=scope.sqlite)}, ''),
                   s.advisor_code, a.name AS advisor_name,
                   s.last_call_at, s.callback_at
            FROM ({source(scope)}) s
            JOIN {access.client_source(scope.conn)} c ON c.client_id = s.client_id
            LEFT JOIN advisor a ON a.code = s.advisor_code
            WHERE s.stages_reached = {reached_before}
            ORDER BY s.advisor_code, s.client_id"""
    from reactivate.sheets.clean import cyclic_gc_paused  # only this form needs it

    # a few hundred thousand rows, where a Python call per value or per row is what costs:
    # names and mobiles masked by the database, the rows fetched at once, the times put in
    # the campaign's zone a column at a time, and the cyclic collector paused (each batch
    # of new objects set it walking every live one, finding no cycles)
    with cyclic_gc_paused():
        rows: list[Any] = scope.execute(sql).all()
        if not rows:
            return ()
        ids, names, mobiles, advisors, advisor_names, last_calls, callbacks = zip(
            *rows, strict=True
        )
        tz = scope.campaign.tz
        return tuple(
            map(
                DroppedClient,
                ids,
                names,
                mobiles,
                advisors,
                advisor_names,
                shown_column(last_calls, tz),
                shown_column(callbacks, tz),
            )
        )

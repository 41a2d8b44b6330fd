"""`--dropped STAGE`: who stopped just before STAGE, masked, with their last call and callback."""

from __future__ import annotations

from itertools import repeat
from typing import cast

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
                   s.advisor_code, s.last_call_at, s.callback_at
            FROM ({source(scope)}) s
            JOIN {access.client_source(scope.conn)} c ON c.client_id = s.client_id
            WHERE s.stages_reached = {reached_before}
            ORDER BY s.advisor_code, s.client_id"""
    # the advisors' names, a few hundred, looked up here: joined in the query, each listed
    # client's row carried its advisor's name through the sort (0.3 s of 1.5 s at 257,575)
    advisor_names = dict(scope.tuples("SELECT code, name FROM advisor"))
    from reactivate.sheets.clean import cyclic_gc_paused  # only this form needs it

    # a few hundred thousand rows, where a Python call per value or per row is what costs:
    # names and mobiles masked by the database, the rows fetched at once as the driver's
    # tuples, the times put in the campaign's zone a column at a time, each client a
    # tuple built in C, and the cyclic collector paused (each batch of new objects set it
    # walking every live one, finding no cycles)
    with cyclic_gc_paused():
        rows = scope.tuples(sql)
        if not rows:
            return ()
        ids, names, mobiles, advisors, last_calls, callbacks = zip(*rows, strict=True)
        del rows
        tz = scope.campaign.tz
        clients = zip(
            ids,
            names,
            mobiles,
            advisors,
            map(advisor_names.get, advisors),
            shown_column(last_calls, tz),
            shown_column(callbacks, tz),
            strict=True,
        )
        return cast(
            tuple[DroppedClient, ...], tuple(map(tuple.__new__, repeat(DroppedClient), clients))
        )

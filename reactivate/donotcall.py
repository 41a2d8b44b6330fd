"""The firm-wide do-not-call list: client ids or mobiles, with a reason.

Such clients still join campaigns, flagged, and are never put on a call list.
Loading the list also flags members of open campaigns who are on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, or_, select, update

from reactivate import access
from reactivate.clock import utcnow
from reactivate.db import bulk, stages
from reactivate.db.import_log import record
from reactivate.db.models import (
    CAMPAIGNS,
    CLIENTS,
    DO_NOT_CALL,
    MEMBERS,
)
from reactivate.errors import Rejection, RowsRejected
from reactivate.messages import t
from reactivate.sheets import values
from reactivate.sheets.clean import RowCleaner
from reactivate.sheets.fields import DNC_FIELDS
from reactivate.sheets.read import open_table, sha256_of
from reactivate.summary import Counted, count_field


@dataclass
class DncSummary(Counted):
    file: str
    rows: int = count_field()
    added: int = count_field()
    already: int = count_field()
    members_flagged: int = count_field()
    import_id: int | None = None
    errors: list[Rejection] = field(default_factory=list)


def load_dnc(engine: Engine, path: Path, *, sheet: str | None = None) -> DncSummary:
    """Add a file of client ids and/or mobiles to the do-not-call list (all rows valid, or nothing)."""
    access.require(engine, "access.action.dnc")
    table = open_table(path, DNC_FIELDS, sheet=sheet)
    cleaner = RowCleaner(
        table, [("client_id", values.client_id), ("mobile", values.mobile), ("reason", values.text)]
    )
    summary = DncSummary(file=table.file)
    entries: dict[tuple[str, str], str | None] = {}
    for number, cells in table.rows:
        summary.rows += 1
        cleaned = cleaner.clean(number, cells)
        if isinstance(cleaned, Rejection):
            summary.errors.append(cleaned)
            continue
        client_id, mobile, reason = cleaned
        if client_id is None and mobile is None:
            summary.errors.append(cleaner.reject(number, None, t("reject.dnc_empty")))
            continue
        if client_id:
            entries[("client_id", client_id)] = reason
        if mobile:
            entries[("mobile", mobile)] = reason
    if summary.errors:
        raise RowsRejected(
            t("error.rows_rejected", count=len(summary.errors), first=summary.errors[0]),
            summary.errors,
        )

    now = utcnow()
    with engine.begin() as conn:
        known = {
            (kind, value)
            for kind, value in conn.execute(select(DO_NOT_CALL.c.kind, DO_NOT_CALL.c.value))
        }
        new = [
            (kind, value, reason)
            for (kind, value), reason in entries.items()
            if (kind, value) not in known
        ]
        summary.already = len(entries) - len(new)
        summary.added = len(new)
        summary.import_id = record(
            conn,
            kind="dnc",
            campaign_id=None,
            path=path,
            sha256=sha256_of(path),
            rows=summary.rows,
            counts=summary.counts(),
            status="applied",
        )
        bulk.upsert(
            conn,
            DO_NOT_CALL,
            [
                {
                    "kind": kind,
                    "value": value,
                    "reason": reason,
                    "added_at": now,
                    "import_id": summary.import_id,
                }
                for kind, value, reason in new
            ],
            ["kind", "value"],
            update=[],
        )
        summary.members_flagged = flag_members(conn)
    return summary


def flag_members(conn: Connection) -> int:
    """Flag every member of an open campaign who is on the list; returns how many were newly flagged."""
    by_id = select(DO_NOT_CALL.c.value).where(DO_NOT_CALL.c.kind == "client_id")
    by_mobile = select(CLIENTS.c.client_id).where(
        CLIENTS.c.mobile.in_(select(DO_NOT_CALL.c.value).where(DO_NOT_CALL.c.kind == "mobile"))
    )
    open_campaigns = select(CAMPAIGNS.c.id).where(CAMPAIGNS.c.status == "open")
    newly = (
        MEMBERS.c.campaign_id.in_(open_campaigns),
        MEMBERS.c.dnc.is_(False),
        or_(MEMBERS.c.client_id.in_(by_id), MEMBERS.c.client_id.in_(by_mobile)),
    )
    flagged: dict[int, list[str]] = {}
    for campaign_id, client_id in conn.execute(
        select(MEMBERS.c.campaign_id, MEMBERS.c.client_id).where(*newly)
    ):
        flagged.setdefault(campaign_id, []).append(client_id)
    result = conn.execute(update(MEMBERS).where(*newly).values(dnc=True))
    for campaign_id, client_ids in flagged.items():  # the summary shows the flag at once
        stages.refresh(conn, campaign_id, client_ids)
    return int(result.rowcount)

"""Facts the database keeps about itself: the workbook-signing secret."""

from __future__ import annotations

import secrets

from sqlalchemy import Connection, select

from reactivate.db import bulk
from reactivate.db.models import META

WORKBOOK_SECRET = "workbook_secret"


def workbook_secret(conn: Connection) -> bytes:
    """The HMAC key for workbook stamps, created on first use; it never leaves the database."""
    found = conn.execute(select(META.c.value).where(META.c.key == WORKBOOK_SECRET)).scalar()
    if found is None:
        bulk.upsert(
            conn,
            META,
            [{"key": WORKBOOK_SECRET, "value": secrets.token_hex(32)}],
            ["key"],
            update=[],
        )
        found = conn.execute(select(META.c.value).where(META.c.key == WORKBOOK_SECRET)).scalar_one()
    return bytes.fromhex(found)

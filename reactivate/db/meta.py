"""Facts the database keeps about itself: the workbook-signing secret."""

from __future__ import annotations

import secrets

from sqlalchemy import Connection, text

from reactivate.db import bulk

WORKBOOK_SECRET = "workbook_secret"


def workbook_secret(conn: Connection) -> bytes:
    """The HMAC key for workbook stamps, created on first use; it never leaves the database.

    Read by text SQL: an upload, which reads it, need not import the tables' module."""
    read = text('SELECT value FROM meta WHERE "key" = :key')
    found = conn.execute(read, {"key": WORKBOOK_SECRET}).scalar()
    if found is None:
        from reactivate.db.models import META

        bulk.upsert(
            conn,
            META,
            [{"key": WORKBOOK_SECRET, "value": secrets.token_hex(32)}],
            ["key"],
            update=[],
        )
        found = conn.execute(read, {"key": WORKBOOK_SECRET}).scalar_one()
    return bytes.fromhex(found)

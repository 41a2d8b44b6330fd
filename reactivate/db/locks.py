"""One lock per campaign for every use case that writes its members, events or summary.

SQLite needs nothing more: the engine begins every transaction with BEGIN IMMEDIATE, so
writers already queue. PostgreSQL takes a transaction-level advisory lock, released at
commit or rollback; assign, upload, sync, follow-up workbooks and activity all take the
same one, so their stage-summary refreshes never interleave.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

#: First key of the advisory lock ('RE'); the second is the campaign id.
LOCK_NAMESPACE = 0x5245


def lock_campaign(conn: Connection, campaign_id: int) -> None:
    """Serialise writers of one campaign until this transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:namespace, :campaign_id)"),
            {"namespace": LOCK_NAMESPACE, "campaign_id": campaign_id},
        )


def lock_schema(conn: Connection) -> None:
    """Serialise schema upgrades until this transaction ends (SQLite: BEGIN IMMEDIATE does)."""
    if conn.dialect.name == "postgresql":
        # campaign ids start at 1: key 0 is free for the schema
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:namespace, 0)"), {"namespace": LOCK_NAMESPACE}
        )

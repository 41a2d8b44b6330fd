"""The import log: every file brought in, applied or refused, with its counts, who and when."""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reactivate.clock import DEFAULT_TZ, local, utcnow
from reactivate.db.reads import text

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine


def who(conn: Connection) -> str:
    """The person running the command. PostgreSQL: the database login (`current_user`),
    which no one can claim but its holder. SQLite, whose file only its owner opens:
    REACTIVATE_USER, else the login name."""
    if conn.dialect.name == "postgresql":
        return str(conn.execute(text("SELECT current_user")).scalar_one())
    try:
        return os.environ.get("REACTIVATE_USER") or getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


def record(
    conn: Connection,
    *,
    kind: str,
    campaign_id: int | None,
    path: Path,
    sha256: str,
    rows: int,
    counts: dict[str, Any],
    status: str,
) -> int:
    """Append one import record inside the caller's transaction; returns its id.

    By text SQL, its time as times are stored (`dialect.db_time`): an upload, which records
    its files, need not import the tables' module."""
    from reactivate.db.dialect import db_time

    result = conn.execute(
        text(
            "INSERT INTO import_record (kind, campaign_id, file_name, sha256, rows, counts,"
            " status, run_by, run_at) VALUES (:kind, :campaign_id, :file_name, :sha256, :rows,"
            " :counts, :status, :run_by, :run_at) RETURNING id"
        ),
        {
            "kind": kind,
            "campaign_id": campaign_id,
            "file_name": str(path),
            "sha256": sha256,
            "rows": rows,
            "counts": json.dumps(counts, ensure_ascii=False),
            "status": status,
            "run_by": who(conn),
            "run_at": db_time(conn, utcnow()),
        },
    )
    return int(result.scalar_one())


def listing(
    engine: Engine, campaign_id: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The latest imports, newest first."""
    from sqlalchemy import select

    from reactivate.db.models import CAMPAIGNS, IMPORTS

    table = IMPORTS
    campaigns = CAMPAIGNS
    query = (
        select(table, campaigns.c.slug)
        .outerjoin(campaigns, campaigns.c.id == table.c.campaign_id)
        .order_by(table.c.id.desc())
        .limit(limit)
    )
    if campaign_id is not None:
        query = query.where(table.c.campaign_id == campaign_id)
    with engine.connect() as conn:
        return [
            {
                "id": row.id,
                "kind": row.kind,
                "campaign": row.slug,
                "file": row.file_name,
                "sha256": row.sha256,
                "rows": row.rows,
                "status": row.status,
                "counts": json.loads(row.counts),
                "run_by": row.run_by,
                "run_at": local(row.run_at, DEFAULT_TZ).isoformat(timespec="seconds"),
            }
            for row in conn.execute(query)
        ]

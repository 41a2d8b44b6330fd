"""What tests share that is not a fixture: paths to the sample files and raw SQL looks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN_FILE = ROOT / "campaigns" / "2020h2-dormant.toml"
TEST_DATA = Path(__file__).resolve().parent / "data"


def record_call(db: str, client_id: str, at: str = "2020-07-02 02:00:00") -> None:
    """Append one answered call for `client_id` in campaign 1, as an upload would."""
    from sqlalchemy import text

    from reactivate.db.engine import open_engine

    engine = open_engine(db)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO event (campaign_id, client_id, stage, value, occurred_at, source,"
                " recorded_by, recorded_at)"
                " VALUES (1, :client, 'call', 'connected', :at, 'upload', 'test', :at)"
            ),
            {"client": client_id, "at": at},
        )
    engine.dispose()


def query(db: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of a raw SQL query against `db`, as tuples (the test's independent look)."""
    from sqlalchemy import text

    from reactivate.db.engine import open_engine

    engine = open_engine(db)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql), params)]
    engine.dispose()
    return rows


def scalar(db: str, sql: str, **params: Any) -> Any:
    """The first value of a raw SQL query against `db`."""
    return query(db, sql, **params)[0][0]

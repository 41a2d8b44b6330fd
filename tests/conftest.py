"""Shared fixtures: a real database per test (SQLite file, and PostgreSQL when available).

PostgreSQL tests use `REACTIVATE_TEST_PG_URL` (e.g. postgresql://postgres@127.0.0.1:5432/test)
and run in a schema of their own, dropped afterwards, so runs cannot collide.
They skip with a reason when the variable is unset; `.ci/run` sets it and fails on skips.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PG_ENV = "REACTIVATE_TEST_PG_URL"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch a database named by the user's environment, and speak English."""
    monkeypatch.delenv("REACTIVATE_DB", raising=False)
    monkeypatch.setenv("REACTIVATE_LANG", "en")
    monkeypatch.setenv("COLUMNS", "120")


def _pg_url_with_schema(base: str, schema: str) -> str:
    base = base.replace("postgresql://", "postgresql+psycopg://", 1)
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1/test)")
    import sqlalchemy

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield _pg_url_with_schema(base, schema)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file for tests that need only one backend."""
    return f"sqlite:///{tmp_path / 'test.db'}"


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

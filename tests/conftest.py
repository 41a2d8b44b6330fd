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

"""Where WeCom access tokens are cached between calls and across invocations.

A token is valid for one app (corp + secret) for about two hours, and WeCom
throttles `gettoken`, so every invocation of the CLI should reuse the last one.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from reactivate.db import bulk
from reactivate.db.models import WECOM_TOKENS
from reactivate.errors import DatabaseError
from reactivate.messages import t


class TokenStore(Protocol):
    """A cache of access tokens by key (corp + a hash of the app secret, never the secret)."""

    def get(self, key: str) -> tuple[str, dt.datetime] | None:
        """The token stored under `key` and when it expires (aware UTC), or None."""
        ...

    def put(self, key: str, token: str, expires_at: dt.datetime) -> None:
        """Store `token` under `key`, replacing any previous one."""
        ...


class MemoryTokenStore:
    """Tokens kept for the life of the process (tests, one-off scripts)."""

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[str, dt.datetime]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[str, dt.datetime] | None:
        with self._lock:
            return self._tokens.get(key)

    def put(self, key: str, token: str, expires_at: dt.datetime) -> None:
        with self._lock:
            self._tokens[key] = (token, expires_at)

    def __repr__(self) -> str:
        return f"MemoryTokenStore({len(self._tokens)} token(s))"  # never the tokens


class DatabaseTokenStore:
    """Tokens in the `wecom_token` table, shared by every invocation on the same database.

    Each read and write is its own short transaction, so a cached token never
    holds a lock while HTTP calls run.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, key: str) -> tuple[str, dt.datetime] | None:
        try:
            return self._get(key)
        except SQLAlchemyError as exc:
            raise _store_failed(exc) from None

    def _get(self, key: str) -> tuple[str, dt.datetime] | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(WECOM_TOKENS.c.token, WECOM_TOKENS.c.expires_at).where(
                    WECOM_TOKENS.c.key == key
                )
            ).first()
        if row is None:
            return None
        expires_at: dt.datetime = row.expires_at
        if expires_at.tzinfo is None:  # defensive: some drivers hand back naive UTC
            expires_at = expires_at.replace(tzinfo=dt.UTC)
        return str(row.token), expires_at

    def put(self, key: str, token: str, expires_at: dt.datetime) -> None:
        if expires_at.tzinfo is None:
            raise ValueError("expires_at must be an aware datetime")
        try:
            self._put(key, token, expires_at.astimezone(dt.UTC))
        except SQLAlchemyError as exc:
            raise _store_failed(exc) from None

    def _put(self, key: str, token: str, expires_at: dt.datetime) -> None:
        # An upsert, so two invocations refreshing at once cannot collide on the key.
        with self._engine.begin() as conn:
            bulk.upsert(
                conn,
                WECOM_TOKENS,
                [{"key": key, "token": token, "expires_at": expires_at}],
                ["key"],
            )

    def __repr__(self) -> str:
        return f"DatabaseTokenStore({self._engine.url!r})"


def _store_failed(exc: SQLAlchemyError) -> DatabaseError:
    """The driver's own words only: SQLAlchemy's text adds the statement's parameters,
    among them the token."""
    problem = getattr(exc, "orig", None) or type(exc).__name__
    return DatabaseError(t("wecom.token_store", problem=problem))

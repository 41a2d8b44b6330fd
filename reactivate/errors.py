"""Every failure `reactivate` reports to a user is a `ReactivateError`.

ReactivateError
├── ConfigError            a campaign file, option or environment setting is wrong
│   └── CampaignNotFound   no campaign registered under that slug
├── InputError             an input file cannot be read as a table we understand
│   └── RowsRejected       some rows failed validation; carries every rejection
├── DatabaseError          the database cannot be opened or is of an unknown schema version
├── AccessDenied           the caller's database role does not allow this (shared PostgreSQL)
├── StateError             the request conflicts with what the database holds (closed campaign, ...)
│   └── NeedsConfirmation  a change far larger than usual waits for the user's yes; carries the summary
└── WeComError             WeCom's API answered with an error or could not be reached
    └── WeComConfigError   WeCom refused because of how the app/corp is configured

The library raises these and never prints; the CLI prints `Error: <message>` and exits 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reactivate.messages import t


class ReactivateError(Exception):
    """Base of every error reported to the user without a traceback."""


class ConfigError(ReactivateError):
    """A campaign file, option or environment setting is wrong."""


class CampaignNotFound(ConfigError):
    """No campaign is registered under that slug."""


class InputError(ReactivateError):
    """An input file cannot be read as a table we understand."""


@dataclass(frozen=True)
class Rejection:
    """One rejected input row: where it is and why."""

    file: str
    sheet: str | None
    row: int  # as Excel (or a text editor) shows it, 1-based
    column: str | None
    reason: str

    def where(self) -> str:
        parts = [self.file]
        if self.sheet:
            parts.append(t("where.sheet", sheet=self.sheet))
        parts.append(t("where.row", row=self.row))
        if self.column:
            parts.append(t("where.column", column=self.column))
        return t("where.separator").join(parts)

    def __str__(self) -> str:
        return t("where.reason", where=self.where(), reason=self.reason)


class RowsRejected(InputError):
    """Some rows failed validation; nothing was written. Carries every rejection."""

    def __init__(self, message: str, rejections: list[Rejection]) -> None:
        super().__init__(message)
        self.rejections = rejections


class DatabaseError(ReactivateError):
    """The database cannot be opened or holds an unknown schema version."""


class AccessDenied(ReactivateError):
    """The caller's database role does not allow this (a shared PostgreSQL's roles)."""


class StateError(ReactivateError):
    """The request conflicts with what the database holds."""


class NeedsConfirmation(StateError):
    """A change far larger than usual (a load that would swell a campaign) waits for the
    user's confirmation; nothing was written. `summary` is what the change would have done,
    as its JSON."""

    def __init__(self, message: str, summary: dict[str, Any]) -> None:
        super().__init__(message)
        self.summary = summary


class WeComError(ReactivateError):
    """WeCom's API answered with an error or could not be reached."""

    def __init__(self, message: str, errcode: int | None = None) -> None:
        super().__init__(message)
        self.errcode = errcode


class WeComConfigError(WeComError):
    """WeCom refused the call because of how the corp or app is configured."""

"""Ctrl-C and SIGTERM that tell the truth about what was written.

Every change is one transaction, so an interrupt leaves the database as it was before
the change or, once the change's COMMIT has begun, as it is after it: SQLite and
PostgreSQL finish a COMMIT they have started before Python runs a signal handler. So an
interrupted command can say which of the two happened by knowing whether a commit began.

`install()` (the CLI calls it once) turns SIGINT and SIGTERM into `Interrupted`;
`watch(engine)` counts the engine's commits, so the CLI knows which line to print.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Engine

_commits = 0


class Interrupted(KeyboardInterrupt):
    """The user (SIGINT) or the system (SIGTERM) stopped the command."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as shells report a command a signal stopped."""
        return 128 + self.signum


def commits() -> int:
    """How many transactions this process has begun to commit."""
    return _commits


def _count_commit(_conn: Any) -> None:
    global _commits
    _commits += 1


def _raise(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signum)


def install() -> None:
    """Route SIGINT and SIGTERM to `Interrupted` (cheap: no import, for `--help` too)."""
    signal.signal(signal.SIGINT, _raise)
    signal.signal(signal.SIGTERM, _raise)


def watch(engine: Engine) -> Engine:
    """Count `engine`'s commits in `commits()`; returns the engine."""
    from sqlalchemy import event

    event.listen(engine, "commit", _count_commit)
    return engine

"""Ctrl-C and SIGTERM that tell the truth about what was written.

Every change is one transaction, so an interrupt leaves the database as it was before
the change or, once the change's COMMIT has begun, as it is after it: SQLite and
PostgreSQL finish a COMMIT they have started before Python runs a signal handler. So an
interrupted command can say which of the two happened by knowing whether a commit began.

`install()` (the CLI calls it once) turns SIGINT and SIGTERM into `Interrupted`, raised
at once only inside `command()`, the command's own work. An exception raised anywhere
else could land in Python's import machinery while the command line still loads, or in
Typer's argument parsing or exit, which turn it into a traceback or a silent exit; there
the interrupt waits: `command()` raises it on entry, and the CLI asks `finish()` as it
exits. `watch(engine)` counts the engine's commits, so the CLI knows which line to print.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Engine

_commits = 0
_installed = False
_in_command = False
_pending: Interrupted | None = None


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


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    global _pending
    if _in_command:
        raise Interrupted(signum)
    _pending = Interrupted(signum)


def _unraisable(unraisable: Any) -> None:
    global _pending
    if isinstance(unraisable.exc_value, Interrupted):
        # raised in a finalizer (a `__del__`), which Python reports and forgets: the command
        # went on, and says it was interrupted as it finishes
        _pending = unraisable.exc_value
        return
    sys.__unraisablehook__(unraisable)


def install() -> None:
    """Route SIGINT and SIGTERM to `Interrupted` (cheap: no import, for `--help` too)."""
    global _installed
    _installed = True
    sys.unraisablehook = _unraisable
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    # `reactivate.__main__` holds them back until now
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


@contextmanager
def command() -> Iterator[None]:
    """The command's own work: an interrupt raises `Interrupted` here at once, and one that
    came while the command line was loading is raised on entry."""
    global _in_command, _pending
    early, _pending = _pending, None
    _in_command = True
    try:
        if early is not None:
            raise early
        yield
    finally:
        _in_command = False


def finish() -> Interrupted | None:
    """The command line is done: later signals are ignored (nothing is left to stop, and
    Python, exiting, would give them back their default action and die of one, the output
    complete). Returns the interrupt that came outside `command()` and was not raised."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return _pending


def watch(engine: Engine) -> Engine:
    """Count `engine`'s commits in `commits()`; returns the engine.

    Where `install()` routed the signals, polars is imported here, before the command's
    work, and SIGINT taken back: polars takes SIGINT for itself when first imported, to
    abort its own queries, and a query it aborts can end in an error a fast reader's
    caller takes for "read it row by row", which swallows the interrupt."""
    from sqlalchemy import event

    if _installed:
        import polars  # noqa: F401

        install()

    event.listen(engine, "commit", _count_commit)
    return engine

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

polars takes SIGINT for itself (at the C level) as it is first imported, to abort its own
queries, and a query it aborts can end in an error that a fast reader's caller takes for
"read it row by row", which swallows the interrupt. Rather than import polars up front in
every command (a tenth of a second that a report never uses), `install()` puts a finder on
`sys.meta_path` that routes SIGINT back to us the moment polars' import completes, which
it can only do on the main thread: code that imports polars in worker threads imports it
first on the main thread (the upload does).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec

    from sqlalchemy import Engine

#: Modules whose import takes SIGINT from Python at the C level.
SIGINT_TAKERS = frozenset({"polars"})

_commits = 0
_installed = False
_in_command = False
_pending: Interrupted | None = None
_signalled = False


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
    global _pending, _signalled
    _signalled = True
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
    if _signalled:
        # the finalizer of something the interrupt cut short (a read whose connection was
        # closed under it): the transaction is rolled back whatever it says, and its
        # traceback would bury the command's one line
        return
    sys.__unraisablehook__(unraisable)


def install() -> None:
    """Route SIGINT and SIGTERM to `Interrupted` (cheap: no import, for `--help` too), and
    take SIGINT back from polars whenever it is imported."""
    global _installed
    _installed = True
    sys.unraisablehook = _unraisable
    _route()
    if not any(isinstance(finder, _TakeBack) for finder in sys.meta_path):
        sys.meta_path.insert(0, _TakeBack())
    # `reactivate.__main__` holds them back until now
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def _route() -> None:
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


class _TakeBack:
    """A finder that finds nothing itself: for a module of `SIGINT_TAKERS` it asks the
    finders after it and wraps the loader they give, so that the signals are routed to us
    again as soon as the module has run (polars installs its handler while it loads)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in SIGINT_TAKERS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec: ModuleSpec | None = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = cast("Loader", _TakeBackLoader(spec.loader))
                return spec
        return None


class _TakeBackLoader:
    """The module's own loader, with the signals routed back once the module has run."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self._loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        try:
            self._loader.exec_module(module)
        finally:
            if _installed and threading.current_thread() is threading.main_thread():
                _route()

    def __getattr__(self, name: str) -> Any:  # resources, source, ... as the loader has them
        return getattr(self._loader, name)


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
    global _installed
    _installed = False  # nor does a late import of polars route them to us again
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return _pending


def watch(engine: Engine) -> Engine:
    """Count `engine`'s commits in `commits()`; returns the engine."""
    from sqlalchemy import event

    event.listen(engine, "commit", _count_commit)
    return engine

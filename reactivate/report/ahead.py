"""A window's reads that need not wait for its clients, read beside them (PostgreSQL).

A window's report first works out its returning clients into `report_days`
(`source.materialize`), one statement that keeps one server process busy for most of the
report; what it reads of the tallies alone (the day histograms summed over the window per
group, the tally rows) does not depend on them. So those reads run meanwhile on a
connection of their own, on a thread: a read-only transaction on the report's own
snapshot (`pg_export_snapshot`, as `dropped` shares it), the report's settings for big
reads. Each read is a function of a `Scope` (on that connection) and its arguments; the
report asks for its result with `Scope.read`, which waits for it or, when it was not sent
ahead, reads it on the report's own connection.

SQLite has no second connection to read beside its own: a report there reads everything
in turn.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, cast

from reactivate.db.dialect import tune_big_reads

if TYPE_CHECKING:
    from reactivate.report.scope import Scope

#: A read sent ahead: a function of a `Scope` and the arguments after it.
Read = tuple[Callable[..., Any], tuple[Any, ...]]


class Ahead:
    """Reads running on a connection of their own, on a thread (`reading`)."""

    def __init__(self, scope: Scope, reads: Sequence[Read]) -> None:
        self._scope = scope
        self._reads = list(reads)
        self._results: dict[Read, Any] = {}
        self._done: dict[Read, threading.Event] = {read: threading.Event() for read in reads}
        self._error: BaseException | None = None
        self._stopped = threading.Event()
        self._ended = threading.Event()
        self._conn: Any = None
        self._snapshot = scope.execute("SELECT pg_export_snapshot()").scalar()

    def holds(self, read: Read) -> bool:
        return read in self._done

    def result(self, read: Read) -> Any:
        """The read's result, waited for: on an event with a timeout, so that an interrupt
        reaches this (main) thread at once."""
        done = self._done[read]
        while not done.wait(0.2):
            pass
        if read in self._results:
            return self._results.pop(read)
        raise self._error or RuntimeError("the reads beside the report were stopped")

    def start(self) -> None:
        threading.Thread(target=self._work, name="report-ahead", daemon=True).start()

    def stop(self) -> None:
        """Cancel what still runs and wait for the thread to end (through any further
        interrupt), so that its connection is closed before the report's."""
        self._stopped.set()
        while not self._ended.is_set():
            conn = self._conn
            if conn is not None:  # again until it ends: a read may have begun meanwhile
                with contextlib.suppress(Exception):
                    conn.connection.driver_connection.cancel_safe()
            with contextlib.suppress(BaseException):  # the first interrupt is raised
                self._ended.wait(0.2)

    def _work(self) -> None:
        try:
            engine = cast(Any, self._scope.conn).engine
            with engine.connect() as conn:
                conn = conn.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
                self._conn = conn
                if self._stopped.is_set():
                    return
                conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{self._snapshot}'")
                tune_big_reads(conn)
                scope = dataclasses.replace(self._scope, conn=conn, ahead=None)
                for read in self._reads:
                    if self._stopped.is_set():
                        return
                    function, args = read
                    self._results[read] = function(scope, *args)
                    self._done[read].set()
                conn.rollback()
        except BaseException as exc:  # raised on the main thread when a result is asked for
            self._error = exc
        finally:
            self._ended.set()
            for done in self._done.values():
                done.set()


@contextlib.contextmanager
def reading(scope: Scope, reads: Sequence[Read]) -> Iterator[Ahead | None]:
    """`reads` started on a connection of their own (PostgreSQL; none on SQLite or with
    nothing to read), stopped and their connection closed when the block ends."""
    if scope.sqlite or not reads:
        yield None
        return
    ahead = Ahead(scope, reads)
    ahead.start()
    try:
        yield ahead
    finally:
        ahead.stop()

"""`python -m reactivate`, and the `reactivate` command.

SIGINT and SIGTERM are held back from the first line until the interrupt handlers are in
(`interrupts.install()` lets them through), and those go in before the command line is
imported (a tenth of a second of imports): an interrupt that early also ends in one line
and exit 130 (143 for SIGTERM).
"""

# `_signal`, not `signal`: the interpreter has loaded it already, so no Python code runs
# before the mask, while importing `signal` builds its enums for a millisecond, long
# enough for an early SIGINT to raise KeyboardInterrupt there (seen in the kill loops).
import _signal  # type: ignore[import-not-found]  # (no stub: the C half of `signal`)

_signal.pthread_sigmask(_signal.SIG_BLOCK, {_signal.SIGINT, _signal.SIGTERM})

from reactivate.db import interrupts  # noqa: E402  (after the signals are held)


def main() -> None:
    interrupts.install()
    from reactivate.cli import main as run

    run()


if __name__ == "__main__":
    main()

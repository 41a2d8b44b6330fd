"""`python -m reactivate`, and the `reactivate` command.

SIGINT and SIGTERM are held back from the first line until the interrupt handlers are in
(`interrupts.install()` lets them through), and those go in before the command line is
imported (a tenth of a second of imports): an interrupt that early also ends in one line
and exit 130 (143 for SIGTERM).
"""

import signal

signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})

from reactivate.db import interrupts  # noqa: E402  (after the signals are held)


def main() -> None:
    interrupts.install()
    from reactivate.cli import main as run

    run()


if __name__ == "__main__":
    main()

"""`python -m reactivate`, and the `reactivate` command.

The interrupt handlers go in before the command line is imported (a tenth of a second of
imports), so an interrupt that early also ends in one line and exit 130 (143 for SIGTERM).
"""

from reactivate.db import interrupts


def main() -> None:
    interrupts.install()
    from reactivate.cli import main as run

    run()


if __name__ == "__main__":
    main()

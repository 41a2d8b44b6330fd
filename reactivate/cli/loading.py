"""`reactivate load` and `reactivate dnc ...`."""

from __future__ import annotations

import typer

dnc_app = typer.Typer(help="The firm-wide do-not-call list.", no_args_is_help=True)


def load() -> None:
    """Load dormant accounts (placeholder until the loader lands)."""

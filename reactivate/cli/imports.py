"""`reactivate imports ...`."""

from __future__ import annotations

import typer

app = typer.Typer(help="Every file brought in: what, counts, who, when.", no_args_is_help=True)

"""`reactivate advisors ...` and `reactivate branches ...`."""

from __future__ import annotations

import typer

app = typer.Typer(help="The advisor roster: who takes clients, in which branch, with what capacity.", no_args_is_help=True)
branches_app = typer.Typer(help="Branch names and the other spellings exports use.", no_args_is_help=True)

"""`reactivate assign`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from reactivate.cli.options import (
    CampaignOption,
    DbOption,
    Format,
    FormatOption,
    NoWorkbooksOption,
    OutOption,
    engine,
)
from reactivate.cli.output import emit, print_assignment, progress_bar
from reactivate.messages import t


def assign(
    campaign: CampaignOption,
    holdout: Annotated[
        float | None,
        typer.Option(help="help.assign.holdout"),
    ] = None,
    cross_branch: Annotated[
        bool | None,
        typer.Option(
            "--cross-branch/--no-cross-branch",
            help="help.assign.cross_branch",
        ),
    ] = None,
    keep_owner: Annotated[
        bool | None,
        typer.Option(
            "--keep-owner/--no-keep-owner",
            help="help.assign.keep_owner",
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(help="help.assign.seed"),
    ] = None,
    assigned_at: Annotated[
        dt.datetime | None,
        typer.Option(help="help.assign.assigned_at"),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="help.assign.dry_run")] = False,
    out: OutOption = None,
    no_workbooks: NoWorkbooksOption = False,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    from reactivate.assign import AssignOptions
    from reactivate.assign import assign as run

    options = AssignOptions(
        holdout=holdout,
        cross_branch=cross_branch,
        keep_owner=keep_owner,
        seed=seed,
        dry_run=dry_run,
        assigned_at=assigned_at,
        out_dir=out,
        workbooks=not no_workbooks,
    )
    with progress_bar(t("progress.workbooks"), enabled=fmt is Format.table) as bar:
        summary = run(engine(db), campaign, options, progress=bar.advance)
    emit(fmt, summary.to_json(), lambda: print_assignment(summary))

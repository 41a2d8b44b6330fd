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
        typer.Option(
            help="Share of newly eligible clients kept out as a control group, e.g. 0.1. Default: the campaign's."
        ),
    ] = None,
    cross_branch: Annotated[
        bool | None,
        typer.Option(
            "--cross-branch/--no-cross-branch",
            help="Let clients a branch cannot hold go to other branches.",
        ),
    ] = None,
    keep_owner: Annotated[
        bool | None,
        typer.Option(
            "--keep-owner/--no-keep-owner",
            help="Keep a client with their previous advisor when active.",
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed of the random tie-breaks and the control draw. Default: the campaign's (0)."
        ),
    ] = None,
    assigned_at: Annotated[
        dt.datetime | None,
        typer.Option(
            help="When the split took effect, in the campaign's time zone (default: now)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the split; write nothing.")
    ] = False,
    out: OutOption = None,
    no_workbooks: NoWorkbooksOption = False,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Split the campaign's unassigned dormant clients over active advisors; write each a workbook.

    Method: branch first; previous owners kept within capacity; counts levelled by capacity
    (water-filling); assets dealt by a snake draft over clients sorted by assets. The same
    database and --seed give the same split; clients loaded later are assigned without
    moving anyone already assigned.

    Example: reactivate assign --campaign 2020h2-dormant --holdout 0.1
    """
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

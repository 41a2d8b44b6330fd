"""`reactivate reassign`."""

from __future__ import annotations

from contextlib import nullcontext
from typing import TYPE_CHECKING, Annotated

import typer

from reactivate.cli.options import (
    CampaignOption,
    DbOption,
    Format,
    FormatOption,
    NoWorkbooksOption,
    OutOption,
    engine,
    wecom_client,
)
from reactivate.cli.output import console, emit, print_advisors, print_assignment, progress_bar
from reactivate.messages import t

if TYPE_CHECKING:
    from reactivate.wecom.transfers import Reassignment


def reassign(
    campaign: CampaignOption,
    from_: Annotated[str, typer.Option("--from", help="help.reassign.from")],
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="help.reassign.to",
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="help.reassign.dry_run")] = False,
    out: OutOption = None,
    no_workbooks: NoWorkbooksOption = False,
    wecom: Annotated[
        bool,
        typer.Option(
            "--wecom",
            help="help.reassign.wecom",
        ),
    ] = False,
    employed: Annotated[
        bool,
        typer.Option(
            "--employed",
            help="help.reassign.employed",
        ),
    ] = False,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    from reactivate.wecom.transfers import reassign_and_hand_over

    eng = engine(db)
    bar = progress_bar(t("progress.workbooks"), enabled=fmt is Format.table)
    with wecom_client(eng) if wecom else nullcontext() as client, bar:
        done = reassign_and_hand_over(
            eng,
            campaign,
            from_,
            to,
            wecom=client,
            employed=employed or None,  # not given: the roster says whether they left
            out_dir=out,
            workbooks=not no_workbooks,
            dry_run=dry_run,
            progress=bar.advance,
        )
    emit(fmt, done.to_json(), lambda: _show(done))


def _show(done: Reassignment) -> None:
    if done.moves.from_clients == 0:
        moves = done.moves
        console().print(t("reassign.no_clients", code=moves.from_advisor, slug=moves.campaign))
    else:
        print_assignment(done.moves)
    if done.handover is None:
        return
    handover = done.handover
    api = "resigned/transfer_customer" if handover.resigned else "transfer_customer"
    out = console()
    out.print(t("wecom.handover", customers=handover.customers, started=handover.started, api=api))
    for errcode, count in sorted(handover.failed.items()):
        out.print(t("wecom.handover_failed", errcode=errcode, count=count))
    print_advisors("wecom.without_userid", handover.without_userid)

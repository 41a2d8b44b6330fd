"""`reactivate wecom sync | qr | notify | transfers`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from reactivate.cli.options import (
    CampaignOption,
    DbOption,
    Format,
    FormatOption,
    engine,
    wecom_client,
)
from reactivate.cli.output import console, emit, print_advisors, table
from reactivate.messages import t

if TYPE_CHECKING:
    from reactivate.wecom.contact_ways import QrSummary
    from reactivate.wecom.notify import NotifySummary, Outbox
    from reactivate.wecom.sync import SyncSummary
    from reactivate.wecom.transfers import TransfersSummary

app = typer.Typer(
    help="help.wecom",
    no_args_is_help=True,
)


@app.command("sync", help="help.wecom.sync")
def sync(campaign: CampaignOption, db: DbOption = None, fmt: FormatOption = Format.table) -> None:
    from reactivate.wecom.sync import sync as run

    eng = engine(db)
    with wecom_client(eng) as wecom:
        summary = run(eng, wecom, campaign)
    emit(fmt, summary.to_json(), lambda: _show_sync(summary))


_SYNC_COUNTS = (
    "advisors",
    "contacts",
    "matched",
    "preexisting",
    "events",
    "unmatched",
    "ambiguous",
    "lost",
)


def _show_sync(summary: SyncSummary) -> None:
    data = summary.to_json()
    pairs = [(t(f"wecom.sync_{key}"), data[key]) for key in _SYNC_COUNTS]
    _print_counts(t("wecom.sync_title", campaign=summary.campaign), pairs)
    _print_refused(summary.refused)
    out = console()
    for code in summary.unlicensed:
        out.print(t("wecom.sync_unlicensed", advisor=code))
    print_advisors("wecom.without_userid", summary.without_userid)
    for a in summary.ambiguities:
        found = {"external": a.external_userid, "mobile": a.mobile, "clients": a.clients}
        out.print(t("wecom.sync_ambiguity", advisor=a.advisor, **found))


@app.command("qr", help="help.wecom.qr")
def qr(
    campaign: CampaignOption,
    per_client: Annotated[
        bool,
        typer.Option(
            "--per-client",
            help="help.wecom.qr.per_client",
        ),
    ] = False,
    remove: Annotated[
        bool,
        typer.Option("--remove", help="help.wecom.qr.remove"),
    ] = False,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    from reactivate.wecom.contact_ways import create_ways, remove_ways

    if per_client and remove:
        raise typer.BadParameter(t("wecom.qr_remove_or_create"), param_hint="--remove")
    eng = engine(db)
    with wecom_client(eng) as wecom:
        if remove:
            summary = remove_ways(eng, wecom, campaign)
        else:
            summary = create_ways(eng, wecom, campaign, per_client=per_client)
    emit(fmt, summary.to_json(), lambda: _show_qr(summary, remove))


def _show_qr(summary: QrSummary, removed: bool) -> None:
    title = t("wecom.qr_title", campaign=summary.campaign)
    if removed:
        _print_counts(
            title,
            [
                (t("wecom.qr_removed"), summary.removed),
                (t("wecom.qr_already_gone"), summary.already_gone),
            ],
        )
        return
    _print_counts(
        title,
        [(t("wecom.qr_created"), summary.created), (t("wecom.qr_existing"), summary.existing)],
    )
    if summary.links:
        console().print(table(None, ["code", t("wecom.qr_link")], sorted(summary.links.items())))
    _print_refused(summary.refused)
    print_advisors("wecom.without_userid", summary.without_userid)


@app.command("notify", help="help.wecom.notify")
def notify(
    campaign: CampaignOption,
    attach: Annotated[
        bool,
        typer.Option("--attach", help="help.wecom.notify.attach"),
    ] = False,
    webhook: Annotated[
        bool,
        typer.Option(
            "--webhook",
            help="help.wecom.notify.webhook",
        ),
    ] = False,
    chart: Annotated[
        bool,
        typer.Option(
            "--chart/--no-chart",
            help="help.wecom.notify.chart",
        ),
    ] = True,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="help.wecom.notify.dry_run")] = False,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    from reactivate.wecom.notify import plan, send

    eng = engine(db)
    outbox = plan(eng, campaign, attach=attach, webhook=webhook, chart=chart)
    if dry_run:
        emit(fmt, outbox.to_json(), lambda: _show_outbox(outbox))
        return
    with wecom_client(eng) as wecom:
        summary = send(wecom, outbox)
    emit(fmt, summary.to_json(), lambda: _show_sent(summary))


def _show_sent(summary: NotifySummary) -> None:
    pairs = [
        (t("wecom.notify_texts"), summary.texts),
        (t("wecom.notify_files"), summary.files),
        (t("wecom.notify_webhook"), t("wecom.yes") if summary.webhook else t("wecom.no")),
        (t("wecom.notify_chart"), t("wecom.yes") if summary.chart else t("wecom.no")),
    ]
    _print_counts(t("wecom.notify_title", campaign=summary.campaign), pairs)
    _print_notify_notes(summary.invalid, summary.without_userid, summary.missing_workbooks)


def _show_outbox(outbox: Outbox) -> None:
    out = console()
    for message in outbox.messages:
        out.print(Text(f"→ {message.advisor} ({message.userid})", style="bold"))
        out.print(message.text)
        if message.attachment is not None:
            out.print(t("wecom.notify_attachment", file=message.attachment.name))
    if outbox.markdown is not None:
        out.print(Text(f"→ {t('wecom.notify_robot')}", style="bold"))
        out.print(outbox.markdown)
    if outbox.chart is not None:
        size = f"{len(outbox.chart) / 1024:,.0f}"
        out.print(Text(f"→ {t('wecom.notify_robot_chart', size=size)}", style="bold"))
    _print_notify_notes([], outbox.without_userid, outbox.missing_workbooks)
    out.print(t("wecom.notify_dry_run"))


def _print_notify_notes(invalid: list[str], without: list[str], missing: list[str]) -> None:
    print_advisors("wecom.notify_invalid", invalid)
    print_advisors("wecom.without_userid", without)
    print_advisors("wecom.notify_missing", missing)


@app.command("transfers", help="help.wecom.transfers")
def transfers(
    campaign: CampaignOption, db: DbOption = None, fmt: FormatOption = Format.table
) -> None:
    from reactivate.wecom.transfers import poll

    eng = engine(db)
    with wecom_client(eng) as wecom:
        summary = poll(eng, wecom, campaign)
    emit(fmt, summary.to_json(), lambda: _show_transfers(summary))


def _show_transfers(summary: TransfersSummary) -> None:
    pairs = [(t(f"wecom.transfer_{k}"), v) for k, v in summary.counts.items()]
    _print_counts(t("wecom.transfers_title", campaign=summary.campaign), pairs)


def _print_counts(title: str, pairs: Sequence[tuple[str, object]]) -> None:
    """A WeCom call's outcome: what, and how many."""
    console().print(table(title, [t("wecom.col_what"), t("wecom.col_count")], pairs))


def _print_refused(refused: Mapping[str, int]) -> None:
    for code, errcode in refused.items():
        console().print(t("wecom.sync_refused", advisor=code, errcode=errcode))

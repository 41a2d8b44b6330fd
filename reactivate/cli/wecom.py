"""`reactivate wecom ...`: confirm WeCom adds, QR ways, notify advisors, customer transfers.

WeCom settings come from the environment only (REACTIVATE_WECOM_BASE_URL, _CORPID,
_SECRET, _AGENTID, _WEBHOOK_KEY); the secret and the robot key are never printed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from reactivate.cli.common import (
    CampaignOption,
    DbOption,
    Format,
    FormatOption,
    console,
    engine,
    print_json,
    table,
)
from reactivate.messages import t

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from reactivate.wecom.client import WeComClient
    from reactivate.wecom.notify import Outbox
    from reactivate.wecom.transfers import HandoverSummary

app = typer.Typer(
    help="WeCom: confirm who added advisors, QR ways, notify advisors, customer transfers.",
    no_args_is_help=True,
)


@contextmanager
def _wecom(eng: Engine) -> Iterator[WeComClient]:
    from reactivate.wecom.client import WeComClient, WeComSettings
    from reactivate.wecom.tokens import DatabaseTokenStore

    with WeComClient(WeComSettings.from_env(), DatabaseTokenStore(eng)) as client:
        yield client


def _counts(title: str, pairs: list[tuple[str, object]]) -> None:
    console().print(table(title, [t("wecom.col_what"), t("wecom.col_count")], pairs))


@app.command("sync")
def sync(campaign: CampaignOption, db: DbOption = None, fmt: FormatOption = Format.table) -> None:
    """Read the campaign's advisors' WeCom contacts; confirm adds by QR state or remark mobile.

    Writes a wecom_added event (source wecom) per confirmed client; relations older than the
    assignment are reported apart; relations gone since the last sync are recorded as lost.
    Running it again adds nothing.

    Example: reactivate wecom sync --campaign 2020h2-dormant
    """
    from reactivate.wecom.sync import sync as run

    eng = engine(db)
    with _wecom(eng) as wecom:
        summary = run(eng, wecom, campaign)
    if fmt is Format.json:
        print_json(summary.to_json())
        return
    data = summary.to_json()
    keys = ["advisors", "contacts", "matched", "preexisting", "events", "unmatched"]
    keys += ["ambiguous", "lost"]
    _counts(
        t("wecom.sync_title", campaign=campaign), [(t(f"wecom.sync_{k}"), data[k]) for k in keys]
    )
    out = console()
    for code, errcode in summary.refused.items():
        out.print(t("wecom.sync_refused", advisor=code, errcode=errcode))
    for code in summary.unlicensed:
        out.print(t("wecom.sync_unlicensed", advisor=code))
    if summary.without_userid:
        out.print(t("wecom.without_userid", advisors=", ".join(summary.without_userid)))
    for a in summary.ambiguities:
        out.print(
            t(
                "wecom.sync_ambiguity",
                advisor=a.advisor,
                external=a.external_userid,
                mobile=a.mobile,
                clients=a.clients,
            )
        )


@app.command("qr")
def qr(
    campaign: CampaignOption,
    per_client: Annotated[
        bool,
        typer.Option(
            "--per-client",
            help="One way per assigned client instead of one per advisor (quota: 500,000).",
        ),
    ] = False,
    remove: Annotated[
        bool,
        typer.Option("--remove", help="Delete the campaign's ways on WeCom (when it ends)."),
    ] = False,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Make each advisor's WeCom 「联系我」 QR way for the campaign; adds through it are confirmed.

    The way's state ties an add to the campaign (and client with --per-client); config_id and
    link are stored, and the advisor's link goes into their next workbook.

    Example: reactivate wecom qr --campaign 2020h2-dormant
    """
    from reactivate.wecom.contact_ways import create_ways, remove_ways

    if per_client and remove:
        raise typer.BadParameter(t("wecom.qr_remove_or_create"), param_hint="--remove")
    eng = engine(db)
    with _wecom(eng) as wecom:
        if remove:
            summary = remove_ways(eng, wecom, campaign)
        else:
            summary = create_ways(eng, wecom, campaign, per_client=per_client)
    if fmt is Format.json:
        print_json(summary.to_json())
        return
    if remove:
        pairs: list[tuple[str, object]] = [
            (t("wecom.qr_removed"), summary.removed),
            (t("wecom.qr_already_gone"), summary.already_gone),
        ]
        _counts(t("wecom.qr_title", campaign=campaign), pairs)
        return
    pairs = [(t("wecom.qr_created"), summary.created), (t("wecom.qr_existing"), summary.existing)]
    _counts(t("wecom.qr_title", campaign=campaign), pairs)
    out = console()
    if summary.links:
        out.print(table(None, ["code", t("wecom.qr_link")], sorted(summary.links.items())))
    for code, errcode in summary.refused.items():
        out.print(t("wecom.sync_refused", advisor=code, errcode=errcode))
    if summary.without_userid:
        out.print(t("wecom.without_userid", advisors=", ".join(summary.without_userid)))


@app.command("notify")
def notify(
    campaign: CampaignOption,
    attach: Annotated[
        bool,
        typer.Option("--attach", help="Also send each advisor their latest workbook as a file."),
    ] = False,
    webhook: Annotated[
        bool,
        typer.Option(
            "--webhook",
            help="Also post the managers' funnel to the group robot (REACTIVATE_WECOM_WEBHOOK_KEY).",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be sent; send nothing.")
    ] = False,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Send each advisor an app message: their clients, follow-ups now, their funnel so far.

    Example: reactivate wecom notify --campaign 2020h2-dormant --attach --webhook --dry-run
    """
    from reactivate.wecom.notify import plan, send

    eng = engine(db)
    outbox = plan(eng, campaign, attach=attach, webhook=webhook)
    if dry_run:
        _print_outbox(outbox, fmt)
        return
    with _wecom(eng) as wecom:
        summary = send(wecom, outbox)
    if fmt is Format.json:
        print_json(summary.to_json())
        return
    pairs: list[tuple[str, object]] = [
        (t("wecom.notify_texts"), summary.texts),
        (t("wecom.notify_files"), summary.files),
        (t("wecom.notify_webhook"), t("wecom.yes") if summary.webhook else t("wecom.no")),
    ]
    _counts(t("wecom.notify_title", campaign=campaign), pairs)
    _notify_notes(summary.invalid, summary.without_userid, summary.missing_workbooks)


@app.command("transfers")
def transfers(
    campaign: CampaignOption, db: DbOption = None, fmt: FormatOption = Format.table
) -> None:
    """Ask WeCom how the customer handovers of `reassign --wecom` went, and record it.

    Statuses: done, waiting (taken over automatically after 24 h), refused by the customer,
    over_limit (the colleague has too many customers), not_started (see the errcode).

    Example: reactivate wecom transfers --campaign 2020h2-dormant
    """
    from reactivate.wecom.transfers import poll

    eng = engine(db)
    with _wecom(eng) as wecom:
        summary = poll(eng, wecom, campaign)
    if fmt is Format.json:
        print_json(summary.to_json())
        return
    pairs: list[tuple[str, object]] = [
        (t(f"wecom.transfer_{k}"), v) for k, v in summary.counts.items()
    ]
    _counts(t("wecom.transfers_title", campaign=campaign), pairs)


def check_settings() -> None:
    """Fail early (ConfigError) when the WeCom environment is incomplete."""
    from reactivate.wecom.client import WeComSettings

    WeComSettings.from_env()


def hand_over(
    eng: Engine, campaign: str, from_code: str, *, employed: bool | None
) -> HandoverSummary:
    """For `reassign --wecom`: move the old advisor's WeCom customers to the new advisors."""
    from reactivate.wecom.transfers import hand_over as run

    with _wecom(eng) as wecom:
        return run(eng, wecom, campaign, from_code, employed=employed)


def print_handover(summary: HandoverSummary) -> None:
    """The handover's outcome under the reassignment table."""
    out = console()
    api = "resigned/transfer_customer" if summary.resigned else "transfer_customer"
    out.print(t("wecom.handover", customers=summary.customers, started=summary.started, api=api))
    for errcode, count in sorted(summary.failed.items()):
        out.print(t("wecom.handover_failed", errcode=errcode, count=count))
    if summary.without_userid:
        out.print(t("wecom.without_userid", advisors=", ".join(summary.without_userid)))


def _print_outbox(outbox: Outbox, fmt: Format) -> None:
    if fmt is Format.json:
        print_json(outbox.to_json())
        return
    out = console()
    for message in outbox.messages:
        out.print(Text(f"→ {message.advisor} ({message.userid})", style="bold"))
        out.print(message.text)
        if message.attachment is not None:
            out.print(t("wecom.notify_attachment", file=message.attachment.name))
    if outbox.markdown is not None:
        out.print(Text(f"→ {t('wecom.notify_robot')}", style="bold"))
        out.print(outbox.markdown)
    _notify_notes([], outbox.without_userid, outbox.missing_workbooks)
    out.print(t("wecom.notify_dry_run"))


def _notify_notes(invalid: list[str], without: list[str], missing: list[str]) -> None:
    out = console()
    if invalid:
        out.print(t("wecom.notify_invalid", advisors=", ".join(invalid)))
    if without:
        out.print(t("wecom.without_userid", advisors=", ".join(without)))
    if missing:
        out.print(t("wecom.notify_missing", advisors=", ".join(missing)))

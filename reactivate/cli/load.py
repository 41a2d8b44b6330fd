"""`reactivate load`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reactivate.cli.options import CampaignOption, DbOption, Format, FormatOption, engine
from reactivate.cli.output import (
    console,
    counts_table,
    print_checked,
    print_rejections,
    progress_bar,
    summary_on_refusal,
    table,
)
from reactivate.messages import t

if TYPE_CHECKING:
    from reactivate.load import LoadSummary


def load(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Dormant-account exports: .xlsx, .xls or .csv files (UTF-8 or GBK), or "
            "folders of them; all are one load.",
            show_default=False,
        ),
    ],
    campaign: CampaignOption,
    sheet: Annotated[
        str | None, typer.Option(help="Sheet to read. Default: the first sheet with data.")
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="HEADER=field for a column the aliases miss; fields: client_id, name, mobile, "
            "branch, branch_code, assets, last_trade_date, risk, opened_at, previous_advisor, status.",
        ),
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid", help="Load the good rows; write the rejected ones to a file."
        ),
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option(
            help="Where --skip-invalid writes rejects (a folder when loading several files). "
            "Default: <file>.rejects.csv beside each file."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and count; write nothing.")
    ] = False,
    allow_overlap: Annotated[
        bool,
        typer.Option("--allow-overlap", help="Also add clients already in another open campaign."),
    ] = False,
    pad_ids: Annotated[
        int | None,
        typer.Option(
            "--pad-ids",
            help="Pad ids of digits shorter than N with leading zeros first (ids Excel saved "
            "as numbers: 21792650 -> 0021792650).",
        ),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", help="Load even when it adds more new clients than half the campaign holds."
        ),
    ] = False,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Load dormant accounts from a core-system export into a campaign.

    Every row is validated first (ids as text, mobiles, dates, assets, risk); by default one
    bad row means nothing is written. Then the campaign's dormancy rule selects who joins.
    Several files (or a folder of them: branches' workbooks) are one load: one client
    appearing in two of them counts once, and nothing is written if any row is bad.
    Loading the same file again changes nothing.

    Example: reactivate load data/dormant_accounts.xlsx --campaign 2020h2-dormant
    """
    from reactivate.load import LoadOptions, load_accounts

    options = LoadOptions(
        sheet=sheet,
        mapping=map_ or [],
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        allow_overlap=allow_overlap,
        rejects_path=rejects,
        pad_ids=pad_ids,
        confirm_new=yes,
    )
    with (
        progress_bar(
            t("progress.reading", file=", ".join(file.name for file in files)),
            enabled=fmt is Format.table,
        ) as bar,
        summary_on_refusal(fmt),
    ):
        summary = load_accounts(
            engine(db), campaign, files, options, on_table=bar.on_table, progress=bar.advance
        )
    print_checked(fmt, summary, lambda: _show_load(summary))


def _show_load(summary: LoadSummary) -> None:
    out = console()
    out.print(
        counts_table(
            t("summary.load", file=summary.file, campaign=summary.campaign), summary.counts()
        )
    )
    if summary.excluded_reasons:
        reasons = sorted(summary.excluded_reasons.items())
        headers = [t("label.excluded"), t("label.count")]
        out.print(table(None, headers, [[t(f"exclusion.{k}"), v] for k, v in reasons]))
    if summary.unknown_branches:
        names = ", ".join(sorted(summary.unknown_branches))
        count = sum(summary.unknown_branches.values())
        out.print(t("summary.unknown_branches", names=names, count=count))
    if summary.overlap:
        skipped = summary.excluded_reasons.get("overlap") is not None
        action = t("summary.overlap_skipped" if skipped else "summary.overlap_allowed")
        out.print(t("summary.overlap", count=summary.overlap, action=action))
    if summary.dnc_members:
        out.print(t("summary.dnc_members", count=summary.dnc_members))
    print_rejections(summary.errors)
    if summary.rejects_path:
        out.print(t("summary.rejects_written", path=summary.rejects_path))
    if summary.dry_run:
        out.print(t("summary.dry_run"))

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
            help="help.load.files",
            show_default=False,
        ),
    ],
    campaign: CampaignOption,
    sheet: Annotated[str | None, typer.Option(help="help.load.sheet")] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="help.load.map",
        ),
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option("--skip-invalid", help="help.load.skip_invalid"),
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option(help="help.load.rejects"),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="help.load.dry_run")] = False,
    allow_overlap: Annotated[
        bool,
        typer.Option("--allow-overlap", help="help.load.allow_overlap"),
    ] = False,
    pad_ids: Annotated[
        int | None,
        typer.Option(
            "--pad-ids",
            help="help.load.pad_ids",
        ),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option("--yes", help="help.load.yes"),
    ] = False,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
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
            t("progress.reading", file=t("list.separator").join(file.name for file in files)),
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
        names = t("list.separator").join(sorted(summary.unknown_branches))
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

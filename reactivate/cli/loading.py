"""`reactivate load` and `reactivate dnc ...`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reactivate.cli.common import (
    CampaignOption,
    DbOption,
    Format,
    FormatOption,
    console,
    engine,
    print_json,
    print_rejections,
    progress_bar,
    refuse,
    table,
)
from reactivate.messages import t

if TYPE_CHECKING:
    from reactivate.load import LoadSummary

dnc_app = typer.Typer(help="The firm-wide do-not-call list.", no_args_is_help=True)


def load(
    file: Annotated[
        Path, typer.Argument(help="Dormant-account export: .xlsx, .xls or .csv (UTF-8 or GBK).")
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
        typer.Option(help="Where --skip-invalid writes rejects. Default: <file>.rejects.csv."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and count; write nothing.")
    ] = False,
    allow_overlap: Annotated[
        bool,
        typer.Option("--allow-overlap", help="Also add clients already in another open campaign."),
    ] = False,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Load dormant accounts from a core-system export into a campaign.

    Every row is validated first (ids as text, mobiles, dates, assets, risk); by default one
    bad row means nothing is written. Then the campaign's dormancy rule selects who joins.
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
    )
    with progress_bar(t("progress.reading", file=file.name), enabled=fmt is Format.table) as bar:
        summary = load_accounts(
            engine(db),
            campaign,
            file,
            options,
            on_table=lambda tb: bar.set_total(tb.total_rows),
            progress=bar.advance,
        )
    if fmt is Format.json:
        print_json(summary.to_json())
    else:
        _render_load(summary)
    if summary.refused:
        refuse(summary.errors)


def _render_load(summary: LoadSummary) -> None:
    out = console()
    counts = summary.counts()
    out.print(
        table(
            t("summary.load", file=summary.file, campaign=summary.campaign),
            [t(f"label.{key}") for key in counts],
            [list(counts.values())],
        )
    )
    if summary.excluded_reasons:
        out.print(
            table(
                None,
                [t("label.excluded"), t("label.count")],
                [[t(f"exclusion.{k}"), v] for k, v in sorted(summary.excluded_reasons.items())],
            )
        )
    if summary.unknown_branches:
        names = ", ".join(sorted(summary.unknown_branches))
        out.print(
            t("summary.unknown_branches", names=names, count=sum(summary.unknown_branches.values()))
        )
    if summary.overlap:
        action = t(
            "summary.overlap_allowed"
            if summary.excluded_reasons.get("overlap") is None
            else "summary.overlap_skipped"
        )
        out.print(t("summary.overlap", count=summary.overlap, action=action))
    if summary.dnc_members:
        out.print(t("summary.dnc_members", count=summary.dnc_members))
    print_rejections(summary.errors)
    if summary.rejects_path:
        out.print(t("summary.rejects_written", path=summary.rejects_path))
    if summary.dry_run:
        out.print(t("summary.dry_run"))


@dnc_app.command("load")
def dnc_load(
    file: Annotated[
        Path, typer.Argument(help="File of client ids and/or mobiles (客户号, 手机号, 原因).")
    ],
    sheet: Annotated[
        str | None, typer.Option(help="Sheet to read. Default: the first with data.")
    ] = None,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Add clients to the firm-wide do-not-call list; members of open campaigns are flagged.

    Example: reactivate dnc load data/do_not_call.csv
    """
    from reactivate.donotcall import load_dnc

    summary = load_dnc(engine(db), file, sheet=sheet)
    if fmt is Format.json:
        print_json(summary.counts())
        return
    counts = summary.counts()
    console().print(
        table(t("summary.dnc", file=summary.file), list(counts), [list(counts.values())])
    )

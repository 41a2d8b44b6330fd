"""`reactivate assign`, `reactivate reassign` and `reactivate assignments export`."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
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
    progress_bar,
    table,
)
from reactivate.messages import t

if TYPE_CHECKING:
    from reactivate.assign import AssignSummary

app = typer.Typer(help="The assignment list: who has whom.", no_args_is_help=True)

OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="Folder for the advisors' workbooks (one subfolder per branch). Default: out/<campaign>/.",
    ),
]
NoWorkbooksOption = Annotated[
    bool, typer.Option("--no-workbooks", help="Record the split without writing workbooks.")
]


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
    _render(summary, fmt)


def reassign(
    campaign: CampaignOption,
    from_: Annotated[
        str, typer.Option("--from", help="Code of the advisor whose clients move (e.g. who left).")
    ],
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Code of the colleague who takes them all. Default: spread over the branch.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the moves; write nothing.")
    ] = False,
    out: OutOption = None,
    no_workbooks: NoWorkbooksOption = False,
    wecom: Annotated[
        bool,
        typer.Option(
            "--wecom",
            help="Also hand the advisor's WeCom customers of this campaign to the new advisors.",
        ),
    ] = False,
    employed: Annotated[
        bool,
        typer.Option(
            "--employed",
            help="With --wecom: the advisor is still employed (在职继承) even if the roster says left.",
        ),
    ] = False,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Move an advisor's clients to a colleague, or spread them over the branch by the same rules.

    Their funnel history stays; the event log records the move; each new advisor gets a
    fresh workbook (older workbooks stay valid; rows for moved clients become foreign).

    Example: reactivate reassign --campaign 2020h2-dormant --from A0010 --to A0011
    """
    from reactivate.assign import reassign as run
    from reactivate.cli import wecom as wecom_cli

    if wecom:
        wecom_cli.check_settings()  # before anything moves
    with progress_bar(t("progress.workbooks"), enabled=fmt is Format.table) as bar:
        summary = run(
            engine(db),
            campaign,
            from_,
            to,
            out_dir=out,
            workbooks=not no_workbooks,
            dry_run=dry_run,
            progress=bar.advance,
        )
    handover = None
    if wecom and not dry_run:
        handover = wecom_cli.hand_over(engine(db), campaign, from_, employed=employed or None)
    if handover is not None and fmt is Format.json:
        print_json({**summary.to_json(), "wecom": handover.to_json()})
        return
    _render(summary, fmt)
    if handover is not None:
        wecom_cli.print_handover(handover)


def _render(summary: AssignSummary, fmt: Format) -> None:
    if fmt is Format.json:
        print_json(summary.to_json())
        return
    out = console()
    out.print(
        table(
            t("summary.assign", campaign=summary.campaign),
            [
                "code",
                t("label.name"),
                t("label.branch"),
                t("label.clients"),
                t("label.new"),
                t("label.assets"),
                t("label.median_assets"),
            ],
            [
                [b.code, b.name, b.branch, b.clients, b.new, b.assets, b.median_assets]
                for b in summary.advisors
            ],
        )
    )
    fair = summary.fairness()
    if fair:
        out.print(t("summary.fairness", **{k: f"{v:,.0f}" for k, v in fair.items()}))
    out.print(
        t(
            "summary.assigned",
            assigned=summary.assigned,
            kept=summary.kept,
            control=summary.control,
            unassigned=summary.unassigned,
        )
    )
    for branch, count in sorted(summary.unassigned_by_branch.items()):
        out.print(t("summary.unassigned_branch", branch=branch, count=count))
    if summary.workbooks:
        out.print(
            t(
                "summary.workbooks",
                count=len(summary.workbooks),
                folder=summary.workbooks[0].parent.parent,
            )
        )
    out.print(t("summary.method", method=summary.method))
    if summary.dry_run:
        out.print(t("summary.dry_run"))


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    json = "json"


@app.command("export")
def export(
    campaign: CampaignOption,
    fmt: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="csv (UTF-8 with BOM), xlsx or json.")
    ] = ExportFormat.csv,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="File to write. Default: standard output (csv/json)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """One row per campaign member: client, advisor, branch, assigned at, control, current stage.

    Mobile and name are masked. Unassigned clients have an empty advisor.

    Example: reactivate assignments export --campaign 2020h2-dormant --format csv --out who.csv
    """
    from reactivate.exports import assignment_rows
    from reactivate.render.tables import write_rows

    rows = assignment_rows(engine(db), campaign)
    if fmt is ExportFormat.xlsx and out is None:
        raise typer.BadParameter(t("error.xlsx_needs_out"), param_hint="--out")
    written = write_rows(rows, fmt.value, out)
    if out is not None:
        console().print(t("summary.exported", count=written, path=out))

"""`reactivate results upload|undo|correct` and `reactivate followups`."""

from __future__ import annotations

import csv
import sys
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
    print_rejections,
    progress_bar,
    refuse,
    table,
)
from reactivate.messages import t

if TYPE_CHECKING:
    from reactivate.followups import FollowupReport
    from reactivate.upload.core import UploadSummary, VoidSummary

app = typer.Typer(
    help="Advisors' results: upload filled sheets, undo an upload, correct a client.",
    no_args_is_help=True,
)


@app.command("upload")
def upload(
    files: Annotated[
        list[Path],
        typer.Argument(help="Filled workbooks or results sheets (.xlsx, .xls, .csv), or folders."),
    ],
    campaign: CampaignOption,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid", help="Apply the good rows; write rejects to <file>.rejects.csv."
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and count; write nothing.")
    ] = False,
    allow_foreign: Annotated[
        bool,
        typer.Option(
            "--allow-foreign",
            help="Accept rows for clients assigned to another advisor (counted as foreign).",
        ),
    ] = False,
    advisor: Annotated[
        str | None,
        typer.Option(
            "--advisor",
            help="Advisor code for a plain sheet without a 客户经理/工号 column.",
        ),
    ] = None,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Upload advisors' filled sheets: every row is checked, then all of it applies or none.

    Uploading the same file again, or the same facts in another file, adds nothing.

    Example: reactivate results upload out/2020h2-dormant/ --campaign 2020h2-dormant
    """
    from reactivate.upload.core import UploadOptions
    from reactivate.upload.core import upload as run

    options = UploadOptions(
        skip_invalid=skip_invalid, dry_run=dry_run, allow_foreign=allow_foreign, advisor=advisor
    )
    with progress_bar(t("progress.upload_reading"), enabled=fmt is Format.table) as bar:

        def show(doing: str, done: int, total: int) -> None:
            bar.show(t(f"progress.upload_{doing}"), done, total)

        summary = run(engine(db), campaign, files, options, progress=show)
    if fmt is Format.json:
        print_json(summary.to_json())
    else:
        _render_upload(summary)
    if summary.refused:
        refuse(summary.errors)


def _render_upload(summary: UploadSummary) -> None:
    out = console()
    totals = summary.totals()
    out.print(
        table(
            t("summary.results", campaign=summary.campaign),
            [t(f"label.{key}") for key in totals],
            [list(totals.values())],
        )
    )
    for item in summary.files:
        if item.status == "skipped":
            out.print(t("summary.same_file", file=item.file, id=item.same_as))
    print_rejections(summary.errors)
    for item in summary.files:
        if item.rejects_path:
            out.print(t("summary.rejects_written", path=item.rejects_path))
    if summary.dry_run:
        out.print(t("summary.dry_run"))


@app.command("undo")
def undo(
    import_id: Annotated[
        int, typer.Argument(help="The upload's import id (reactivate imports list).")
    ],
    reason: Annotated[
        str | None,
        typer.Option(help="Why, kept with the void events. Default: 'undo of import N'."),
    ] = None,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Void every event one upload wrote (nothing is deleted); an upload is undone once.

    Example: reactivate results undo 42 --reason "uploaded the wrong advisor's sheet"
    """
    from reactivate.upload.core import undo as run

    _render_void(run(engine(db), import_id, reason), fmt)


@app.command("correct")
def correct(
    client: Annotated[str, typer.Argument(help="Client id (客户号).")],
    campaign: CampaignOption,
    stage: Annotated[
        str,
        typer.Option(
            help="Void this stage's evidence and every later one: called, reached, "
            "wecom_added, pushed, converted."
        ),
    ],
    reason: Annotated[str, typer.Option(help="Why; kept with the void events.")],
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Void one client's evidence from a stage on, e.g. a call logged against the wrong client.

    Example: reactivate results correct 0010000001 -c 2020h2-dormant --stage reached
    --reason "logged against the wrong client"
    """
    from reactivate.upload.core import correct as run

    _render_void(run(engine(db), campaign, client, stage, reason), fmt)


def _render_void(summary: VoidSummary, fmt: Format) -> None:
    if fmt is Format.json:
        print_json(summary.to_json())
    elif summary.import_id is not None:
        console().print(
            t("summary.undo", id=summary.import_id, voided=summary.voided, clients=summary.clients)
        )
    else:
        console().print(
            t(
                "summary.correct",
                client_id=summary.client_id,
                voided=summary.voided,
                stage=summary.stage,
            )
        )


class FollowupFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def followups(
    campaign: CampaignOption,
    advisor: Annotated[
        str | None,
        typer.Option(
            "--advisor", help="Only this advisor's clients, with names and mobiles in full."
        ),
    ] = None,
    fmt: Annotated[
        FollowupFormat,
        typer.Option("--format", "-f", help="table for people, json or csv for other tools."),
    ] = FollowupFormat.table,
    workbooks: Annotated[
        Path | None,
        typer.Option(
            "--workbooks",
            help="Also write one workbook per advisor of their follow-up clients into this folder.",
        ),
    ] = None,
    idle_days: Annotated[
        int, typer.Option("--idle-days", help="List advisors with no upload for this many days.")
    ] = 3,
    db: DbOption = None,
) -> None:
    """Who to call next and why: never called, retries due, callbacks due, reached but not
    on WeCom, on WeCom but nothing pushed. Never control-group or do-not-call clients.

    Example: reactivate followups --campaign 2020h2-dormant --advisor A001
    """
    from reactivate.followups import followups as run

    report = run(engine(db), campaign, advisor=advisor, idle_days=idle_days, workbooks=workbooks)
    if fmt is FollowupFormat.json:
        print_json(report.to_json())
    elif fmt is FollowupFormat.csv:
        _render_csv(report)
    else:
        _render_followups(report)


_COLUMNS = (
    "client_id",
    "advisor",
    "name",
    "mobile",
    "reason_text",
    "attempts",
    "last_result",
    "last_call_at",
    "due_at",
)


def _render_csv(report: FollowupReport) -> None:
    data = report.to_json()
    writer = csv.writer(sys.stdout)
    writer.writerow([*_COLUMNS[:4], "reason", *_COLUMNS[4:]])
    for item in data["followups"]:
        writer.writerow(
            [
                *(item[c] for c in _COLUMNS[:4]),
                item["reason"],
                *("" if item[c] is None else item[c] for c in _COLUMNS[4:]),
            ]
        )


def _render_followups(report: FollowupReport) -> None:
    data = report.to_json()
    out = console()
    if not data["followups"]:
        out.print(t("summary.no_followups", campaign=report.campaign))
    else:
        # The last result is in json/csv; the table keeps to what fits 100 columns.
        shown = [c for c in _COLUMNS if c != "last_result"]
        labels = ["client", "advisor", "name", "mobile", "reason", "attempts", "last_call", "due"]
        listing = table(
            t("summary.followups", campaign=report.campaign, count=data["count"]),
            [t(f"label.{k}") for k in labels],
            ([item[c] for c in shown] for item in data["followups"]),
        )
        for index in (0, 1, 3, 6, 7):  # ids, codes, mobiles and times are read whole or not at all
            listing.columns[index].no_wrap = True
        out.print(listing)
    if data["idle_advisors"]:
        out.print(t("summary.idle", days=report.idle_days))
        out.print(
            table(
                None,
                [t("label.advisor"), t("label.name"), t("label.last_upload"), t("label.idle_days")],
                (
                    [a["code"], a["name"], a["last_upload"] or "", a["days"]]
                    for a in data["idle_advisors"]
                ),
            )
        )
    if report.workbooks:
        out.print(
            t(
                "summary.followup_workbooks",
                count=len(report.workbooks),
                dir=Path(report.workbooks[0]).parent.parent,
            )
        )

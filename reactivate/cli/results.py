"""`reactivate results upload | undo | correct`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reactivate.cli.options import CampaignOption, DbOption, Format, FormatOption, engine
from reactivate.cli.output import (
    console,
    counts_table,
    emit,
    print_checked,
    print_rejections,
    progress_bar,
)
from reactivate.messages import t

if TYPE_CHECKING:
    from reactivate.upload import UploadSummary, VoidSummary

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
            help=(
                "Accept rows for clients assigned to another advisor (counted as foreign):"
                " a plain sheet's, or a workbook's clients moved since it was issued. A workbook"
                " naming clients its stamp did not issue is refused all the same."
            ),
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
    from reactivate.upload import UploadOptions
    from reactivate.upload import upload as run

    options = UploadOptions(
        skip_invalid=skip_invalid, dry_run=dry_run, allow_foreign=allow_foreign, advisor=advisor
    )
    with progress_bar(t("progress.upload_reading"), enabled=fmt is Format.table) as bar:

        def show(doing: str, done: int, total: int) -> None:
            bar.show(t(f"progress.upload_{doing}"), done, total)

        summary = run(engine(db), campaign, files, options, progress=show)
    print_checked(fmt, summary, lambda: _show_upload(summary))


def _show_upload(summary: UploadSummary) -> None:
    out = console()
    out.print(counts_table(t("summary.results", campaign=summary.campaign), summary.totals()))
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
    from reactivate.upload import undo as run

    summary = run(engine(db), import_id, reason)
    emit(fmt, summary.to_json(), lambda: _show_void(summary))


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
    from reactivate.upload import correct as run

    summary = run(engine(db), campaign, client, stage, reason)
    emit(fmt, summary.to_json(), lambda: _show_void(summary))


def _show_void(summary: VoidSummary) -> None:
    if summary.import_id is not None:
        line = t(
            "summary.undo", id=summary.import_id, voided=summary.voided, clients=summary.clients
        )
    else:
        line = t(
            "summary.correct",
            client_id=summary.client_id,
            voided=summary.voided,
            stage=summary.stage,
        )
    console().print(line)

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
    help="help.results",
    no_args_is_help=True,
)


@app.command("upload", help="help.results.upload")
def upload(
    files: Annotated[
        list[Path],
        typer.Argument(help="help.results.upload.files"),
    ],
    campaign: CampaignOption,
    skip_invalid: Annotated[
        bool,
        typer.Option("--skip-invalid", help="help.results.upload.skip_invalid"),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="help.results.upload.dry_run")] = False,
    allow_foreign: Annotated[
        bool,
        typer.Option(
            "--allow-foreign",
            help="help.results.upload.allow_foreign",
        ),
    ] = False,
    advisor: Annotated[
        str | None,
        typer.Option(
            "--advisor",
            help="help.results.upload.advisor",
        ),
    ] = None,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
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


@app.command("undo", help="help.results.undo")
def undo(
    import_id: Annotated[int, typer.Argument(help="help.results.undo.import_id")],
    reason: Annotated[
        str | None,
        typer.Option(help="help.results.undo.reason"),
    ] = None,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    from reactivate.upload import undo as run

    summary = run(engine(db), import_id, reason)
    emit(fmt, summary.to_json(), lambda: _show_void(summary))


@app.command("correct", help="help.results.correct")
def correct(
    client: Annotated[str, typer.Argument(help="help.results.correct.client")],
    campaign: CampaignOption,
    stage: Annotated[
        str,
        typer.Option(help="help.results.correct.stage"),
    ],
    reason: Annotated[str, typer.Option(help="help.results.correct.reason")],
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
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

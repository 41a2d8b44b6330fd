"""`reactivate demo`."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from reactivate.cli.options import engine
from reactivate.cli.output import assigned_line, console, counts_table
from reactivate.messages import t

if TYPE_CHECKING:
    from reactivate.demo.run import DemoResult


def demo(
    out: Annotated[Path, typer.Option("--out", help="help.demo.out")] = Path("out/demo"),
    db: Annotated[
        str | None,
        typer.Option("--db", help="help.demo.db"),
    ] = None,
) -> None:
    from reactivate.demo.run import discarded_on_failure, new_database_file, run_demo

    if db is None:
        shutil.rmtree(out, ignore_errors=True)  # our own folder from an earlier demo
        out.mkdir(parents=True)
        db = str(out / "demo.db")
    screen = console()
    with discarded_on_failure(new_database_file(db)):
        result = run_demo(
            engine(db, create=True),
            out,
            step=lambda name: screen.print(Text(f"» {name}", style="bold")),
        )
    _show_demo(result, out, db)


def _show_demo(result: DemoResult, out: Path, db: str) -> None:
    screen = console()
    # the sample ships inside the package: its name says enough, its install path nothing
    loaded = t("summary.load", file=Path(result.load.file).name, campaign=result.load.campaign)
    screen.print(counts_table(loaded, result.load.counts()))
    screen.print(assigned_line(result.assignment))
    workbooks = out / "workbooks"
    screen.print(
        t(
            "demo.simulated",
            rows=result.simulated_rows,
            count=len(result.workbooks),
            folder=workbooks,
        )
    )
    if result.upload is not None:
        screen.print(counts_table(t("demo.uploaded"), result.upload.totals()))
    if result.activity is not None:
        screen.print(t("demo.activity", **result.activity.counts()))
    if result.report is not None:
        from reactivate.render.report import to_table

        screen.print(to_table(result.report, width=screen.width))
    screen.print(t("demo.next", db=db), soft_wrap=True)  # a command line to copy: one line

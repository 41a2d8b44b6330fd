"""`reactivate demo`."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from reactivate.cli.common import console, engine, table
from reactivate.messages import t


def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the demo's workbooks and files.")
    ] = Path("out/demo"),
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Database for the demo (must be fresh). Default: <out>/demo.db, recreated."
        ),
    ] = None,
) -> None:
    """Run the whole campaign on the sample data in data/: load, assign, simulated calls, upload, report.

    The advisors' work is a seeded simulation, dated inside the campaign (2020-07-01 to
    2020-12-31); the report lands near the source's 49% reached, 14% WeCom, 6.4% converted.

    Example: reactivate demo --out out/demo
    """
    from reactivate.demo.run import run_demo

    if db is None:
        shutil.rmtree(out, ignore_errors=True)  # our own folder from an earlier demo
        out.mkdir(parents=True)
        db = str(out / "demo.db")
    screen = console()
    result = run_demo(
        engine(db), out, step=lambda name: screen.print(Text(f"» {name}", style="bold"))
    )
    counts = result.load.counts()
    screen.print(
        table(
            t("summary.load", file=result.load.file, campaign=result.load.campaign),
            list(counts),
            [list(counts.values())],
        )
    )
    a = result.assignment
    screen.print(
        t(
            "summary.assigned",
            assigned=a.assigned,
            kept=a.kept,
            control=a.control,
            unassigned=a.unassigned,
        )
    )
    screen.print(
        t(
            "demo.simulated",
            rows=result.simulated_rows,
            count=len(result.workbooks),
            folder=out / "workbooks",
        )
    )
    if result.upload is not None:
        totals = result.upload.totals()
        screen.print(table(t("demo.uploaded"), list(totals), [list(totals.values())]))
    if result.activity is not None:
        screen.print(t("demo.activity", **result.activity.counts()))
    if result.report is not None:
        from reactivate.render.report import to_table

        screen.print(to_table(result.report, width=screen.width))
    screen.print(t("demo.next", db=db))

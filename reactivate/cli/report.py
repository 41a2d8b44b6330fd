"""`reactivate report`."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reactivate.cli.options import CampaignOption, DbOption, engine
from reactivate.cli.output import console
from reactivate.messages import t

if TYPE_CHECKING:
    from reactivate.report import Report


class ReportFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    xlsx = "xlsx"


class By(StrEnum):
    advisor = "advisor"
    branch = "branch"
    week = "week"
    risk = "risk"
    asset_band = "asset_band"
    attempt = "attempt"


def _date(value: str | None, flag: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(t("error.not_a_date", value=value), param_hint=flag) from None


def report(
    campaign: CampaignOption,
    by: Annotated[
        By | None,
        typer.Option(help="help.report.by"),
    ] = None,
    rank_by: Annotated[
        str | None,
        typer.Option(help="help.report.rank_by"),
    ] = None,
    dropped: Annotated[
        str | None,
        typer.Option(help="help.report.dropped"),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="help.report.since"),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="help.report.until"),
    ] = None,
    stale_days: Annotated[int, typer.Option(help="help.report.stale_days")] = 7,
    fmt: Annotated[
        ReportFormat,
        typer.Option(
            "--format",
            "-f",
            help="help.report.fmt",
        ),
    ] = ReportFormat.table,
    out: Annotated[Path | None, typer.Option(help="help.report.out")] = None,
    db: DbOption = None,
) -> None:
    from reactivate.report import ReportOptions, build_report

    if fmt is ReportFormat.xlsx and out is None:
        raise typer.BadParameter(t("report.out_needed"), param_hint="--out")
    chosen = by.value if by else ("advisor" if fmt is ReportFormat.markdown else None)
    options = ReportOptions(
        by=chosen,
        rank_by=rank_by,
        dropped=dropped,
        since=_date(since, "'--since'"),
        until=_date(until, "'--until'"),
        stale_days=stale_days,
    )
    _write(build_report(engine(db), campaign, options), fmt, out)


def _write(result: Report, fmt: ReportFormat, out: Path | None) -> None:
    """The report in `fmt`, to stdout or to `out` (said, except for a table)."""
    from reactivate.render import report as render

    if fmt is ReportFormat.table:
        _write_table(result, out)
        return
    if fmt is ReportFormat.xlsx:
        assert out is not None  # the command refuses xlsx without --out
        render.write_xlsx(result, out)
    else:
        body = {
            ReportFormat.json: render.to_json,
            ReportFormat.csv: render.to_csv,
            ReportFormat.markdown: render.to_markdown,
        }[fmt](result)
        if out is None:
            typer.echo(body, nl=not body.endswith("\n"))
            return
        out.write_text(body, encoding="utf-8", newline="")
    console().print(t("report.written", path=out))


def _write_table(result: Report, out: Path | None) -> None:
    from rich.console import Console

    from reactivate.render.report import to_table

    if out is None:
        screen = console()
        screen.print(to_table(result, width=screen.width))
        return
    with out.open("w", encoding="utf-8") as stream:
        Console(file=stream, width=console().width, no_color=True, markup=False).print(
            to_table(result)
        )

"""`reactivate report`."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reactivate.cli.options import CampaignOption, DbOption, reader
from reactivate.cli.output import console
from reactivate.files import text_written_whole, written_whole
from reactivate.messages import t

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from reactivate.db.reads import SQLiteEngine
    from reactivate.report import Report, ReportOptions


class ReportFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    xlsx = "xlsx"
    html = "html"
    png = "png"
    svg = "svg"
    chart = "chart"


#: formats that are files, never printed to a terminal
NEEDS_OUT = (ReportFormat.xlsx, ReportFormat.png)


class By(StrEnum):
    advisor = "advisor"
    branch = "branch"
    week = "week"
    cohort = "cohort"
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
        typer.Option(help=("help.report.by")),
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
    out: Annotated[
        Path | None,
        typer.Option(help="help.report.out"),
    ] = None,
    wide: Annotated[
        bool,
        typer.Option("--wide", help="help.report.wide"),
    ] = False,
    db: DbOption = None,
) -> None:
    from reactivate.report import ReportOptions

    if fmt in NEEDS_OUT and out is None:
        raise typer.BadParameter(t("report.out_needed_for", format=fmt.value), param_hint="--out")
    chosen = by.value if by else ("advisor" if fmt is ReportFormat.markdown else None)
    options = ReportOptions(
        by=chosen,
        rank_by=rank_by,
        dropped=dropped,
        since=_date(since, "'--since'"),
        until=_date(until, "'--until'"),
        stale_days=stale_days,
    )
    write_report(reader(db), campaign, options, fmt, out, wide=wide)


def write_report(
    engine: Engine | SQLiteEngine,
    slug: str,
    options: ReportOptions,
    fmt: ReportFormat,
    out: Path | None,
    *,
    wide: bool = False,
) -> None:
    """The report of `slug` in `fmt`, to stdout or `out`, as the command writes it: a
    `--dropped` list as much of it as `fmt` shows, CSV and JSON as they are read."""
    from dataclasses import replace

    from reactivate.report import build_report, open_report

    options = replace(options, dropped_shown=_dropped_shown(fmt))
    if fmt in STREAMED:  # the whole `--dropped` list, written as it is read
        with open_report(engine, slug, options) as streamed:
            _write(streamed, fmt, out, wide=wide)
        return
    _write(build_report(engine, slug, options), fmt, out, wide=wide)


#: formats written as the report is read: a `--dropped` list may be millions of clients
STREAMED = (ReportFormat.csv, ReportFormat.json)


def _dropped_shown(fmt: ReportFormat) -> int | None:
    """How many of a `--dropped` list the report reads as clients in `fmt`: a table or
    a picture shows the first few; CSV and JSON take the whole list as text; the
    workbook and the HTML page list every client."""
    from reactivate.render.report import DROPPED_SHOWN

    if fmt in STREAMED:
        return 0
    if fmt in (ReportFormat.xlsx, ReportFormat.html):
        return None
    return DROPPED_SHOWN


def _write(result: Report, fmt: ReportFormat, out: Path | None, *, wide: bool = False) -> None:
    """The report in `fmt`, to stdout or to `out` (said, except for a table)."""
    from reactivate.render import report as render

    if fmt in (ReportFormat.table, ReportFormat.chart):
        _write_table(result, out, wide=wide, chart=fmt is ReportFormat.chart)
        return
    if fmt is ReportFormat.xlsx:
        assert out is not None  # the command refuses xlsx without --out
        render.write_xlsx(result, out)
    elif fmt is ReportFormat.png:
        from reactivate.render.chart import to_png

        assert out is not None  # the command refuses png without --out
        picture = to_png(result)
        with written_whole(out) as temporary:
            temporary.write_bytes(picture)
    elif fmt in STREAMED:
        write = render.write_csv if fmt is ReportFormat.csv else render.write_json
        if out is None:
            stream = _Echoed()
            write(result, stream)
            if not stream.ended:  # as `echo` ends a text without a newline
                typer.echo("")
            return
        # a list of millions of clients: never left half-written if the command stops
        with text_written_whole(out) as written:
            write(result, written)
    else:
        body = _text(result, fmt)
        if out is None:
            typer.echo(body, nl=not body.endswith("\n"))
            return
        with text_written_whole(out) as written:
            written.write(body)
    console().print(t("report.written", path=out))


class _Echoed:
    """A text stream to standard output through `typer.echo`, as the other formats print."""

    ended = True

    def write(self, text: str) -> int:
        if text:
            typer.echo(text, nl=False)
            self.ended = text.endswith("\n")
        return len(text)


def _text(result: Report, fmt: ReportFormat) -> str:
    from reactivate.render import report as render

    if fmt is ReportFormat.html:
        from reactivate.render.html import to_html

        return to_html(result)
    if fmt is ReportFormat.svg:
        from reactivate.render.chart import to_svg

        return to_svg(result)
    return render.to_markdown(result)


def _write_table(result: Report, out: Path | None, *, wide: bool, chart: bool = False) -> None:
    from rich.console import Console

    from reactivate.render.report import to_table

    screen = console()
    if chart:
        from reactivate.render.chart import to_terminal

        if out is None:
            screen.print(to_terminal(result, width=screen.width))
        else:
            with text_written_whole(out) as stream:
                Console(file=stream, width=screen.width, no_color=True, markup=False).print(
                    to_terminal(result, width=screen.width)
                )
        return
    if out is None:
        if wide:  # as wide as the table needs; the terminal wraps what it cannot show
            screen = Console(width=max(screen.width, 400), highlight=False, markup=False)
            screen.print(to_table(result, width=screen.width, wide=True), crop=False)
        else:
            screen.print(to_table(result, width=screen.width))
        return
    with text_written_whole(out) as stream:
        Console(file=stream, width=screen.width, no_color=True, markup=False).print(
            to_table(result, width=screen.width, wide=wide)
        )

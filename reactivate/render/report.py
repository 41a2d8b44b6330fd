"""A `Report` as a rich table, JSON, CSV, WeCom-sized markdown or an xlsx workbook.

Rendering never queries: everything comes from the `Report` the use case built. Client
personal data reaches these functions already masked.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from rich.console import Group as RichGroup
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from reactivate.files import written_whole
from reactivate.messages import has, label, t
from reactivate.privacy import SAFE_XLSX, csv_cell
from reactivate.render.tables import column_labels
from reactivate.report.model import DROPPED_KEYS, Group, Report, StageFigures
from reactivate.report.timeline import Timeline
from reactivate.sheets import layout

#: WeCom rejects a markdown message longer than this many bytes (UTF-8).
MARKDOWN_LIMIT = 4096
BAR_WIDTH = 12
DROPPED_SHOWN = 50
#: the key of the group of clients without a value to group by (no branch, no risk)
UNKNOWN_KEY = "unknown"


class Writable(Protocol):
    """Where a report's text goes: a file, a buffer, the terminal."""

    def write(self, text: str, /) -> int: ...


def stage_label(stage: str) -> str:
    return t(f"report.stage.{stage}")


def pct(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{100 * value:.{digits}f}%"


def interval_text(ci: Sequence[float] | None) -> str:
    return "" if not ci else f"{100 * ci[0]:.1f}–{100 * ci[1]:.1f}%"


def _days(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _style(figures: StageFigures) -> str:
    if figures.met is None:
        return ""
    return "green" if figures.met else "red"


def _bar(share: float | None, width: int = BAR_WIDTH) -> str:
    if share is None:
        return ""
    eighths = round(max(0.0, min(1.0, share)) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (" ▏▎▍▌▋▊▉"[part] if part else "")).ljust(width)


# --- JSON ----------------------------------------------------------------------------------


def to_json(report: Report) -> str:
    """`report.to_json()` indented by 2 (`write_json`)."""
    buffer = io.StringIO()
    write_json(report, buffer)
    return buffer.getvalue()


def write_json(report: Report, stream: Writable) -> None:
    """`report.to_json()` indented by 2, to `stream`. The whole `--dropped` list, when the
    report reads it (`Report.dropped_text`: millions of clients at 10M), goes in
    between, as `json.dumps` would write it."""
    if report.dropped_text is None:
        stream.write(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
        return
    rest = json.dumps(replace(report, dropped=()).to_json(), ensure_ascii=False, indent=2)
    empty = '"clients": []'  # the last key of the last object ("dropped")
    at = rest.rindex(empty)
    blocks = report.dropped_text("json", "")
    first = next(blocks, None)
    if first is None:
        stream.write(rest)
        return
    stream.write(f'{rest[:at]}"clients": [\n')
    _write_utf8(stream, first)
    for block in blocks:
        _write_utf8(stream, block)
    stream.write(f"\n    ]{rest[at + len(empty) :]}")


def _write_utf8(stream: Writable, block: bytes) -> None:
    """UTF-8 `block` to `stream`: to the bytes beneath it when it is a file of UTF-8 (no
    text made only to be encoded again), else as text."""
    if not isinstance(stream, io.TextIOWrapper) or codecs.lookup(stream.encoding).name != "utf-8":
        stream.write(block.decode())
        return
    stream.flush()  # what was written as text goes first
    stream.buffer.write(block)


#: A `--dropped` list's columns (CSV, xlsx, HTML); after the first two, each client's
#: values, also the keys of its JSON object (`DroppedClient.to_json`).
DROPPED_HEADERS = ("campaign", "stage", *DROPPED_KEYS)


# --- table (rich) --------------------------------------------------------------------------


def to_table(report: Report, width: int = 120, *, wide: bool = False) -> RenderableType:
    """The report for a terminal `width` columns wide: funnel with bars (when they fit),
    reactivation, breakdown (fitted to the width unless `wide`), data quality."""
    parts: list[RenderableType] = [
        _funnel_table(report, bars=width >= 96),
        reactivation_text(report),
    ]
    if report.groups:
        parts.append(_groups_table(report, None if wide else width))
    if report.by == "attempt":
        parts.append(_attempts_table(report))
    if report.dropped_stage:
        parts.append(_dropped_table(report, None if wide else width))
    parts.append(_quality_text(report))
    return RichGroup(*parts)


def report_title(report: Report) -> str:
    title = t(
        "report.title",
        name=report.campaign_name,
        slug=report.campaign,
        assigned=f"{report.assigned:,}",
        control=f"{report.control:,}",
    )
    if report.window:
        since, until = report.window
        title += " · " + t("report.window", since=since or "…", until=until or "…")
    return title


def _funnel_table(report: Report, bars: bool = True) -> Table:
    table = Table(
        title=report_title(report),
        title_justify="left",
        caption=t("report.caption"),
        caption_justify="left",
    )
    table.add_column(t("report.col.stage"), no_wrap=True)
    table.add_column(t("report.col.clients"), justify="right", no_wrap=True)
    table.add_column(t("report.col.of_assigned"), justify="right", no_wrap=True)
    if bars:
        table.add_column("", no_wrap=True, width=BAR_WIDTH)
    table.add_column(t("report.col.of_previous"), justify="right", no_wrap=True)
    table.add_column(t("report.col.ci95"), justify="right", no_wrap=True)
    table.add_column(t("report.col.target"), justify="right", no_wrap=True)
    table.add_column(t("report.col.median_days"), justify="right", no_wrap=True)
    for s in report.stages:
        label = stage_label(s.stage)
        style = _style(s)
        cells: list[Any] = [label, f"{s.clients:,}", Text(pct(s.of_assigned), style=style)]
        if bars:
            cells.append(Text(_bar(s.of_assigned), style=style or "cyan"))
        cells += [pct(s.of_previous), interval_text(s.ci95), pct(s.target), _days(s.median_days)]
        table.add_row(*cells)
    return table


def reactivation_text(report: Report) -> Text:
    wecom = [s for s in report.stages if s.confirmed is not None]
    confirmed = [
        t("report.confirmed", count=f"{s.confirmed or 0:,}", clients=f"{s.clients:,}")
        for s in wecom
    ]
    r = report.reactivation
    if r is None:
        return Text("\n".join([*confirmed, t("report.no_activity")]))
    lines = [
        *confirmed,
        t(
            "report.treated",
            clients=f"{r.treated.clients:,}",
            reactivated=f"{r.treated.reactivated:,}",
            rate=pct(r.treated.rate),
        ),
    ]
    if r.control is None or r.uplift is None:
        lines.append(t("report.no_control"))
    else:
        lines.append(
            t(
                "report.control",
                clients=f"{r.control.clients:,}",
                reactivated=f"{r.control.reactivated:,}",
                rate=pct(r.control.rate),
            )
        )
        low, high = r.ci95 or (0.0, 0.0)
        lines.append(
            t("report.uplift", uplift=f"{r.uplift:+.2f}", low=f"{low:+.2f}", high=f"{high:+.2f}")
        )
    if r.by_stage:
        shares = t("list.separator").join(
            f"{stage_label(s)} {pct(arm.rate)}" for s, arm in r.by_stage
        )
        lines.append(t("report.by_stage", shares=shares))
    return Text("\n".join(lines))


def _group_headers(report: Report) -> dict[str, str]:
    """The message keys heading a group's key and name: what they are for this breakdown
    (an advisor's code and name, a week and its Monday, ...)."""
    if report.by and has(f"report.key.{report.by}"):
        return {"key": f"report.key.{report.by}", "name": f"report.name.{report.by}"}
    return {"key": "report.col.key", "name": "report.col.name"}


def _groups_table(report: Report, width: int | None = None) -> RenderableType:
    """The breakdown, one row per group, fitted to `width` columns (None: everything).

    No cell wraps and no header is cut: when the whole table is wider than the screen,
    counts are left out before shares, then stage names are shortened, then the name
    column goes, then the middle stages; a line says what was left out and that `--wide`
    shows it all. A name equal to its key (a branch) is shown once.
    """
    title = t("report.by_title", by=t(f"report.by.{report.by}"))
    if report.ranked_by:
        title += " · " + t("report.ranked", stage=stage_label(report.ranked_by))
    if report.by == "week":
        title += "\n" + t("report.week_note", assigned=f"{report.assigned:,}")
    layout = _fit_layout(report, width)
    table = Table(title=title, title_justify="left")
    for header, right in layout.headers:
        table.add_column(header, justify="right" if right else "left", no_wrap=True)
    for row in layout.rows:
        table.add_row(*row)
    if not layout.left_out:
        return table
    note = t("report.narrow", left_out=t("list.separator").join(layout.left_out))
    return RichGroup(table, Text(note, style="dim"))


@dataclass(frozen=True)
class _Layout:
    """A breakdown table's columns and cells at one level of detail."""

    headers: list[tuple[str, bool]]  # header, right-aligned
    rows: list[list[Text]]
    left_out: list[str]

    def width(self) -> int:
        """Columns the table takes on screen: its widest cells, padding and borders."""
        cells = [[cell.plain for cell in row] for row in self.rows]
        return _width([h for h, _ in self.headers], cells, range(len(self.headers)))


def says_more(group: Group) -> bool:
    """Whether a group's name tells more than its key (an advisor's name; not a branch's)."""
    return bool(group.name) and group.name != group.key and group.key != UNKNOWN_KEY


def _fit_layout(report: Report, width: int | None) -> _Layout:
    names = any(says_more(g) for g in report.groups)
    stages = [s.stage for s in report.stages]
    keep = {stages[0], stages[-1], report.ranked_by or stages[-1]}
    middle = [s for s in stages if s not in keep]
    tries: list[tuple[bool, bool, bool, list[str]]] = [  # counts, short names, name column, stages
        (True, False, names, stages),
        (False, False, names, stages),
        (False, True, names, stages),
        (False, True, False, stages),
    ]
    for dropped in range(1, len(middle) + 1):  # the middle stages, from the last one back
        shown = [s for s in stages if s not in middle[len(middle) - dropped :]]
        tries.append((False, True, False, shown))
    layout = _layout(report, *tries[0])
    if width is None:
        return layout
    for attempt in tries:
        layout = _layout(report, *attempt)
        if layout.width() <= width:
            break
    return layout


def _layout(
    report: Report, counts: bool, short: bool, with_name: bool, shown: list[str]
) -> _Layout:
    def header(stage: str) -> str:
        return t(f"report.stage_short.{stage}") if short else stage_label(stage)

    named = _group_headers(report)
    headers = [(t(named["key"]), False)]  # says what the key is: a code, a branch
    if with_name:
        headers.append((t(named["name"]), False))
    headers.append((t("report.col.assigned"), True))
    headers += [(header(stage), True) for stage in shown]
    names = any(says_more(g) for g in report.groups)
    rows = []
    for group in report.groups:
        # without a name column worth having, the key column shows the name: '(unknown)'
        cells = [Text(group.key if names else group.name or group.key)]
        if with_name:
            cells.append(Text(group.name))
        cells.append(Text(f"{group.assigned:,}"))
        for stage in shown:
            s = group.stage(stage)
            value = f"{s.clients:,} {pct(s.of_assigned)}" if counts else pct(s.of_assigned)
            cells.append(Text(value, style=_style(s)))
        rows.append(cells)
    left_out = []
    if not counts:
        left_out.append(t("report.left_out.counts"))
    if names and not with_name:
        left_out.append(t("report.col.name"))
    left_out += [stage_label(s.stage) for s in report.stages if s.stage not in shown]
    return _Layout(headers, rows, left_out)


def _attempts_table(report: Report) -> Table:
    table = Table(title=t("report.attempts_title"), title_justify="left")
    for header in (
        "report.col.attempt",
        "report.col.called_at_least",
        "report.col.reached_then",
        "report.col.share",
    ):
        table.add_column(t(header), justify="right")
    for row in report.attempts:
        table.add_row(str(row.attempt), f"{row.called:,}", f"{row.reached:,}", pct(row.share))
    return table


def _dropped_table(report: Report, width: int | None = None) -> RenderableType:
    """The first dropped clients (masked), fitted to `width` columns like the breakdown:
    the call-back time, then the name, then the advisor's name go before a cell wraps."""
    stage = report.dropped_stage or ""
    title = t("report.dropped_title", stage=stage_label(stage), count=f"{report.dropped_total:,}")
    headers = [
        t(key)
        for key in (
            "report.col.client",
            "report.col.name",
            "report.col.mobile",
            "report.col.advisor",
            "report.col.last_call",
            "report.col.callback",
        )
    ]

    def when(moment: dt.datetime | None) -> str:
        return moment.strftime("%Y-%m-%d %H:%M") if moment else ""

    def rows(advisor_names: bool) -> list[list[str]]:
        return [
            [
                c.client_id,
                c.name,
                c.mobile,
                f"{c.advisor_code or ''} {c.advisor_name or ''}".strip()
                if advisor_names
                else c.advisor_code or "",
                when(c.last_call_at),
                when(c.callback_at),
            ]
            for c in report.dropped[:DROPPED_SHOWN]
        ]

    shown, cells, left_out = [0, 1, 2, 3, 4, 5], rows(True), []
    for step in ("callback", "name", "advisor_name"):
        if width is None or _width([headers[i] for i in shown], cells, shown) <= width:
            break
        if step == "callback":
            shown.remove(5)
            left_out.append(headers[5])
        elif step == "name":
            shown.remove(1)
            left_out.append(headers[1])
        else:
            cells = rows(False)
            left_out.append(t("report.left_out.advisor_names"))
    table = Table(title=title, title_justify="left")
    for i in shown:
        table.add_column(headers[i], no_wrap=True)
    for row in cells:
        table.add_row(*(row[i] for i in shown))
    parts: list[RenderableType] = [table]
    if report.dropped_total > DROPPED_SHOWN:
        more = t("report.dropped_more", count=f"{report.dropped_total - DROPPED_SHOWN:,}")
        parts.append(Text(more))
    if left_out:
        parts.append(Text(t("report.narrow_dropped", left_out=", ".join(left_out)), style="dim"))
    return RichGroup(*parts) if len(parts) > 1 else table


def _width(headers: Sequence[str], rows: Sequence[Sequence[str]], shown: Sequence[int]) -> int:
    """Columns a table of `headers` and the `shown` cells of `rows` takes on screen."""
    from rich.cells import cell_len

    widths = [cell_len(h) for h in headers]
    for row in rows:
        widths = [max(w, cell_len(row[i])) for w, i in zip(widths, shown, strict=True)]
    return sum(widths) + 3 * len(widths) + 1


def quality_lines(report: Report) -> list[str]:
    q = report.data_quality
    lines = [
        t("report.dq.skipped", count=f"{q.skipped_stage:,}"),
        t("report.dq.never_called", count=f"{q.never_called:,}", days=q.stale_days),
        t("report.dq.dnc", members=f"{q.dnc_members:,}", calls=f"{q.dnc_calls:,}"),
        t("report.dq.uploads", refused=q.uploads_refused, rejected=f"{q.rows_rejected:,}"),
    ]
    if q.silent_advisors:
        shown = t("list.separator").join(code for code, _name in q.silent_advisors[:10])
        if len(q.silent_advisors) > 10:
            shown += ", …"
        lines.append(t("report.dq.silent", count=len(q.silent_advisors), codes=shown))
    else:
        lines.append(t("report.dq.silent_none"))
    if q.wecom_synced:
        lines.append(t("report.dq.wecom", count=f"{q.wecom_unconfirmed:,}"))
    else:
        lines.append(t("report.dq.wecom_never"))
    return lines


def _quality_text(report: Report) -> Text:
    return Text(
        t("report.dq.title") + "\n" + "\n".join("  " + line for line in quality_lines(report))
    )


# --- CSV -----------------------------------------------------------------------------------

CSV_HEADERS = (
    "campaign",
    "by",
    "key",
    "name",
    "assigned",
    "stage",
    "clients",
    "of_assigned",
    "of_previous",
    "ci95_low",
    "ci95_high",
    "target",
    "met",
    "median_days",
    "confirmed",
)
ATTEMPT_HEADERS = ("campaign", "attempt", "called", "reached", "share")


def to_csv(report: Report) -> str:
    """UTF-8 CSV with a BOM (`write_csv`)."""
    buffer = io.StringIO()
    write_csv(report, buffer)
    return buffer.getvalue()


def write_csv(report: Report, stream: Writable) -> None:
    """UTF-8 CSV with a BOM (so Excel reads Chinese), to `stream`: one row per group and stage.

    The overall funnel comes first with by = 'all'. With `--dropped` the rows are the
    dropped clients instead (the whole list as its text is read, when it can be,
    `Report.dropped_text`); with `--by attempt`, the attempt passes.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def write(cells: Iterable[Any]) -> None:
        writer.writerow([csv_cell(cell) for cell in cells])  # names may read like formulas

    stream.write("\ufeff")
    if report.dropped_stage:
        write(column_labels(DROPPED_HEADERS))
        lead = [report.campaign, label("value.stage", report.dropped_stage)]
        if report.dropped_text is not None:
            stream.write(buffer.getvalue())
            buffer.seek(0)
            buffer.truncate()
            write([*lead, ""])  # the cells every row starts with, then the client's
            for block in report.dropped_text("csv", buffer.getvalue().removesuffix("\r\n")):
                _write_utf8(stream, block)
            return
        for c in report.dropped:
            data = c.to_json()
            write([*lead, *(data[key] or "" for key in DROPPED_HEADERS[2:])])
        stream.write(buffer.getvalue())
        return
    if report.by == "attempt":
        write(column_labels(ATTEMPT_HEADERS))
        for row in report.attempts:
            write([report.campaign, row.attempt, row.called, row.reached, _csv(row.share)])
        stream.write(buffer.getvalue())
        return
    write(column_labels(CSV_HEADERS, _group_headers(report)))
    overall = Group(
        key="", name=report.campaign_name, assigned=report.assigned, stages=report.stages
    )
    for by, group in [("all", overall), *((report.by or "", g) for g in report.groups)]:
        for s in group.stages:
            data = s.to_json()
            ci = data["ci95"] or [None, None]
            write(
                [
                    report.campaign,
                    label("value.by", by),
                    group.key,
                    group.name,
                    group.assigned,
                    label("value.stage", s.stage),
                    s.clients,
                    _csv(data["of_assigned"]),
                    _csv(data["of_previous"]),
                    _csv(ci[0]),
                    _csv(ci[1]),
                    _csv(s.target),
                    _csv(s.met),
                    _csv(data["median_days"]),
                    _csv(data.get("confirmed")),
                ]
            )
    stream.write(buffer.getvalue())


def _csv(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return t("value.true" if value else "value.false")
    return value


# --- markdown (WeCom) ----------------------------------------------------------------------


def to_markdown(report: Report, limit: int = MARKDOWN_LIMIT) -> str:
    """The funnel, the uplift and the top and bottom five advisors, within `limit` UTF-8 bytes.

    When it does not fit, advisor names are shortened, then fewer advisors are listed,
    then the text is cut at a line end with an ellipsis: it is never sent cut mid-character.
    """
    head = _markdown_head(report)
    for name_width, count in ((16, 5), (8, 5), (8, 3), (0, 3), (0, 1), (0, 0)):
        text = head + _markdown_advisors(report, count, name_width)
        if len(text.encode("utf-8")) <= limit:
            return text
    return _cut(head, limit)


def _markdown_head(report: Report) -> str:
    lines = [t("report.md.title", name=_md(report.campaign_name), slug=report.campaign)]
    lines.append(
        t(
            "report.md.assigned",
            assigned=f"{report.assigned:,}",
            date=report.generated_at.strftime("%Y-%m-%d %H:%M"),
        )
    )
    if report.window:
        lines.append(
            t("report.window", since=report.window[0] or "…", until=report.window[1] or "…")
        )
    lines.append("")
    lines.append(
        f"| {t('report.col.stage')} | {t('report.col.clients')} | {t('report.col.of_assigned')} "
        f"| {t('report.col.target')} |"
    )
    lines.append("|---|---:|---:|---:|")
    for s in report.stages:
        mark = "" if s.met is None else (" ✅" if s.met else " ❌")
        lines.append(
            f"| {stage_label(s.stage)} | {s.clients:,} | {pct(s.of_assigned)}{mark} | {pct(s.target)} |"
        )
    lines.append("")
    r = report.reactivation
    if r is None:
        lines.append(t("report.no_activity"))
    elif r.uplift is None or r.control is None:
        lines.append(
            t("report.md.treated_only", rate=pct(r.treated.rate)) + " " + t("report.no_control")
        )
    else:
        low, high = r.ci95 or (0.0, 0.0)
        lines.append(
            t(
                "report.md.uplift",
                treated=pct(r.treated.rate),
                control=pct(r.control.rate),
                uplift=f"{r.uplift:+.2f}",
                low=f"{low:+.2f}",
                high=f"{high:+.2f}",
            )
        )
    return "\n".join(lines) + "\n"


def _markdown_advisors(report: Report, count: int, name_width: int) -> str:
    """The top and bottom `count` advisors, and how many between them (or in all) are not
    listed."""
    if report.by != "advisor" or not report.groups:
        return ""
    groups = list(report.groups)
    if count == 0:
        return "\n" + t("report.md.not_listed", count=len(groups)) + "\n"
    stage = report.ranked_by or report.stages[-1].stage
    top = groups[:count]
    bottom = [g for g in groups[-count:] if g not in top]
    lines = ["", t("report.md.ranked", stage=stage_label(stage))]

    def line(rank: int, group: Group) -> str:
        s = group.stage(stage)
        name = (
            group.name[:name_width] + ("…" if len(group.name) > name_width else "")
            if name_width
            else ""
        )
        low = pct(s.ci95[0]) if s.ci95 else ""
        share = f"{pct(s.of_assigned)} ({s.clients}/{group.assigned}, ≥{low})"
        return " ".join(x for x in (f"{rank}.", _md(group.key), _md(name), share) if x)

    lines.append(t("report.md.top", count=len(top)))
    lines += [line(i + 1, g) for i, g in enumerate(top)]
    between = len(groups) - len(top) - len(bottom)
    if between:
        first, last = len(top) + 1, len(top) + between
        ranks = str(first) if first == last else f"{first}-{last}"
        lines.append(t("report.md.between", count=between, ranks=ranks))
    if bottom:
        lines.append(t("report.md.bottom", count=len(bottom)))
        start = len(groups) - len(bottom)
        lines += [line(start + i + 1, g) for i, g in enumerate(bottom)]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Keep names from breaking the markdown (WeCom renders *, _, |, [ and ` specially)."""
    return "".join("\\" + ch if ch in "*_|[]`<>" else ch for ch in text.replace("\n", " "))


def _cut(text: str, limit: int) -> str:
    ellipsis = "\n…"
    budget = limit - len(ellipsis.encode("utf-8"))
    encoded = text.encode("utf-8")[:budget]
    kept = encoded.decode("utf-8", errors="ignore")
    if "\n" in kept:
        kept = kept[: kept.rindex("\n")]
    return kept + ellipsis


# --- xlsx ----------------------------------------------------------------------------------


def write_xlsx(report: Report, path: Path) -> None:
    """A workbook: a summary sheet with a native bar chart of the funnel, a sheet per breakdown."""
    import xlsxwriter

    with written_whole(path, suffix=".xlsx") as temporary:
        book = xlsxwriter.Workbook(str(temporary), SAFE_XLSX)
        formats = _Formats.of(book)
        _summary_sheet(book, report, formats)
        if report.groups:
            _groups_sheet(book, report, formats)
        if report.by == "attempt":
            _attempts_sheet(book, report, formats)
        if report.dropped_stage:
            _dropped_sheet(book, report, formats)
        book.close()


@dataclass(frozen=True)
class _Formats:
    """The workbook's cell formats (xlsxwriter `Format`s)."""

    bold: Any
    title: Any
    header: Any  # a table's header row: bold, wrapped over two lines
    wrap: Any
    datetime: Any
    share: Any
    days: Any
    met: Any  # a share that meets its target: green
    missed: Any  # a share that misses it: red

    @classmethod
    def of(cls, book: Any) -> _Formats:
        return cls(
            bold=book.add_format({"bold": True}),
            title=book.add_format(
                {"bold": True, "font_size": 12, "text_wrap": True, "valign": "top"}
            ),
            header=book.add_format(
                {"bold": True, "text_wrap": True, "valign": "bottom", "bottom": 1}
            ),
            wrap=book.add_format({"text_wrap": True, "valign": "top"}),
            datetime=book.add_format({"num_format": layout.DATETIME_FORMAT}),
            share=book.add_format({"num_format": "0.0%"}),
            days=book.add_format({"num_format": "0.0"}),
            met=book.add_format(
                {"num_format": "0.0%", "font_color": "#006100", "bg_color": "#C6EFCE"}
            ),
            missed=book.add_format(
                {"num_format": "0.0%", "font_color": "#9C0006", "bg_color": "#FFC7CE"}
            ),
        )

    def target(self, figures: StageFigures) -> Any:
        """A stage's share of assigned: coloured by its target, plain without one."""
        if figures.met is None:
            return self.share
        return self.met if figures.met else self.missed


def _summary_sheet(book: Any, report: Report, formats: _Formats) -> None:
    """The funnel overall, its bar chart, then the reactivation and data-quality lines."""
    sheet = book.add_worksheet(t("report.xlsx.summary")[:31])
    headers = [
        t("report.col.stage"),
        t("report.col.clients"),
        t("report.col.of_assigned"),
        t("report.col.of_previous"),
        t("report.col.ci95_low"),
        t("report.col.ci95_high"),
        t("report.col.target"),
        t("report.col.median_days"),
        t("report.col.confirmed"),
    ]
    last_col = len(headers) - 1
    widths = layout.ColumnWidths(header_lines=2)
    widths.see_headers(headers)
    for s in report.stages:
        widths.see(0, stage_label(s.stage))
    widths.see(1, "1,000,000")
    for col in range(2, last_col + 1):  # shares, days and counts
        widths.see(col, "100.0%")
    page_width = sum(widths.width(col) for col in range(last_col + 1))
    # the title and the lines below the chart wrap across the table: all on the page
    title = report_title(report)
    sheet.set_row(0, layout.wrapped_height(title, page_width) + 4)
    sheet.merge_range(0, 0, 0, last_col, title, formats.title)
    sheet.set_row(2, layout.LINE_HEIGHT * 2)
    sheet.write_row(2, 0, headers, formats.header)
    first = 3
    for row, s in enumerate(report.stages, start=first):
        sheet.write(row, 0, stage_label(s.stage))
        sheet.write_number(row, 1, s.clients)
        _write_optional(sheet, row, 2, s.of_assigned, formats.target(s))
        _write_optional(sheet, row, 3, s.of_previous, formats.share)
        _write_optional(sheet, row, 4, s.ci95[0] if s.ci95 else None, formats.share)
        _write_optional(sheet, row, 5, s.ci95[1] if s.ci95 else None, formats.share)
        _write_optional(sheet, row, 6, s.target, formats.share)
        _write_optional(sheet, row, 7, s.median_days, formats.days)
        _write_optional(sheet, row, 8, s.confirmed, None)
    last = first + len(report.stages) - 1
    # the chart as wide as the table (a character of width is about 7 pixels), 16 rows tall
    sheet.insert_chart(
        last + 2,
        0,
        _funnel_chart(book, sheet.get_name(), first, last),
        {"x_scale": page_width * 7 / 480, "y_scale": 16 * 20 / 288},
    )
    lines = reactivation_text(report).plain.splitlines() + [""] + quality_lines(report)
    for row, line in enumerate(lines, start=last + 19):  # below the chart
        if line:
            sheet.set_row(row, layout.wrapped_height(line, page_width))
            sheet.merge_range(row, 0, row, last_col, line, formats.wrap)
    widths.apply(sheet)
    _print(sheet, report, one_page=True, header_rows=0)


def _print(sheet: Any, report: Report, *, one_page: bool = False, header_rows: int = 1) -> None:
    """Print-ready (landscape, one page wide), the campaign heading every page."""
    layout.print_ready(
        sheet,
        title=f"{report.campaign_name} ({report.campaign})",
        detail=sheet.get_name(),
        page=t("sheet.page"),
        header_rows=header_rows,
        one_page=one_page,
    )


def _funnel_chart(book: Any, sheet_name: str, first: int, last: int) -> Any:
    """A bar per stage of the share of assigned in rows `first`..`last` of the summary sheet."""
    chart = book.add_chart({"type": "bar"})
    chart.add_series(
        {
            "name": t("report.col.of_assigned"),
            "categories": [sheet_name, first, 0, last, 0],
            "values": [sheet_name, first, 2, last, 2],
            "data_labels": {"value": True, "num_format": "0.0%"},
            "fill": {"color": "#4472C4"},
        }
    )
    chart.set_y_axis({"reverse": True})  # the first stage on top: a funnel
    chart.set_x_axis({"num_format": "0%", "min": 0, "max": 1})
    chart.set_legend({"none": True})
    chart.set_title({"name": t("report.xlsx.chart")})
    return chart


def _groups_sheet(book: Any, report: Report, formats: _Formats) -> None:
    sheet = book.add_worksheet(t(f"report.by.{report.by}")[:31])
    named = _group_headers(report)
    headers = [t(named["key"]), t(named["name"]), t("report.col.assigned")]
    for s in report.stages:
        label = stage_label(s.stage)
        headers += [
            label,
            t("report.col.stage_share", stage=label),
            t("report.col.stage_ci95_low", stage=label),
            t("report.col.stage_median_days", stage=label),
        ]
    widths = layout.ColumnWidths(header_lines=2)
    widths.see_headers(headers)
    sheet.set_row(0, layout.LINE_HEIGHT * 2)
    sheet.write_row(0, 0, headers, formats.header)
    for r, group in enumerate(report.groups, start=1):
        sheet.write_row(r, 0, [group.key, group.name, group.assigned])
        widths.see_row([group.key, group.name, group.assigned])
        col = 3
        for s in group.stages:
            sheet.write_number(r, col, s.clients)
            _write_optional(sheet, r, col + 1, s.of_assigned, formats.target(s))
            _write_optional(sheet, r, col + 2, s.ci95[0] if s.ci95 else None, formats.share)
            _write_optional(sheet, r, col + 3, s.median_days, formats.days)
            col += 4
    for col in range(3, len(headers)):
        widths.see(col, "100.0%")
    widths.apply(sheet)
    sheet.freeze_panes(1, 3)
    if report.ranked_by:
        sheet.write(
            len(report.groups) + 2, 0, t("report.ranked", stage=stage_label(report.ranked_by))
        )
    _print(sheet, report)


def _attempts_sheet(book: Any, report: Report, formats: _Formats) -> None:
    sheet = book.add_worksheet(t("report.by.attempt")[:31])
    widths = layout.ColumnWidths()
    headers = column_labels(ATTEMPT_HEADERS[1:])
    widths.see_row(headers)
    sheet.write_row(0, 0, headers, formats.header)
    for i, a in enumerate(report.attempts, start=1):
        sheet.write_row(i, 0, [a.attempt, a.called, a.reached])
        widths.see_row([a.attempt, a.called, a.reached])
        _write_optional(sheet, i, 3, a.share, formats.share)
    widths.apply(sheet)
    _print(sheet, report)


def _dropped_sheet(book: Any, report: Report, formats: _Formats) -> None:
    """The whole `--dropped` list: a sheet, and more ("dropped 2", ...) when it is longer
    than one holds (at 10M a list can be 2.6M clients)."""
    headers = DROPPED_HEADERS[2:]
    zone = ZoneInfo(report.timezone)
    name = t("report.xlsx.dropped")
    clients = report.dropped
    per_sheet = layout.SHEET_DATA_ROWS
    for part, start in enumerate(range(0, max(len(clients), 1), per_sheet), 1):
        sheet = book.add_worksheet(layout.sheet_name(name, part))
        widths = layout.ColumnWidths()
        widths.see_row(column_labels(headers))
        sheet.write_row(0, 0, column_labels(headers), formats.header)
        shown = clients[start : start + per_sheet]
        for i, c in enumerate(shown, start=1):
            data = c.to_json()
            cells: list[Any] = [data[k] or "" for k in headers]
            # times as date cells on the campaign's clock, never ISO text
            for k, moment in (("last_call_at", c.last_call_at), ("callback_at", c.callback_at)):
                cells[headers.index(k)] = moment.astimezone(zone) if moment else ""
            for col, value in enumerate(cells):
                if isinstance(value, dt.datetime):
                    layout.write_time(sheet, i, col, value, formats.datetime)
                elif value != "":
                    sheet.write_string(i, col, str(value))
            widths.see_row(cells)
        widths.apply(sheet)
        sheet.freeze_panes(1, 0)
        _print(sheet, report)


def _write_optional(sheet: Any, row: int, col: int, value: float | int | None, fmt: Any) -> None:
    if value is None:
        sheet.write_blank(row, col, None)
    else:
        sheet.write_number(row, col, value, fmt)


# --- one client's timeline -----------------------------------------------------------------


def _event_value(kind: str, value: str | None) -> str:
    """An event's value as the user reads it: a call's result in their words."""
    if kind == "call" and value:
        return label("value.disposition", value)
    return value or ""


def timeline_table(timeline: Timeline) -> RenderableType:
    """`client show` for a terminal: who the client is (masked), then every event in order."""
    head = Text(
        t("client.title", client_id=timeline.client_id, slug=timeline.campaign)
        + "\n"
        + t(
            "client.summary_purged" if timeline.purged else "client.summary",
            name=timeline.name,
            mobile=timeline.mobile,
            branch=timeline.branch or "",
            advisor=f"{timeline.advisor_code or ''} {timeline.advisor_name or ''}".strip(),
            assigned=timeline.assigned_at.strftime("%Y-%m-%d %H:%M")
            if timeline.assigned_at
            else "",
        )
        + "\n"
        + t(
            "client.flags",
            control=t("value.true" if timeline.control else "value.false"),
            dnc=t("value.true" if timeline.dnc else "value.false"),
        )
    )
    if not timeline.events:
        return RichGroup(head, Text(t("client.no_events")))
    table = Table()
    for header in (
        "client.col.id",
        "client.col.when",
        "client.col.event",
        "client.col.value",
        "client.col.source",
        "client.col.by",
    ):
        table.add_column(t(header))
    for e in timeline.events:
        note = ""
        if e.voided_by is not None:
            note = t("client.voided", id=e.voided_by)
        elif e.voids is not None:
            note = t("client.voids", id=e.voids)
        source = label("value.source", e.source)
        if e.source_file:
            source += f" {Path(e.source_file).name}" + (f":{e.source_row}" if e.source_row else "")
        style = "strike dim" if e.voided_by is not None else ""
        table.add_row(
            str(e.id),
            e.occurred_at.strftime("%Y-%m-%d %H:%M"),
            Text(label("value.event", e.kind), style=style),
            Text(" ".join(x for x in (_event_value(e.kind, e.value), note) if x), style=style),
            source,
            e.recorded_by + (f" ({e.advisor_code})" if e.advisor_code else ""),
        )
    return RichGroup(head, table)

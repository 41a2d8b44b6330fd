"""The report as one self-contained HTML page: to forward, open in any browser, print.

Everything is inside the file (styles, the funnel as inline SVG, a few lines of script
that sort the tables when a header is clicked): it fetches nothing, so it opens the same
offline, from a mail attachment or from WeCom. Without script the tables still read, in
the report's order. `#sort=N` (or `#sort=N-asc`) in the address sorts the breakdown by its
column N (from 0) when the page opens, so a sorted view can be linked to.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from reactivate.messages import language, t
from reactivate.render.chart import SVG_FONTS, to_svg
from reactivate.render.report import (
    DROPPED_HEADERS,
    interval_text,
    pct,
    quality_lines,
    reactivation_text,
    report_title,
    says_more,
    stage_label,
)
from reactivate.report.model import Report

Cell = str | tuple[str, float | None]  # text, or a number shown and the value it sorts by

_STYLE = """
body { font-family: FONTS; color: #1d2430; margin: 24px auto; max-width: 1100px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
p.meta, p.note { color: #5b6575; margin: 4px 0; font-size: 14px; }
svg { max-width: 100%; height: auto; }
div.wide { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 8px 0; font-size: 14px; }
th, td { border: 1px solid #d5dae3; padding: 4px 10px; white-space: nowrap; }
th { background: #eef1f6; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.met { color: #2e7d32; font-weight: bold; } td.missed { color: #c62828; font-weight: bold; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th[aria-sort=ascending]::after { content: " ▲"; }
table.sortable th[aria-sort=descending]::after { content: " ▼"; }
ul { padding-left: 20px; margin: 4px 0; } li { margin: 2px 0; }
@media print {
  body { margin: 0; max-width: none; } div.wide { overflow: visible; }
  th, td { white-space: normal; } table.sortable th::after { content: ""; }
}
"""

_SCRIPT = """
(function () {
  function value(row, i) {
    var cell = row.cells[i];
    var key = cell.getAttribute("data-sort");
    return key === null ? cell.textContent.trim() : (key === "" ? -Infinity : parseFloat(key));
  }
  function sort(table, i, ascending) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a, i), y = value(b, i);
      var order = typeof x === "number" && typeof y === "number" ? x - y
        : String(x).localeCompare(String(y), document.documentElement.lang);
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, j) {
      if (j === i) { th.setAttribute("aria-sort", ascending ? "ascending" : "descending"); }
      else { th.removeAttribute("aria-sort"); }
    });
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.tabIndex = 0;
      var toggle = function () { sort(table, i, th.getAttribute("aria-sort") === "descending"); };
      th.addEventListener("click", toggle);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { toggle(); } });
    });
    table.setAttribute("data-ready", "1");
  });
  var wanted = /^#sort=(\\d+)(-asc)?$/.exec(location.hash);
  var breakdown = document.getElementById("breakdown");
  if (wanted && breakdown && +wanted[1] < breakdown.tHead.rows[0].cells.length) {
    sort(breakdown, +wanted[1], !!wanted[2]);
  }
})();
"""


def to_html(report: Report) -> str:
    """The whole report as one HTML document (UTF-8, no external resources)."""
    parts = [
        "<!doctype html>",
        f'<html lang="{"zh-CN" if language() == "zh" else "en"}">',
        '<head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(t('html.title', name=report.campaign_name))}</title>",
        f"<style>{_STYLE.replace('FONTS', SVG_FONTS)}</style></head>",
        "<body>",
        f"<h1>{escape(report_title(report))}</h1>",
        f'<p class="meta">{escape(t("html.generated", date=_when(report)))}</p>',
        '<figure style="margin:16px 0">',
        to_svg(report),
        "</figure>",
        _table(_funnel_headers(), _funnel_rows(report)),
        f'<p class="note">{escape(t("report.caption"))}</p>',
        _list(reactivation_text(report).plain.splitlines()),
    ]
    if report.groups:
        title = t("report.by_title", by=t(f"report.by.{report.by}"))
        parts.append(f"<h2>{escape(title)}</h2>")
        if report.ranked_by:
            ranked = t("report.ranked", stage=stage_label(report.ranked_by))
            parts.append(f'<p class="note">{escape(ranked)}</p>')
        parts.append(f'<p class="note">{escape(t("html.sortable"))}</p>')
        parts.append(_table(*_groups(report), table_id="breakdown"))
    if report.by == "attempt":
        parts.append(f"<h2>{escape(t('report.attempts_title'))}</h2>")
        parts.append(_table(*_attempts(report)))
    if report.dropped_stage:
        title = t(
            "report.dropped_title",
            stage=stage_label(report.dropped_stage),
            count=f"{report.dropped_total:,}",
        )
        parts.append(f"<h2>{escape(title)}</h2>")
        parts.append(_table(*_dropped(report)))
    parts.append(f"<h2>{escape(t('report.dq.title'))}</h2>")
    parts.append(_list(quality_lines(report)))
    parts.append(f"<script>{_SCRIPT}</script>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _when(report: Report) -> str:
    return report.generated_at.strftime("%Y-%m-%d %H:%M")


def _funnel_headers() -> list[str]:
    return [
        t("report.col.stage"),
        t("report.col.clients"),
        t("report.col.of_assigned"),
        t("report.col.of_previous"),
        t("report.col.ci95"),
        t("report.col.target"),
        t("report.col.median_days"),
    ]


def _funnel_rows(report: Report) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    for s in report.stages:
        rows.append(
            [
                stage_label(s.stage),
                (f"{s.clients:,}", s.clients),
                (_marked(pct(s.of_assigned), s.met), s.of_assigned),
                (pct(s.of_previous), s.of_previous),
                (interval_text(s.ci95), s.ci95[0] if s.ci95 else None),
                (pct(s.target), s.target),
                ("" if s.median_days is None else f"{s.median_days:.1f}", s.median_days),
            ]
        )
    return rows


def _marked(text: str, met: bool | None) -> str:
    return text if met is None else f"{text} {'✓' if met else '✗'}"


def _groups(report: Report) -> tuple[list[str], list[list[Cell]]]:
    names = any(says_more(g) for g in report.groups)  # a branch's name is its key: once
    headers = [t(f"report.by.{report.by}")]
    headers += (
        [t("report.col.name"), t("report.col.assigned")] if names else [t("report.col.assigned")]
    )
    for s in report.stages:
        label = stage_label(s.stage)
        headers += [label, f"{label} %"]
    rows: list[list[Cell]] = []
    for group in report.groups:
        row: list[Cell] = [group.key, group.name] if names else [group.name or group.key]
        row.append((f"{group.assigned:,}", group.assigned))
        for s in group.stages:
            row.append((f"{s.clients:,}", s.clients))
            row.append((_marked(pct(s.of_assigned), s.met), s.of_assigned))
        rows.append(row)
    return headers, rows


def _attempts(report: Report) -> tuple[list[str], list[list[Cell]]]:
    headers = [
        t(key)
        for key in (
            "report.col.attempt",
            "report.col.called_at_least",
            "report.col.reached_then",
            "report.col.share",
        )
    ]
    rows: list[list[Cell]] = [
        [
            (str(a.attempt), a.attempt),
            (f"{a.called:,}", a.called),
            (f"{a.reached:,}", a.reached),
            (pct(a.share), a.share),
        ]
        for a in report.attempts
    ]
    return headers, rows


def _dropped(report: Report) -> tuple[list[str], list[list[Cell]]]:
    headers = list(DROPPED_HEADERS[2:])
    rows: list[list[Cell]] = []
    for c in report.dropped:
        data = c.to_json()
        rows.append([str(data[k] or "") for k in headers])
    return headers, rows


def _table(headers: Sequence[str], rows: Sequence[Sequence[Cell]], table_id: str = "") -> str:
    """A sortable table: numbers carry their value in `data-sort` and sit to the right. A
    table wider than the page scrolls inside its own box, the page stays put."""
    ident = f' id="{table_id}"' if table_id else ""
    out = [f'<div class="wide"><table class="sortable"{ident}><thead><tr>']
    out += [f'<th scope="col">{escape(h)}</th>' for h in headers]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>")
        for cell in row:
            if isinstance(cell, str):
                out.append(f"<td>{escape(cell)}</td>")
                continue
            text, key = cell
            classes = "n" + (
                " met" if text.endswith("✓") else " missed" if text.endswith("✗") else ""
            )
            sort_key = "" if key is None else f"{float(key):.6g}"
            out.append(f'<td class="{classes}" data-sort="{sort_key}">{escape(text)}</td>')
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _list(lines: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(line.strip())}</li>" for line in lines if line) + "</ul>"

"""The funnel as a picture: bars in the terminal (rich), an SVG (for the HTML report) and
a PNG (for WeCom's group robot, which takes images as PNG or JPG only).

All three draw the same thing: a bar per stage as long as its share of assigned clients,
coloured by its target (green met, red missed, blue without one), a mark at the target,
and the clients and share beside it. Rendering never queries: it reads the `Report`.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from html import escape
from pathlib import Path

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from reactivate.errors import ConfigError
from reactivate.messages import t
from reactivate.report.model import Report

#: A font file to draw the PNG's text with, when none of the usual places has one.
ENV_FONT = "REACTIVATE_FONT"
#: Where fonts with Chinese characters usually are (Debian/Ubuntu, Fedora, macOS, Windows).
CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)
#: What a browser may draw the SVG's text with: the first it has.
SVG_FONTS = (
    "'Microsoft YaHei', 'PingFang SC', 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', "
    "'Source Han Sans SC', sans-serif"
)

GREEN, RED, BLUE, GREY, INK = "#2e7d32", "#c62828", "#1f5fa8", "#e3e7ee", "#1d2430"


@dataclass(frozen=True)
class FunnelBar:
    """One stage as the pictures draw it."""

    label: str
    clients: int
    share: float  # of assigned, 0..1
    target: float | None
    met: bool | None

    @property
    def colour(self) -> str:
        return BLUE if self.met is None else GREEN if self.met else RED

    @property
    def figures(self) -> str:
        return f"{self.clients:,} · {100 * self.share:.1f}%"


def funnel_bars(report: Report) -> list[FunnelBar]:
    return [
        FunnelBar(
            label=t(f"report.stage.{s.stage}"),
            clients=s.clients,
            share=max(0.0, min(1.0, s.of_assigned or 0.0)),
            target=s.target,
            met=s.met,
        )
        for s in report.stages
    ]


def chart_title(report: Report) -> str:
    return t(
        "chart.title",
        name=report.campaign_name,
        assigned=f"{report.assigned:,}",
        date=report.generated_at.strftime("%Y-%m-%d"),
    )


# --- the terminal --------------------------------------------------------------------------


def to_terminal(report: Report, width: int = 80) -> RenderableType:
    """The funnel as bars across a terminal `width` columns wide (eighths of a cell)."""
    bars = funnel_bars(report)
    from rich.cells import cell_len

    label_width = max(cell_len(b.label) for b in bars)
    figures_width = max(len(b.figures) for b in bars) + 2  # and the target's ✓ or ✗
    # the figures beside each bar, aligned on their separator
    clients_width = max(len(f"{b.clients:,}") for b in bars)
    bar_width = max(10, width - label_width - figures_width - 4)
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True, width=bar_width)
    grid.add_column(no_wrap=True)
    for bar in bars:
        mark = "" if bar.met is None else (" ✓" if bar.met else " ✗")
        grid.add_row(
            bar.label,
            _terminal_bar(bar, bar_width),
            Text(
                f"{bar.clients:>{clients_width},} · {100 * bar.share:5.1f}%{mark}",
                style="" if bar.met is None else bar.colour,
            ),
        )
    caption = Text(t("chart.caption"), style="dim")
    from rich.console import Group

    return Group(Text(chart_title(report), style="bold"), grid, caption)


def _terminal_bar(bar: FunnelBar, width: int) -> Text:
    eighths = round(bar.share * width * 8)
    full, part = divmod(eighths, 8)
    drawn = "█" * full + (" ▏▎▍▌▋▊▉"[part] if part else "")
    text = Text(drawn, style=bar.colour)
    rest = width - len(drawn)
    if bar.target is not None:  # a thin mark where the target is, when it lies past the bar
        at = min(width - 1, int(bar.target * width))
        if at >= len(drawn):
            text.append(" " * (at - len(drawn)))
            text.append("┆", style="dim")
            rest = width - at - 1
    text.append(" " * max(0, rest))
    return text


# --- the geometry both pictures share ------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    width: int = 960
    top: int = 84  # under the title
    row: int = 64
    bar: int = 38
    left: int = 150  # the labels' column
    right: int = 190  # the figures' column
    bottom: int = 44  # the caption

    def height(self, rows: int) -> int:
        return self.top + rows * self.row + self.bottom

    @property
    def span(self) -> int:
        return self.width - self.left - self.right


FRAME = _Frame()


# --- SVG -----------------------------------------------------------------------------------


def to_svg(report: Report) -> str:
    """The funnel as a standalone SVG document (text as text: a browser's fonts draw it)."""
    bars = funnel_bars(report)
    f = FRAME
    height = f.height(len(bars))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {f.width} {height}" '
        f'width="{f.width}" height="{height}" role="img" '
        f'aria-label="{escape(chart_title(report))}" font-family="{SVG_FONTS}">',
        f'<rect width="{f.width}" height="{height}" fill="#ffffff"/>',
        f'<text x="24" y="46" font-size="26" font-weight="bold" fill="{INK}">'
        f"{escape(chart_title(report))}</text>",
    ]
    for i, bar in enumerate(bars):
        y = f.top + i * f.row
        middle = y + f.bar / 2
        length = bar.share * f.span
        out += [
            f'<text x="{f.left - 14}" y="{middle:.1f}" font-size="20" text-anchor="end" '
            f'dominant-baseline="central" fill="{INK}">{escape(bar.label)}</text>',
            f'<rect x="{f.left}" y="{y}" width="{f.span}" height="{f.bar}" fill="{GREY}" rx="4"/>',
            f'<rect x="{f.left}" y="{y}" width="{length:.1f}" height="{f.bar}" '
            f'fill="{bar.colour}" rx="4"/>',
            f'<text x="{f.width - f.right + 14}" y="{middle:.1f}" font-size="20" '
            f'dominant-baseline="central" fill="{INK}">{escape(bar.figures)}</text>',
        ]
        if bar.target is not None:
            x = f.left + bar.target * f.span
            out.append(
                f'<line x1="{x:.1f}" y1="{y - 5}" x2="{x:.1f}" y2="{y + f.bar + 5}" '
                f'stroke="{INK}" stroke-width="3" stroke-dasharray="5 3">'
                f"<title>{escape(t('chart.target', share=f'{100 * bar.target:.1f}%'))}</title>"
                "</line>"
            )
    out.append(
        f'<text x="24" y="{height - 18}" font-size="15" fill="#5b6575">'
        f"{escape(t('chart.caption'))}</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


# --- PNG -----------------------------------------------------------------------------------


def to_png(report: Report, font: Path | None = None) -> bytes:
    """The funnel as a PNG (Pillow, imported only here), its text drawn with a font that
    has Chinese characters (`find_font`)."""
    from PIL import Image, ImageDraw, ImageFont

    font_file = font or find_font()
    bars = funnel_bars(report)
    f = FRAME
    height = f.height(len(bars))

    def sized(size: int) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(str(font_file), size)

    image = Image.new("RGB", (f.width, height), "#ffffff")
    draw = ImageDraw.Draw(image)
    draw.text((24, 46), chart_title(report), font=sized(26), fill=INK, anchor="ls")
    label, figures = sized(20), sized(20)
    for i, bar in enumerate(bars):
        y = f.top + i * f.row
        middle = y + f.bar / 2
        draw.text((f.left - 14, middle), bar.label, font=label, fill=INK, anchor="rm")
        draw.rounded_rectangle((f.left, y, f.left + f.span, y + f.bar), 4, fill=GREY)
        length = bar.share * f.span
        if length >= 1:
            draw.rounded_rectangle((f.left, y, f.left + length, y + f.bar), 4, fill=bar.colour)
        draw.text(
            (f.width - f.right + 14, middle), bar.figures, font=figures, fill=INK, anchor="lm"
        )
        if bar.target is not None:
            x = f.left + bar.target * f.span
            for dash in range(y - 5, y + f.bar + 5, 8):
                draw.line((x, dash, x, min(dash + 5, y + f.bar + 5)), fill=INK, width=3)
    draw.text((24, height - 18), t("chart.caption"), font=sized(15), fill="#5b6575", anchor="ls")
    buffer = io.BytesIO()
    # 64 colours keep the anti-aliased text smooth at a third of the size (about 15 KB)
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def find_font() -> Path:
    """A font file with Chinese characters: `REACTIVATE_FONT`, a usual place, or fontconfig's
    choice for Chinese; a `ConfigError` saying how to get one when there is none."""
    chosen = os.environ.get(ENV_FONT)
    if chosen:
        if Path(chosen).is_file():
            return Path(chosen)
        raise ConfigError(t("error.font_missing_env", var=ENV_FONT, path=chosen))
    for candidate in CJK_FONTS:
        if Path(candidate).is_file():
            return Path(candidate)
    found = _fontconfig_cjk()
    if found is not None:
        return found
    raise ConfigError(t("error.font_missing", var=ENV_FONT))


def _fontconfig_cjk() -> Path | None:
    """fontconfig's font for Chinese, when it has one that covers it."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    try:
        answer = subprocess.run(
            [fc_match, "-f", "%{file}\n%{lang}", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    file, _, langs = answer.partition("\n")
    if "zh-cn" in langs.split("|") and Path(file).is_file():
        return Path(file)
    return None

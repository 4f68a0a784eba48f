"""A horizontal bar chart as a self-contained SVG: one bar per row, in the result's order.

Bars are proportional to their value (the largest spans the plot width); labels and values are
text, a `<title>` per bar is its tooltip. Deterministic: no ids, no random colours.
"""
from __future__ import annotations

import html
import math
from typing import Callable, Sequence

BAR_H, GAP, FONT_W = 18, 4, 6.6   # bar height, gap, average character width at 11px
FILL = "#4a7fb5"


def bar_svg(labels: Sequence[str], values: Sequence[float | None], *, title: str = "",
            fmt: Callable[[float | None], str] = lambda v: "" if v is None else f"{v:g}",
            width: int = 640) -> str:
    """SVG text with a bar per (label, value); None and negative values draw no bar."""
    esc = html.escape
    label_w = min(220, math.ceil(max((len(t) for t in labels), default=1) * FONT_W) + 12)
    value_w = int(max((len(fmt(v)) for v in values), default=1) * FONT_W) + 12
    plot_w = max(60, width - label_w - value_w)
    top = 22 if title else 6
    height = top + len(labels) * (BAR_H + GAP) + 6
    biggest = max((v for v in values if v is not None), default=0) or 0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="vdfs-bars" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">']
    if title:
        parts.append(f'<text x="4" y="14" font-size="12" font-weight="bold" fill="#234">{esc(title)}</text>')
    for i, (label, value) in enumerate(zip(labels, values)):
        y = top + i * (BAR_H + GAP)
        w = round(plot_w * value / biggest, 2) if value is not None and value > 0 and biggest > 0 else 0
        shown = label if len(label) * FONT_W <= label_w - 12 else label[: int((label_w - 12) / FONT_W) - 1] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" fill="#333">{esc(shown)}</text>'
            f'<rect class="vdfs-bar" x="{label_w}" y="{y}" width="{w}" height="{BAR_H}" fill="{FILL}">'
            f'<title>{esc(label)}: {esc(fmt(value))}</title></rect>'
            f'<text x="{label_w + w + 4}" y="{y + 13}" fill="#333">{esc(fmt(value))}</text>')
    parts.append("</svg>")
    return "".join(parts)

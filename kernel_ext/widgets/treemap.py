"""A squarified treemap as a self-contained SVG: area is size, nesting is folders.

The layout is Bruls, Huizing and van Wijk's squarified algorithm (rows of cells whose aspect
ratio stays near 1), computed here in a few lines so the notebook needs no plotting library.
Deterministic: callers give the items in a fixed order and colours come from a fixed palette.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Callable, Sequence

Rect = tuple[float, float, float, float]   # x, y, width, height
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac")
HEADER, PAD, FONT_W = 15, 2, 6.2


@dataclass
class Node:
    """One cell: a folder (with children) or the files directly in a folder (`kind="files"`)."""
    name: str
    size: int
    tooltip: str = ""
    kind: str = "folder"
    children: list["Node"] = field(default_factory=list)


def _worst(row: Sequence[float], side: float) -> float:
    """The worst aspect ratio of `row` (areas) laid along a side of length `side`."""
    total = sum(row)
    if total <= 0 or side <= 0:
        return float("inf")
    return max(max(side * side * a / (total * total), total * total / (side * side * a)) for a in row)


def squarify(sizes: Sequence[float], rect: Rect) -> list[Rect]:
    """Rectangles tiling `rect`, one per size (in order, sizes > 0), areas proportional to size."""
    x, y, w, h = rect
    total = sum(sizes)
    if not sizes or total <= 0 or w <= 0 or h <= 0:
        return [(x, y, 0.0, 0.0) for _ in sizes]
    areas = [s * w * h / total for s in sizes]
    out: list[Rect] = []
    i = 0
    while i < len(areas):
        side = min(w, h)
        row = [areas[i]]
        j = i + 1
        while j < len(areas) and _worst(row + [areas[j]], side) <= _worst(row, side):
            row.append(areas[j])
            j += 1
        row_area = sum(row)
        thick = row_area / side if side else 0.0
        if j == len(areas):     # the last row fills what is left: its thickness is that
            thick = float(w if w >= h else h)   # side (not a quotient that rounding inflates)
        pos = 0.0
        for a in row:
            length = side * a / row_area if row_area else 0.0
            out.append((x, y + pos, thick, length) if w >= h else (x + pos, y, length, thick))
            pos += length
        if w >= h:          # the row is a column on the left; go on to its right
            x, w = x + thick, w - thick
        else:               # the row is a strip on top; go on below it
            y, h = y + thick, h - thick
        i = j
    return out


def treemap_svg(nodes: Sequence[Node], *, title: str = "", width: int = 640, height: int = 360,
                fmt: Callable[[int], str] = str) -> str:
    """SVG text of `nodes` (already in display order); folders with children are nested."""
    top = 22 if title else 0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="vdfs-treemap" width="{width}" '
             f'height="{height + top}" viewBox="0 0 {width} {height + top}" font-family="sans-serif" '
             f'font-size="11">']
    if title:
        parts.append(f'<text x="4" y="15" font-size="12" font-weight="bold" fill="#234">'
                     f'{html.escape(title)}</text>')
    shown = [n for n in nodes if n.size > 0]
    if not shown:
        parts.append(f'<text x="{width // 2}" y="{top + height // 2}" text-anchor="middle">'
                     'nothing to show (no bytes)</text>')
    for i, (node, rect) in enumerate(zip(shown, squarify([n.size for n in shown], (0, top, width, height)))):
        _cell(parts, node, rect, PALETTE[i % len(PALETTE)], 1, fmt)
    parts.append("</svg>")
    return "".join(parts)


def _cell(parts: list[str], node: Node, rect: Rect, colour: str, depth: int,
          fmt: Callable[[int], str]) -> None:
    x, y, w, h = (round(v, 2) for v in rect)
    esc = html.escape
    opacity = max(0.35, 1.0 - 0.25 * (depth - 1)) if node.kind == "folder" else 0.25
    parts.append(f'<rect class="vdfs-cell vdfs-{node.kind}" data-depth="{depth}" x="{x}" y="{y}" '
                 f'width="{w}" height="{h}" fill="{colour}" fill-opacity="{opacity}" stroke="#fff">'
                 f'<title>{esc(node.tooltip or node.name)}</title></rect>')
    label = f"{node.name} · {fmt(node.size)}"
    if w >= len(label) * FONT_W + 6 and h >= 14:
        text = label
    elif w >= len(node.name) * FONT_W + 6 and h >= 14:
        text = node.name
    else:
        text = ""
    if text:
        parts.append(f'<text x="{x + 3}" y="{y + 11}" fill="#111" pointer-events="none">{esc(text)}</text>')
    inner = (x + PAD, y + HEADER, w - 2 * PAD, h - HEADER - PAD)
    kids = [c for c in node.children if c.size > 0]
    if kids and inner[2] > 8 and inner[3] > 8:
        for child, crect in zip(kids, squarify([c.size for c in kids], inner)):
            _cell(parts, child, crect, colour, depth + 1, fmt)

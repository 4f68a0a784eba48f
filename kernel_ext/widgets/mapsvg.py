"""A map of GPS points as a self-contained SVG: no tiles, no network, deterministic output.

Equirectangular projection of the points' bounding box (padded), a light graticule with degree
labels, one circle per point with its label as a tooltip.
"""
from __future__ import annotations

import html
import math
from typing import Sequence

Point = tuple[float, float, str]   # (lat, lon, label)


def _nice_step(span: float) -> float:
    raw = max(span, 1e-6) / 6
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def map_svg(points: Sequence[Point], width: int = 480, height: int = 300, title: str = "") -> str:
    """SVG text plotting `points`; an empty list gives a frame that says so."""
    esc = html.escape
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="vdfs-map" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="10">'
            f'<rect width="{width}" height="{height}" fill="#eef4f8" stroke="#9ab"/>')
    if title:
        head += f'<text x="6" y="14" font-size="12" fill="#234">{esc(title)}</text>'
    if not points:
        return head + f'<text x="{width // 2}" y="{height // 2}" text-anchor="middle">no points</text></svg>'
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    pad_lat = max((max(lats) - min(lats)) * 0.1, 0.01)
    pad_lon = max((max(lons) - min(lons)) * 0.1, 0.01)
    south, north = min(lats) - pad_lat, max(lats) + pad_lat
    west, east = min(lons) - pad_lon, max(lons) + pad_lon
    m = 24  # margin for labels
    # one scale for both axes (degrees are not stretched), the box centred in the frame
    scale = min((width - 2 * m) / (east - west), (height - 2 * m) / (north - south))
    mid_lon, mid_lat = (east + west) / 2, (north + south) / 2
    west, east = mid_lon - (width - 2 * m) / scale / 2, mid_lon + (width - 2 * m) / scale / 2
    south, north = mid_lat - (height - 2 * m) / scale / 2, mid_lat + (height - 2 * m) / scale / 2

    def xy(lat: float, lon: float) -> tuple[float, float]:
        x = m + (lon - west) * scale
        y = m + (north - lat) * scale
        return round(x, 1), round(y, 1)

    parts = [head]
    step = _nice_step(max(east - west, north - south))
    lon = math.ceil(west / step) * step
    while lon <= east:
        x, _ = xy(south, lon)
        parts.append(f'<line x1="{x}" y1="{m}" x2="{x}" y2="{height - m}" stroke="#cdd"/>'
                     f'<text x="{x}" y="{height - 8}" text-anchor="middle" fill="#567">{lon:g}°</text>')
        lon += step
    lat = math.ceil(south / step) * step
    while lat <= north:
        _, y = xy(lat, west)
        parts.append(f'<line x1="{m}" y1="{y}" x2="{width - m}" y2="{y}" stroke="#cdd"/>'
                     f'<text x="4" y="{y}" fill="#567">{lat:g}°</text>')
        lat += step
    for plat, plon, label in points:
        x, y = xy(plat, plon)
        parts.append(f'<circle cx="{x}" cy="{y}" r="5" fill="#d33" fill-opacity="0.8" stroke="#fff">'
                     f'<title>{esc(label)} ({plat:.5f}, {plon:.5f})</title></circle>'
                     f'<text x="{x + 7}" y="{y + 3}" fill="#333">{esc(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)

"""Extension views from ui_manifest.json, rendered inline: list, grid, table, map, timeline.

A view is a DSL query plus a component; the query runs through `lib.query` like any other, and
the component decides how rows look. Output is HTML plus a plain-text twin (stable for nbval).
"""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any, Sequence

from ..display import cell_text, html_table, text_table
from .mapsvg import map_svg

LAT = ("lat", "latitude", "gps_lat", "gps_latitude")
LON = ("lon", "lng", "longitude", "gps_lon", "gps_lng", "gps_longitude")
LABEL = ("name", "title", "label", "filename", "path")
THUMB_PX = 96


def _pick(columns: Sequence[str], names: Sequence[str]) -> str | None:
    lower = {c.lower(): c for c in columns}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def _label(row: dict[str, Any], columns: Sequence[str]) -> str:
    col = _pick(columns, LABEL) or (columns[0] if columns else None)
    value = row.get(col) if col else None
    if col == "path" and isinstance(value, str):
        value = Path(value).name
    return cell_text(value)


def thumbnail_data_uri(path: str | None, px: int = THUMB_PX) -> str | None:
    """A small PNG of the image at `path` as a data: URI (None if it is not a readable image)."""
    if not path:
        return None
    try:
        from PIL import Image
        with Image.open(path) as im:
            im = im.convert("RGB")
            im.thumbnail((px, px))
            buf = io.BytesIO()
            im.save(buf, format="PNG", optimize=False)
    except Exception:  # not an image, unreadable, or gone since indexing
        return None
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class ViewOutput:
    """A rendered view: `_repr_html_` for notebooks, `repr` for terminals and tests."""

    def __init__(self, label: str, component: str, html_body: str, text_body: str, rows: list[dict]):
        self.label, self.component, self.rows = label, component, rows
        self._html, self._text = html_body, text_body

    def _repr_html_(self) -> str:
        return (f'<div class="vdfs-view vdfs-{html.escape(self.component)}">'
                f'<div class="vdfs-caption"><b>{html.escape(self.label)}</b> · '
                f'{len(self.rows)} item{"" if len(self.rows) == 1 else "s"}</div>{self._html}</div>')

    def __repr__(self) -> str:
        return f"{self.label} ({self.component}, {len(self.rows)} item{'' if len(self.rows) == 1 else 's'})\n{self._text}".rstrip()

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


def render_rows(component: str, label: str, columns: Sequence[str], rows: list[dict[str, Any]]) -> ViewOutput:
    """Render query rows as `component` (one of core.extensions.manifest.COMPONENTS)."""
    columns = list(columns)
    if component == "map_view":
        lat, lon = _pick(columns, LAT), _pick(columns, LON)
        pts = [(float(r[lat]), float(r[lon]), _label(r, columns)) for r in rows
               if lat and lon and r.get(lat) is not None and r.get(lon) is not None]
        text = "\n".join(f"  {n}: {a:.5f}, {b:.5f}" for a, b, n in pts)
        if not (lat and lon):
            text = f"  (the query has no latitude/longitude columns; it has {', '.join(columns)})"
        return ViewOutput(label, component, map_svg(pts, title=label), text, rows)
    if component == "grid_view":
        path_col = _pick(columns, ("path",))
        tiles, lines = [], []
        for r in rows:
            name = _label(r, columns)
            uri = thumbnail_data_uri(r.get(path_col)) if path_col else None
            img = (f'<img src="{uri}" alt="{html.escape(name)}" style="max-width:{THUMB_PX}px;'
                   f'max-height:{THUMB_PX}px"/>' if uri else
                   f'<div style="width:{THUMB_PX}px;height:{THUMB_PX}px;background:#ddd"></div>')
            tiles.append(f'<figure style="display:inline-block;margin:4px;text-align:center;width:{THUMB_PX + 8}px">'
                         f'{img}<figcaption style="font-size:11px;overflow:hidden">{html.escape(name)}'
                         f'</figcaption></figure>')
            lines.append(f"  [{'img' if uri else '   '}] {name}")
        return ViewOutput(label, component, '<div class="vdfs-grid">' + "".join(tiles) + "</div>",
                          "\n".join(lines), rows)
    if component in ("list_view", "timeline_view"):
        others = [c for c in columns if c != _pick(columns, LABEL) and c not in ("uuid", "path")]
        items, lines = [], []
        for r in rows:
            name = _label(r, columns)
            extra = " · ".join(f"{c}: {cell_text(r.get(c))}" for c in others if r.get(c) is not None)
            items.append(f"<li><b>{html.escape(name)}</b>"
                         f"{' <span style=color:#666>' + html.escape(extra) + '</span>' if extra else ''}</li>")
            lines.append(f"  - {name}" + (f" ({extra})" if extra else ""))
        return ViewOutput(label, component, "<ul>" + "".join(items) + "</ul>", "\n".join(lines), rows)
    table = [[r.get(c) for c in columns] for r in rows]
    return ViewOutput(label, component, html_table(columns, table), text_table(columns, table), rows)


def render_view(lib: Any, extension_id: str, view_id: str, *, limit: int | None = None) -> ViewOutput:
    """Run the view's query and render it."""
    from .registry import find_view
    view, query = find_view(lib, extension_id, view_id)
    result = lib.query(query)
    rows = result.rows()
    if limit is not None:
        rows = rows[:limit]
    columns = list(getattr(result, "columns", None) or (list(rows[0]) if rows else []))
    return render_rows(view.get("component", "table_view"), view.get("label", view_id), columns, rows)

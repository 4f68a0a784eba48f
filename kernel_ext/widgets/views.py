"""Extension views from ui_manifest.json, rendered inline: list, grid, table, map, timeline.

A view is a DSL query plus a component; the query runs through `lib.query` like any other, and
the component decides how rows look. Output is HTML plus a plain-text twin (stable for nbval).
"""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, Callable, Sequence

from ..display import cell_text, html_table, text_table
from .mapsvg import map_svg
from .thumbs import THUMB_PX, thumbnail

LAT = ("lat", "latitude", "gps_lat", "gps_latitude")
LON = ("lon", "lng", "longitude", "gps_lon", "gps_lng", "gps_longitude")
LABEL = ("name", "title", "label", "filename", "path", "key")


def _pick(columns: Sequence[str], names: Sequence[str]) -> str | None:
    lower = {c.lower(): c for c in columns}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def _label(row: dict[str, Any], columns: Sequence[str], find_path: "PathFinder | None" = None) -> str:
    """The first non-empty of name/title/label/filename/path/key (a path shows its file name),
    else the name of the file behind the row, else its first column."""
    for name in LABEL:
        value = row.get(name)
        if value not in (None, ""):
            return cell_text(Path(value).name if name == "path" and isinstance(value, str) else value)
    path = find_path(row) if find_path else None
    if path:
        return cell_text(Path(path).name)
    return cell_text(row.get(columns[0])) if columns else ""


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


def flatten_models(columns: Sequence[str], rows: list[dict[str, Any]]) -> tuple[list[str], list[dict]]:
    """A `models …` query returns inline fields inside `data`: lift them into the row."""
    columns = list(columns)
    if "data" not in columns or not any(isinstance(_json(r.get("data")), dict) for r in rows):
        return columns, rows
    rows = [{**r, "data": _json(r.get("data"))} for r in rows]
    keys: list[str] = []
    for r in rows:
        for k in (r.get("data") or {}):
            if k not in keys and k not in columns:
                keys.append(k)
    out = [{**{k: v for k, v in r.items() if k != "data"},
            **{k: v for k, v in (r.get("data") or {}).items() if k in keys}} for r in rows]
    hidden = {"data", "uuid", "extension_id", "model_type", "content_uuid", "entry_uuid",
              "standalone", "created_at", "updated_at", "content_ids", "key"}
    return [c for c in columns + keys if c not in hidden], out


def _json(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


PathFinder = Callable[[dict[str, Any]], "str | None"]


def render_rows(component: str, label: str, columns: Sequence[str], rows: list[dict[str, Any]],
                find_path: PathFinder | None = None, lib: Any = None) -> ViewOutput:
    """Render query rows as `component` (one of core.extensions.manifest.COMPONENTS).

    `find_path(row)` gives the file behind a row without a `path` column (e.g. a model's
    content), so a grid can still show a thumbnail; with `lib`, thumbnails come from (and are
    stored as) the library's sidecars and tiles that are no picture name their kind."""
    columns, rows = flatten_models(columns, rows)
    if component == "map_view":
        lat, lon = _pick(columns, LAT), _pick(columns, LON)
        pts = [(float(r[lat]), float(r[lon]), _label(r, columns, find_path)) for r in rows
               if lat and lon and r.get(lat) is not None and r.get(lon) is not None]
        text = "\n".join(f"  {n}: {a:.5f}, {b:.5f}" for a, b, n in pts)
        if not (lat and lon):
            text = f"  (the query has no latitude/longitude columns; it has {', '.join(columns)})"
        return ViewOutput(label, component, map_svg(pts, title=label), text, rows)
    if component == "grid_view":
        path_col = _pick(columns, ("path",))
        tiles, lines = [], []
        for r in rows:
            path = r.get(path_col) if path_col else (find_path(r) if find_path else None)
            name = _label(r, columns, lambda _r: path)   # the file found once, not twice
            uri, kind = thumbnail(lib, r, path)
            img = (f'<img class="vdfs-thumb" src="{uri}" alt="{html.escape(name)}" '
                   f'style="max-width:{THUMB_PX}px;max-height:{THUMB_PX}px"/>' if uri else
                   f'<div class="vdfs-kind" style="width:{THUMB_PX}px;height:{THUMB_PX}px;'
                   f'background:#e4e7eb;color:#556;display:flex;align-items:center;'
                   f'justify-content:center;font-size:12px">{html.escape(kind)}</div>')
            tiles.append(f'<figure style="display:inline-block;margin:4px;text-align:center;width:{THUMB_PX + 8}px">'
                         f'{img}<figcaption style="font-size:11px;overflow:hidden">{html.escape(name)}'
                         f'</figcaption></figure>')
            lines.append(f"  [{'img' if uri else kind}] {name}")
        return ViewOutput(label, component, '<div class="vdfs-grid">' + "".join(tiles) + "</div>",
                          "\n".join(lines), rows)
    if component in ("list_view", "timeline_view"):
        others = [c for c in columns if c != _pick(columns, LABEL) and c not in ("uuid", "path")]
        items, lines = [], []
        for r in rows:
            name = _label(r, columns, find_path)
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
    columns = list(result.columns)
    return render_rows(view.get("component", "table_view"), view.get("label", view_id), columns, rows,
                       find_path=lambda row: content_path(lib, row), lib=lib)


def content_path(lib: Any, row: dict[str, Any]) -> str | None:
    """A file holding the row's content: its `content_uuid`, or the first of its `content_ids`."""
    ids = [row.get("content_uuid")] + list(row.get("content_ids") or [])
    for cid in ids:
        if not cid:
            continue
        try:
            found = lib.query("entries where content_uuid = :c select path order by path limit 1",
                              c=str(cid)).rows()
        except Exception:  # a malformed id in extension data: no thumbnail, not an error
            continue
        if found:
            return found[0]["path"]
    return None

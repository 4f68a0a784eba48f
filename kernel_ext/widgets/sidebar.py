"""`%vdfs sidebar EXT`: an extension's ui_manifest sidebar sections and menus, rendered inline.

Each section's query runs through `lib.query` like any view's, and its `render_type` picks the
view component (list, grid, table, map, timeline; a gallery is a grid). Menus become the magics
that run their items: an action is previewed, a job run, a view shown. Output is HTML plus a
plain-text twin (stable for nbval), like every view.
"""
from __future__ import annotations

import base64
import html
import mimetypes
from pathlib import Path
from typing import Any

from .views import ViewOutput, content_path, render_rows

COMPONENT_OF = {"list": "list_view", "grid": "grid_view", "gallery": "grid_view",
                "table": "table_view", "map": "map_view", "timeline": "timeline_view"}
SECTION_LIMIT = 12


def menu_command(extension_id: str, item: dict[str, Any]) -> str:
    """The magic a menu item stands for."""
    if "action" in item:
        return f"%vdfs preview {_qualified(extension_id, item['action'])}"
    if "job" in item:
        return f"%vdfs run {_qualified(extension_id, item['job'])}"
    return f"%vdfs view {extension_id}/{item['view']}"


def _qualified(extension_id: str, name: str) -> str:
    return name if "." in name else f"{extension_id}.{name}"


def icon_uri(root: Path | None, icon: str | None) -> str | None:
    """The icon file of the package as a data: URI (None when there is no such file)."""
    if not root or not icon:
        return None
    path = (root / icon).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return None
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if not mime.startswith("image/"):
        return None
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


class SidebarOutput:
    """The rendered sidebar: sections (each a ViewOutput) and menus."""

    def __init__(self, extension_id: str, name: str, sections: list[tuple[str | None, ViewOutput]],
                 menus: list[dict[str, Any]]):
        self.extension_id, self.name = extension_id, name
        self.sections, self.menus = sections, menus

    def _menu_lines(self) -> list[tuple[str, str]]:
        return [(f"{m['label']} › {it['label']}", menu_command(self.extension_id, it))
                for m in self.menus for it in m["items"]]

    def _repr_html_(self) -> str:
        parts = [f'<div class="vdfs-sidebar"><div class="vdfs-caption"><b>{html.escape(self.name)}'
                 f'</b> <code>{html.escape(self.extension_id)}</code></div>']
        for icon, view in self.sections:
            img = (f'<img src="{icon}" alt="" style="width:16px;height:16px;'
                   f'vertical-align:middle;margin-right:4px"/>' if icon else "")
            parts.append(f'<details open class="vdfs-section"><summary>{img}'
                         f'{html.escape(view.label)} ({len(view.rows)})</summary>'
                         f'{view._repr_html_()}</details>')
        if self.menus:
            items = "".join(f"<li>{html.escape(label)}: <code>{html.escape(cmd)}</code></li>"
                            for label, cmd in self._menu_lines())
            parts.append(f'<div class="vdfs-menus"><b>Menus</b><ul>{items}</ul></div>')
        return "".join(parts) + "</div>"

    def __repr__(self) -> str:
        lines = [f"{self.name} ({self.extension_id})"]
        for _icon, view in self.sections:
            lines += ["", repr(view)]
        if self.menus:
            lines += ["", "Menus"] + [f"  {label}: {cmd}" for label, cmd in self._menu_lines()]
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


def render_sidebar(lib: Any, extension_id: str, *, limit: int = SECTION_LIMIT) -> SidebarOutput:
    """Run every sidebar section's query and render it; list the menus."""
    from ..errors import VdfsUsageError
    from .registry import definition, ui_manifest
    d = definition(lib, extension_id)
    ui = ui_manifest(d)
    if ui is None or not (ui.sidebar_sections or ui.menus):
        raise VdfsUsageError(f"extension {extension_id!r} has no sidebar sections or menus in "
                             "its ui_manifest")
    root = getattr(getattr(d, "package", None), "root", None)
    sections = []
    for s in ui.sidebar_sections:
        result = lib.query(ui.query_text(s))
        view = render_rows(COMPONENT_OF[s["render_type"]], s["label"], list(result.columns),
                           result.rows()[:limit], find_path=lambda row: content_path(lib, row),
                           lib=lib)
        sections.append((icon_uri(root, s.get("icon")), view))
    return SidebarOutput(extension_id, d.name, sections, list(ui.menus))

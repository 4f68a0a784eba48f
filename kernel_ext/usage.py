"""`%vdfs usage [PATH] [--depth N]`: where the bytes are, as a treemap of folders.

Folder sizes come from the library (the indexer stores a folder's `size` as the total of
everything below it), so this reads folders only, never the files themselves. A folder's own
files are one cell, "(N files)", beside its subfolders (a folder without subfolders is one
cell).
"""
from __future__ import annotations

import os
from typing import Any

from .display import human_size, text_table
from .errors import VdfsUsageError
from .widgets.treemap import Node, treemap_svg

FIELDS = "id, parent_id, name, path, size, child_count"


def _folder(lib: Any, path: str) -> dict[str, Any] | None:
    rows = lib.query(f"folders where path = :p select {FIELDS}", p=path).rows()
    return rows[0] if rows else None


def resolve_root(lib: Any, target: str | None) -> list[dict[str, Any]]:
    """The folders to draw: every location's root (no target), a location by name, or a folder."""
    if target is None:
        roots = [_folder(lib, r["path"]) for r in lib.query("locations select path order by name").rows()]
        return [r for r in roots if r is not None]
    named = lib.query("locations where name = :n select path", n=target).rows()
    path = named[0]["path"] if named else os.path.abspath(os.path.expanduser(target))
    found = _folder(lib, path)
    if found is None:
        raise VdfsUsageError(f"{target} is not an indexed folder or location "
                             "(index it first: %vdfs index PATH)")
    return [found]


#: folder id -> its subfolders' rows
Below = dict[int, list[dict[str, Any]]]


def _below(lib: Any, root: dict[str, Any]) -> Below:
    """Every folder under `root`, by parent: one query for the whole tree."""
    out: Below = {}
    for row in lib.query(f"folders in :p select {FIELDS}", p=root["path"]).rows():
        out.setdefault(row["parent_id"], []).append(row)
    return out


class Usage:
    """The treemap (HTML) and a summary table (text) of where the bytes of some folders are."""

    def __init__(self, lib: Any, target: str | None = None, depth: int = 2):
        if depth < 1:
            raise VdfsUsageError("--depth needs a number >= 1")
        self.depth = depth
        roots = resolve_root(lib, target)
        self.lines: list[list[Any]] = []
        if len(roots) == 1:
            root = roots[0]
            self.name, self.total = root["name"], int(root["size"] or 0)
            self.nodes = self._children(root, "", 1, _below(lib, root))
        else:
            self.name, self.total = "all locations", sum(int(r["size"] or 0) for r in roots)
            self.nodes = [self._node(r, r["name"], 1, _below(lib, r)) for r in self._sorted(roots)]

    # ---- the tree -----------------------------------------------------------------------
    @staticmethod
    def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(rows, key=lambda r: (-(r["size"] or 0), r["name"]))

    def _children(self, root: dict[str, Any], prefix: str, level: int, below: Below) -> list[Node]:
        subs = self._sorted(below.get(root["id"], []))
        nodes = [self._node(s, f"{prefix}{s['name']}", level, below) for s in subs]
        own = max(0, int(root["size"] or 0) - sum(int(s["size"] or 0) for s in subs))
        n_files = max(0, int(root["child_count"] or 0) - len(subs))
        if own > 0 or n_files:
            label = f"({n_files} file{'' if n_files == 1 else 's'})"
            nodes.append(Node(label, own, f"{prefix}{label}: {human_size(own)}", kind="files"))
            self.lines.append([f"{prefix}{label}", human_size(own), self._share(own)])
        return nodes

    def _node(self, row: dict[str, Any], rel: str, level: int, below: Below) -> Node:
        size = int(row["size"] or 0)
        self.lines.append([rel + "/", human_size(size), self._share(size)])
        node = Node(row["name"], size, f"{rel}/: {human_size(size)}")
        if level < self.depth and below.get(row["id"]):   # a folder of files only stays whole
            node.children = self._children(row, f"{rel}/", level + 1, below)
        return node

    def _share(self, size: int) -> str:
        return f"{100 * size / self.total:.1f}%" if self.total else ""

    # ---- output -------------------------------------------------------------------------
    @property
    def title(self) -> str:
        return f"disk usage of {self.name}: {human_size(self.total)}"

    def svg(self) -> str:
        return treemap_svg(self.nodes, title=self.title, fmt=human_size)

    def _repr_html_(self) -> str:
        return f'<div class="vdfs-usage">{self.svg()}</div>'

    def __repr__(self) -> str:
        return text_table(["folder", "size", "share"], self.lines, title=self.title, noun="cell")

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

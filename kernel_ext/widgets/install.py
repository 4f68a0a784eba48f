"""The install dialog: what an extension asks for, which of it to grant, and where.

Each requested permission gets a checkbox and a location picker (no location picked means
everywhere). Install grants exactly what is checked, scoped as picked; the extension cannot get
more than it requested (core validates that), only less.
"""
from __future__ import annotations

import html
import threading
from typing import Any, Iterable, Mapping

import ipywidgets as W

from .base import TextFallback, button


def _locations(lib: Any) -> list[tuple[str, str]]:
    """(label, scope value) per location of this library: name and root path."""
    rows = lib.conn.execute("SELECT name, path FROM locations ORDER BY name").fetchall()
    return [(f"{name}", path) for name, path in rows]


class InstallDialog(TextFallback, W.VBox):
    """Review and grant an extension's permissions, then install it into the open library."""

    def __init__(self, lib: Any, ext: Any):
        from core.extensions.wasm.install import resolve_any
        self.lib, self.ext = lib, ext
        self.definition = d = resolve_any(lib, ext)
        self.state, self.error = "pending", None
        self.granted: list[Any] = []
        self._lock = threading.Lock()
        locs = _locations(lib)
        self._rows = []
        for spec in d.permissions:
            box = W.Checkbox(value=True, description=str(spec), indent=False,
                             layout=W.Layout(width="45%"))
            where = W.SelectMultiple(options=locs, rows=min(4, max(1, len(locs))),
                                     layout=W.Layout(width="45%"),
                                     tooltip="no selection: everywhere")
            self._rows.append((spec, box, where))
        head = W.HTML(f"<b>Install {html.escape(d.name)}</b> <code>{html.escape(d.id)}</code> "
                      f"{html.escape(d.version)}<br><i>{html.escape(d.description or '')}</i><br>"
                      f"It requests {len(d.permissions)} permission"
                      f"{'' if len(d.permissions) == 1 else 's'}; untick to refuse, pick locations "
                      "to limit (none picked: everywhere).")
        self._install = button("Install", "download", "primary")
        self._cancel = button("Cancel", "times")
        self._install.on_click(lambda _b: self.install())
        self._cancel.on_click(lambda _b: self.cancel())
        self._status = W.HTML()
        super().__init__([head, *[W.HBox([b, w]) for _s, b, w in self._rows],
                          W.HBox([self._install, self._cancel]), self._status])
        self.add_class("vdfs-install-dialog")
        self._render()

    @classmethod
    def start(cls, lib: Any, ext: Any, *, grant_all: bool = False) -> "InstallDialog":
        dialog = cls(lib, ext)
        if grant_all:
            dialog.install()
        return dialog

    def install(self, refuse: Iterable[str] = (), scopes: Mapping[str, list[str]] | None = None) -> Any:
        """Install with the checked permissions (minus `refuse`, by permission name), each scoped
        to the picked locations or to `scopes[name]` (paths or location names)."""
        refuse, scopes = set(refuse), dict(scopes or {})
        with self._lock:
            if self.state != "pending":
                return None
            grants = []
            for spec, box, where in self._rows:
                if not box.value or spec.name in refuse:
                    continue
                scope = list(scopes.get(spec.name, where.value))
                grants.append(spec.scoped_to(*scope) if scope else spec)
            try:
                from .registry import manager
                ctx = manager(self.lib).install(self.ext, grants=grants)
                self.granted, self.state = grants, "installed"
            except Exception as exc:  # refused grants, incompatible core: shown in the dialog
                self.state, self.error, ctx = "failed", str(exc), None
        self._render()
        return ctx

    def cancel(self) -> None:
        with self._lock:
            if self.state == "pending":
                self.state = "cancelled"
        self._render()

    def _grant_lines(self) -> list[str]:
        lines = []
        for spec, box, where in self._rows:
            if self.state == "installed":
                g = next((g for g in self.granted if getattr(g, "permission", g) == spec), None)
                if g is None:
                    lines.append(f"  [ ] {spec}")
                    continue
                scope = list(getattr(g, "scope", ()) or ())
                lines.append(f"  [x] {spec}  scope: {', '.join(_short(s) for s in scope) or 'everywhere'}")
            else:
                picked = [label for label, value in where.options if value in where.value]
                lines.append(f"  [{'x' if box.value else ' '}] {spec}  scope: "
                             f"{', '.join(picked) or 'everywhere'}")
        return lines

    def _status_text(self) -> str:
        d = self.definition
        return {"pending": "pending: Install grants the ticked permissions",
                "installed": f"installed {d.id} {d.version} with {len(self.granted)} grant"
                             f"{'' if len(self.granted) == 1 else 's'}",
                "cancelled": "cancelled: nothing was installed",
                "failed": f"not installed: {self.error}"}[self.state]

    def _render(self) -> None:
        done = self.state != "pending"
        for _s, box, where in self._rows:
            box.disabled = where.disabled = done
        self._install.disabled = self._cancel.disabled = done
        color = {"installed": "#2a7", "failed": "#b00"}.get(self.state, "#555")
        self._status.value = f'<span style="color:{color}">{html.escape(self._status_text())}</span>'

    def text(self) -> str:
        d = self.definition
        return "\n".join([f"install {d.id} {d.version} ({d.name})", *self._grant_lines(),
                          self._status_text()])


def _short(scope: str) -> str:
    """A scope as shown: the last folder name of a path (temp paths differ between runs)."""
    return scope.rstrip("/").rsplit("/", 1)[-1] if "/" in scope else scope

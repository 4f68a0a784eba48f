"""The action preview: the changes an action proposes, Commit / Discard, then verify and Undo.

Preview and commit are separate steps on purpose: a button click is handled by the kernel only
once the cell that drew the buttons has finished, so the preview cell returns at once and the
click commits later. Targets are shown by name (entry path relative to its location), never by
UUID, so the text form is stable across runs.
"""
from __future__ import annotations

import html
import threading
import uuid
from typing import Any

import ipywidgets as W

from ..display import cell_text
from .base import TextFallback, button


# ---- the one place that knows core's action API ------------------------------------------
# core.actions checks an extension's action against its grants on every preview and commit,
# so the widget calls it like any other caller.
def preview_action(lib: Any, name: str, args: dict[str, Any]) -> Any:
    return lib.actions.preview(name, **args)


def commit_action(lib: Any, preview: Any) -> Any:
    return lib.actions.commit(preview)


def undo_action(lib: Any, result: Any) -> Any:
    return lib.actions.undo(result.audit_id)


# ---- naming targets ----------------------------------------------------------------------
def target_name(lib: Any, target: str) -> str:
    """'entry:<uuid>' → the entry's path inside its location; content/model similarly."""
    scope, _, ident = target.partition(":")
    try:
        u = uuid.UUID(ident)
    except ValueError:
        return target
    conn = lib.conn
    if scope == "entry":
        row = conn.execute("SELECT e.path, l.path FROM entries e JOIN locations l ON l.id = e.location_id "
                           "WHERE e.uuid = ?", (u.bytes,)).fetchone()
        if row:
            path, root = row
            return path[len(root):].lstrip("/") if path.startswith(root) else path
    elif scope == "content":
        row = conn.execute("SELECT e.name FROM entries e JOIN content_identities c ON c.id = e.content_id "
                           "WHERE c.uuid = ? ORDER BY e.path LIMIT 1", (u.bytes,)).fetchone()
        if row:
            return f"content of {row[0]}"
    elif scope == "model":
        row = conn.execute("SELECT model_type FROM models WHERE uuid = ?", (u.bytes,)).fetchone()
        if row:
            return f"{row[0]} model"
    return f"{scope} (gone)"


def _row(lib: Any, change: Any) -> tuple[str, str, str, str]:
    """(kind, target, before, after) as short words; models by type and their scalar fields."""
    if change.kind in ("create_model", "delete_model"):
        spec = change.after if change.kind == "create_model" else change.before
        spec = spec if isinstance(spec, dict) else {}
        data = spec.get("data") if isinstance(spec.get("data"), dict) else {}
        fields = ", ".join(f"{k}={v!r}" for k, v in data.items() if _short_scalar(v))
        what = f"{'new ' if change.kind == 'create_model' else ''}{spec.get('model_type', 'model')}"
        if change.kind == "delete_model":
            what = target_name(lib, change.target)
        return (change.kind, what, "", cell_text(fields, 60))
    return (change.kind, target_name(lib, change.target), _value(change.before), _value(change.after))


def _short_scalar(v: Any) -> bool:
    if isinstance(v, str):
        return len(v) <= 30 and not _looks_like_uuid(v)
    return isinstance(v, (int, float, bool))


def _looks_like_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
        return True
    except ValueError:
        return False


def _value(v: Any) -> str:
    if isinstance(v, str) and v.startswith("/"):
        return v.rsplit("/", 1)[-1] or v
    return "" if v is None else cell_text(v, 50)


class ActionPanel(TextFallback, W.VBox):
    """Commit / Discard for one previewed action; after commit, the verify result and Undo."""

    def __init__(self, lib: Any, preview: Any):
        self.lib, self.preview = lib, preview
        self.state = "pending"          # pending → committed → undone, or discarded / failed
        self.result: Any = None
        self.error: str | None = None
        self._lock = threading.Lock()
        self.rows = [_row(lib, c) for c in preview.changes]
        self._title = W.HTML(self._title_html())
        self._changes = W.HTML(self._changes_html())
        self._status = W.HTML()
        self._commit = button("Commit", "check", "success", "apply every change, then verify")
        self._discard = button("Discard", "times")
        self._undo = button("Undo", "undo", "warning", "apply the recorded inverse")
        self._commit.on_click(lambda _b: self.commit())
        self._discard.on_click(lambda _b: self.discard())
        self._undo.on_click(lambda _b: self.undo())
        super().__init__([self._title, self._changes, W.HBox([self._commit, self._discard, self._undo]),
                          self._status])
        self.add_class("vdfs-action-preview")
        self._render()

    @classmethod
    def start(cls, lib: Any, name_or_preview: Any, args: dict[str, Any]) -> "ActionPanel":
        """Preview the action `name` with `args`, or show an ActionPreview already made."""
        from core.actions import ActionPreview
        if isinstance(name_or_preview, ActionPreview):
            return cls(lib, name_or_preview)
        return cls(lib, preview_action(lib, name_or_preview, args))

    # ---- steps --------------------------------------------------------------------------
    def commit(self) -> Any:
        with self._lock:
            if self.state != "pending":
                return self.result
            try:
                self.result = commit_action(self.lib, self.preview)
                self.state, self.error = "committed", None
            except Exception as exc:  # stale preview, failed verification: shown, not raised
                self.state, self.error = "failed", str(exc)
        self._render()
        return self.result

    def discard(self) -> None:
        with self._lock:
            if self.state == "pending":
                self.state = "discarded"
        self._render()

    def undo(self) -> Any:
        with self._lock:
            if self.state != "committed":
                return None
            try:
                out = undo_action(self.lib, self.result)
                self.state, self.error = "undone", None
            except Exception as exc:
                self.error = f"undo failed: {exc}"
                out = None
        self._render()
        return out

    # ---- output -------------------------------------------------------------------------
    def _title_html(self) -> str:
        p = self.preview
        rev = "reversible" if p.reversible else "NOT reversible"
        return (f"<b>{html.escape(p.title)}</b> — {len(p.changes)} change"
                f"{'' if len(p.changes) == 1 else 's'}, {rev}")

    def _changes_html(self, limit: int = 50) -> str:
        body = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(t)}</td><td>{html.escape(b)}</td>"
                       f"<td>{html.escape(a)}</td></tr>" for k, t, b, a in self.rows[:limit])
        if len(self.rows) > limit:
            body += f'<tr><td colspan="4">… and {len(self.rows) - limit} more</td></tr>'

        return ('<table class="vdfs-table vdfs-changes"><thead><tr><th>change</th><th>target</th>'
                f"<th>before</th><th>after</th></tr></thead><tbody>{body}</tbody></table>")

    def _status_text(self) -> str:
        n = len(self.preview.changes)
        return {"pending": "pending: Commit applies the changes, Discard drops them",
                "committed": f"committed and verified: {n} change{'' if n == 1 else 's'} applied",
                "discarded": "discarded: nothing was changed",
                "undone": "undone: every change was reverted",
                "failed": f"not committed: {self.error}"}[self.state] + (
                    f" ({self.error})" if self.error and self.state == "committed" else "")

    def _render(self) -> None:
        color = {"committed": "#2a7", "failed": "#b00", "undone": "#a60"}.get(self.state, "#555")
        self._status.value = (f'<span class="vdfs-action-status" style="color:{color}">'
                              f"{html.escape(self._status_text())}</span>")
        self._commit.disabled = self.state != "pending"
        self._discard.disabled = self.state != "pending"
        self._undo.disabled = not (self.state == "committed" and self.preview.reversible)

    def text(self) -> str:
        lines = [f"preview: {self.preview.title} ({len(self.rows)} change"
                 f"{'' if len(self.rows) == 1 else 's'}, "
                 f"{'reversible' if self.preview.reversible else 'NOT reversible'})"]
        lines += [f"  - {k} {t}: {b + ' -> ' if b else ''}{a}".rstrip(": ") for k, t, b, a in self.rows]
        lines.append(self._status_text())
        return "\n".join(lines)

"""Actions (docs/architecture.md §5): preview → commit → verify, audited, undoable.

    from core.actions import action, preview, commit, undo
    p = preview(lib, "photos.tag_big", min_size=10_000_000)   # changes nothing
    print(p)                                                   # what would happen
    result = commit(lib, p)                                    # exactly that, or nothing
    undo(lib, result.audit_id)
"""
from typing import Any

from .context import ActionContext, action, action_execute, get_action
from .engine import audit_log, commit, preview, preview_changes, undo
from .model import (ActionError, ActionPreview, ActionResult, Change, StaleActionError,
                    VerificationFailed)


class ActionManager:
    """The actions API bound to one library: what `lib.actions` returns."""

    def __init__(self, lib: Any):
        self.lib = lib

    def context(self, actor: str = "user") -> ActionContext:
        """A context for building changes by hand (ctx.add_tag, ctx.move …)."""
        return ActionContext(self.lib, actor=actor)

    def preview(self, name_or_fn: Any, *, actor: str | None = None, **args: Any) -> ActionPreview:
        return preview(self.lib, name_or_fn, actor=actor, **args)

    def commit(self, p: ActionPreview, *, actor: str | None = None) -> ActionResult:
        return commit(self.lib, p, actor=actor)

    def undo(self, audit_id: int, *, actor: str = "user") -> ActionResult:
        return undo(self.lib, audit_id, actor=actor)

    def log(self, limit: int | None = 50) -> list[dict[str, Any]]:
        return audit_log(self.lib, limit=limit)


def actions_for(lib: Any) -> ActionManager:
    return lib.service("actions", lambda: ActionManager(lib))


__all__ = ["ActionContext", "ActionError", "ActionManager", "ActionPreview", "ActionResult",
           "Change", "StaleActionError", "VerificationFailed", "action", "action_execute",
           "actions_for", "audit_log", "commit", "get_action", "preview", "preview_changes",
           "undo"]

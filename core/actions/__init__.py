"""Actions (docs/architecture.md §5): preview → commit → verify, audited, undoable.

    from core.actions import action
    p = lib.actions.preview("photos.tag_big", min_size=10_000_000)   # changes nothing
    print(p)                                                         # what would happen
    result = lib.actions.commit(p)                                   # exactly that, or nothing
    lib.actions.undo(result.audit_id)

`lib.actions` is the one entry point; core.actions.engine holds what it delegates to.
"""
from typing import TYPE_CHECKING, Any, Callable

from .context import ActionContext, action, action_execute, get_action
from . import engine
from .model import (ActionError, ActionPreview, ActionResult, Change, StaleActionError,
                    VerificationFailed)

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library


class ActionManager:
    """The actions API bound to one library: `lib.actions`."""

    def __init__(self, lib: "Library"):
        self.lib = lib

    def context(self, actor: str = "user") -> ActionContext:
        """A context for building changes by hand (ctx.add_tag, ctx.move …)."""
        return ActionContext(self.lib, actor=actor)

    def preview(self, name_or_fn: str | Callable[..., Any], *, actor: str | None = None, **args: Any
                ) -> ActionPreview:
        return engine.preview(self.lib, name_or_fn, actor=actor, **args)

    def preview_changes(self, title: str, changes: list[Change], *,
                        reversible: bool | None = None) -> ActionPreview:
        """A preview built by hand from changes (no registered action), sealed against now."""
        return engine.preview_changes(self.lib, title, changes, reversible=reversible)

    def commit(self, p: ActionPreview, *, actor: str | None = None) -> ActionResult:
        return engine.commit(self.lib, p, actor=actor)

    def undo(self, audit_id: int, *, actor: str = "user") -> ActionResult:
        return engine.undo(self.lib, audit_id, actor=actor)

    def log(self, limit: int | None = 50) -> list[dict[str, Any]]:
        return engine.audit_log(self.lib, limit=limit)



__all__ = ["ActionContext", "ActionError", "ActionManager", "ActionPreview", "ActionResult",
           "Change", "StaleActionError", "VerificationFailed", "action", "action_execute",
           "get_action"]

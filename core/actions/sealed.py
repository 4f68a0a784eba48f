"""What an extension's action receives: a facade over ActionContext.

A user's own @action (or core's) gets the ActionContext itself. An action of an extension gets
an ExtensionActionContext: the same change builders (which read the current state in core),
its permission-checked host API (`ctx.vdfs()`), AI models and trail — and no path to the
library (core.access.facade). core.actions checks the changes it proposes against its grants.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.store.facade import Backing, passthrough
from core.access.facade import ExtensionServices, extension_of
from .model import ActionPreview, Change

if TYPE_CHECKING:  # pragma: no cover
    import os
    from core.extensions.context import ExtensionContext
    from core.extensions.host import ScopedVdfsApi
    from core.host import VdfsApi
    from core.store.ids import UuidLike
    from .context import ActionContext
    from .executing import ExecutingVdfs


_actions: Backing["ActionContext"] = Backing("action context")


class ExtensionActionContext(ExtensionServices):
    """Given to an extension's @action and @action_execute functions."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<ExtensionActionContext {self.extension_id} {self.preview_id[:8]}>"

    extension_id = passthrough(_actions, "extension_id")
    actor = passthrough(_actions, "actor")
    args = passthrough(_actions, "args")
    preview_id = passthrough(_actions, "preview_id")

    def vdfs(self) -> VdfsApi | ScopedVdfsApi | ExecutingVdfs:
        """The extension's permission-checked host API."""
        return _actions(self).vdfs()

    def extension(self) -> ExtensionContext:
        return extension_of(_actions(self))

    def preview(self, title: str, changes: list[Change], reversible: bool | None = None
                ) -> ActionPreview:
        return _actions(self).preview(title, changes, reversible)

    def add_tag(self, target: Any, tag: str, *, scope: str = "entry") -> Change:
        return _actions(self).add_tag(target, tag, scope=scope)

    def remove_tag(self, target: Any, tag: str, *, scope: str = "entry") -> Change:
        return _actions(self).remove_tag(target, tag, scope=scope)

    def set_note(self, target: Any, note: str | None, *, scope: str = "entry") -> Change:
        return _actions(self).set_note(target, note, scope=scope)

    def move(self, entry: UuidLike, new_path: str | os.PathLike[str]) -> Change:
        return _actions(self).move(entry, new_path)

    def rename(self, entry: UuidLike, new_name: str) -> Change:
        return _actions(self).rename(entry, new_name)

    def delete(self, entry: UuidLike) -> Change:
        return _actions(self).delete(entry)

    def create_model(self, obj: Any, *, content: UuidLike | None = None,
                     entry: UuidLike | None = None) -> Change:
        return _actions(self).create_model(obj, content=content, entry=entry)

    def delete_model(self, model: Any) -> Change:
        return _actions(self).delete_model(model)

    def apply(self, change: Change) -> None:
        """Apply one change of the preview being committed."""
        _actions(self).apply(change)

    def apply_all(self) -> None:
        _actions(self).apply_all()


def sealed_action(ctx: "ActionContext") -> ExtensionActionContext:
    return _actions.bind(ExtensionActionContext(), ctx)

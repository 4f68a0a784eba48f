"""The host API an @action_execute step sees while its preview is being committed.

An execute step may apply its preview with the host API's own writes — `ctx.vdfs()
.add_tag_to_content(c, "#album")`, as the preview showed — instead of `ctx.apply(change)`.
Each such write is matched to the previewed change it performs and applied by the commit
(checked, verified, audited, undoable like any other); a write the preview did not show is
refused, so an execute step still cannot do more than the user saw. Reads go to the usual
(permission-checked) host API.
"""
from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from core.store.facade import Backing, Facade
from .model import ActionError, Change
from core.domain.tags import canonical_name

if TYPE_CHECKING:  # pragma: no cover
    from core.extensions.host import ScopedVdfsApi
    from core.host import VdfsApi
    from core.store.ids import UuidLike
    from .context import ActionContext

_READS = frozenset({
    "extension_id", "query_entries", "query_models", "query", "explain", "read_entry",
    "entry_path", "get_model", "get_model_by_content", "get_model_by_entry", "list_models",
    "get_tag", "list_tags", "tags_of_entry", "tags_of_content", "tags_of_model", "get_metadata",
    "get_metadata_blob", "read_sidecar", "collection_items", "list_collections"})

class NotWhileCommitting(ActionError, AttributeError):
    """An execute step asked the host API for something other than a previewed change (an
    AttributeError too, so `hasattr` is simply False)."""


_executing: Backing[tuple["ActionContext", Any]] = Backing("committing host API")


class ExecutingVdfs(Facade):
    """`ctx.vdfs()` inside an execute step: tag and model writes apply previewed changes."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<host API while committing a preview>"

    def __getattr__(self, name: str) -> Any:
        if name in _READS:
            return getattr(_executing(self)[1], name)
        if name.startswith("__"):
            raise AttributeError(name)
        raise NotWhileCommitting(
            f"while a preview is committed, vdfs().{name}() is not available: an execute step "
            "applies the previewed changes (add_tag…, remove_tag…, create_model…, delete_model, "
            "or ctx.apply(change)); preview anything else first")

    def _apply(self, kind: str, target: Any, scope: str, value: Any = None) -> bool:
        ctx = _executing(self)[0]
        t = ctx._target(target, scope)
        field = "after" if kind == "add_tag" else "before"
        want = canonical_name(value) if value is not None else None

        def matches(c: Change) -> bool:
            return c.kind == kind and c.target == t and (
                want is None or getattr(c, field) == want)
        _apply_first(ctx, matches, f"{kind} {value or ''} on {t}")
        return True

    # ---- tags (`vdfs.add_tag(id, tag)` tags an entry) --------------------------------------
    def add_tag_to_entry(self, entry_uuid: UuidLike, tag: str) -> bool:
        return self._apply("add_tag", entry_uuid, "entry", tag)

    add_tag = add_tag_to_entry

    def add_tag_to_content(self, content_uuid: UuidLike, tag: str) -> bool:
        return self._apply("add_tag", content_uuid, "content", tag)

    def add_tag_to_model(self, model: Any, tag: str) -> bool:
        return self._apply("add_tag", model, "model", tag)

    def remove_tag_from_entry(self, entry_uuid: UuidLike, tag: str) -> bool:
        return self._apply("remove_tag", entry_uuid, "entry", tag)

    def remove_tag_from_content(self, content_uuid: UuidLike, tag: str) -> bool:
        return self._apply("remove_tag", content_uuid, "content", tag)

    def remove_tag_from_model(self, model: Any, tag: str) -> bool:
        return self._apply("remove_tag", model, "model", tag)

    # ---- models ----------------------------------------------------------------------------
    def create_model(self, m: Any) -> uuid.UUID:
        return self._create(m)

    def create_model_for_content(self, content_uuid: UuidLike, m: Any) -> uuid.UUID:
        return self._create(m)

    def create_model_for_entry(self, entry_uuid: UuidLike, m: Any) -> uuid.UUID:
        return self._create(m)

    def _create(self, m: Any) -> uuid.UUID:
        ctx = _executing(self)[0]
        c = _apply_first(ctx, lambda c: c.kind == "create_model" and c.obj is m,
                         f"create_model {type(m).__name__}")
        return uuid.UUID(c.after["uuid"])

    def delete_model(self, m_or_uuid: Any) -> bool:
        return self._apply("delete_model", m_or_uuid, "model")


def _apply_first(ctx: "ActionContext", matches: Any, what: str) -> Change:
    preview = ctx._preview
    found = next((c for c in (preview.changes if preview else []) if matches(c)), None)
    if found is None:
        raise ActionError(f"execute made a change that is not in the preview: {what}")
    ctx.apply(found)
    return found


def executing_vdfs(ctx: "ActionContext", api: VdfsApi | ScopedVdfsApi) -> ExecutingVdfs:
    return _executing.bind(ExecutingVdfs(), (ctx, api))

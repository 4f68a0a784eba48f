"""`core.trash_duplicates`: the action that moves the redundant copies of a content to the
library's trash — the one destructive action in core that relies on files being the same.

    from core.actions.dedupe import trash_duplicates
    p = lib.actions.preview(trash_duplicates, content=content_uuid)   # keeps the first path
    lib.actions.commit(p)                                              # undo puts them back

Sharing a (sampled) content identity is not proof of equality, so both the preview and the
commit read every copy in full (core/content/verify.py `require_identical`) and refuse with
`NotIdenticalError` when any differs: between preview and commit a file may have changed.
"""
from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from . import ActionError, action, action_execute
from core.content.verify import as_uuid, require_identical

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library
    from core.store.ids import UuidLike
    from .context import ActionContext
    from .model import ActionPreview

ACTION = "core.trash_duplicates"


def _copies(lib: Library, cu: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """(entry uuid, path) of the content's copies on this device, in path order."""
    rows = lib.conn.execute(
        "SELECT e.uuid, e.path FROM entries e JOIN content_identities c ON c.id = e.content_id "
        "JOIN locations l ON l.id = e.location_id WHERE c.uuid = ? AND l.device_id = ? "
        "AND e.is_dir = 0 ORDER BY e.path", (cu.bytes, lib.device_id)).fetchall()
    return [(uuid.UUID(bytes=u), p) for u, p in rows]


def _plan(lib: Library, content: uuid.UUID, keep: Any) -> tuple[uuid.UUID, list[uuid.UUID]]:
    copies = _copies(lib, content)
    if len(copies) < 2:
        raise ActionError(f"content {content} has {len(copies)} cop"
                          f"{'y' if len(copies) == 1 else 'ies'} on this device: nothing to trash")
    uuids = [u for u, _ in copies]
    kept = uuids[0] if keep is None else as_uuid(keep, "keep")
    if kept not in uuids:
        raise ActionError(f"entry {keep} is not a copy of content {content} on this device")
    return kept, [u for u in uuids if u != kept]


@action(name=ACTION)
def trash_duplicates(ctx: ActionContext, content: UuidLike, keep: UuidLike | None = None
                     ) -> ActionPreview:
    """Trash every copy of `content` but `keep` (default: the first by path), after checking
    that all are byte-for-byte equal."""
    cu = as_uuid(content, "content")
    kept, doomed = _plan(ctx.lib, cu, keep)
    require_identical(ctx.lib, [kept, *doomed])
    ctx.args.update(content=str(cu), keep=str(kept))   # the preview's args: audited as JSON
    return ctx.preview(f"Trash {len(doomed)} duplicate(s) of content {content}",
                       [ctx.delete(u) for u in doomed])


@action_execute(trash_duplicates)
def _trash_duplicates_execute(ctx: Any, preview: Any) -> None:
    """Inside the commit: the files are read in full again before any is moved."""
    doomed = [c.target_uuid for c in preview.changes]
    require_identical(ctx.lib, [uuid.UUID(ctx.args["keep"]), *doomed])
    ctx.apply_all()

"""Applying, verifying and inverting each kind of Change.

Tags, notes and models go through the host API (`lib.vdfs()`, core/host.py), whose writes join
the action's open transaction; file-system kinds go through fsops. `apply` returns the inverse
change and, for disk operations, the callable that reverses the disk part.
"""
from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any, Callable

from core.store.paths import disk_path
from . import fsops, targets
from .model import ActionError, Change
from core.domain.models import find_model, spec_of

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library

Rename = Callable[[str, str], None]


def _vdfs(lib: Library, actor: str) -> Any:
    return lib.vdfs()


def apply(lib: Library, change: Change, *, actor: str, rename: Rename) -> Change:
    """Make the change; returns its inverse."""
    kind, scope, u = change.kind, change.scope, change.target_uuid
    api = _vdfs(lib, actor)
    if kind == "add_tag":
        _tag_call(api, "add", scope, u, change.after, actor)
        return Change("remove_tag", change.target, before=change.after)
    if kind == "remove_tag":
        _tag_call(api, "remove", scope, u, change.before, actor)
        return Change("add_tag", change.target, after=change.before)
    if kind == "set_note":
        api.set_note(u, change.after, scope=scope, actor=actor)
        return Change("set_note", change.target, before=change.after, after=change.before)
    if kind in ("move", "rename"):
        fsops.move_entry(lib, u, change.after, rename)
        return Change(kind, change.target, before=change.after, after=change.before)
    if kind == "delete":
        snapshot = fsops.delete_entry(lib, u, change.after, rename)
        return Change("restore", change.target, before=change.after, after=change.before,
                      data=snapshot)
    if kind == "restore":
        if not change.data:
            raise ActionError(f"restore of {change.target} carries no snapshot")
        fsops.restore_entry(lib, change.before, change.data, rename)
        return Change("delete", change.target, before=change.after, after=change.before)
    if kind == "create_model":
        mu = _create_model(api, change, actor)
        spec = dict(change.after)
        return Change("delete_model", f"model:{mu}", before=spec)
    if kind == "delete_model":
        before = _model_spec(lib, u)
        api.delete_model(u, actor=actor)
        return Change("create_model", change.target, after=before)
    raise ActionError(f"no handler for change kind {kind!r}")


def _tag_call(api: Any, verb: str, scope: str, u: Any, tag: str, actor: str) -> None:
    fn = getattr(api, f"{verb}_tag_{'to' if verb == 'add' else 'from'}_{scope}")
    fn(u, tag, applied_by=actor)


def _model_spec(lib: Library, u: Any) -> dict[str, Any]:
    import json
    row = lib.conn.execute("SELECT model_type, extension_id, data, entry_uuid, "
                           "content_identity_uuid FROM models WHERE uuid=?", (u.bytes,)).fetchone()
    if row is None:
        raise ActionError(f"no model {u}")
    import uuid as _uuid
    scope, target = "standalone", None
    if row[3] is not None:
        scope, target = "entry", str(_uuid.UUID(bytes=row[3]))
    elif row[4] is not None:
        scope, target = "content", str(_uuid.UUID(bytes=row[4]))
    return {"model_type": row[0], "extension_id": row[1] or None, "data": json.loads(row[2]),
            "scope": scope, "scope_target": target, "uuid": str(u)}


def _create_model(api: Any, change: Change, actor: str) -> Any:
    import dataclasses
    import uuid as _uuid
    spec = change.after or {}
    obj = change.obj
    if obj is None:
        cls = find_model(spec["model_type"], spec.get("extension_id"))
        fields = {f.name for f in dataclasses.fields(cls)}
        data = {k: v for k, v in (spec.get("data") or {}).items() if k in fields}
        if "id" in fields:
            data["id"] = change.target_uuid
        obj = cls(**data)
    elif spec_of(obj).id_field and getattr(obj, "id", None) is None:
        obj.id = change.target_uuid
    scope, target = spec.get("scope", "standalone"), spec.get("scope_target")
    if scope == "content":
        return api.create_model_for_content(_uuid.UUID(target), obj, actor=actor)
    if scope == "entry":
        return api.create_model_for_entry(_uuid.UUID(target), obj, actor=actor)
    return api.create_model(obj, actor=actor)


def verify(lib: Library, change: Change, applied_target: str) -> str | None:
    """Re-read the target; None when it shows the change, else what is wrong."""
    conn = lib.conn
    kind, scope = change.kind, change.scope
    u = change.target_uuid
    if kind == "add_tag":
        ok = change.after in targets.tags_of(conn, scope, u)
        return None if ok else f"{change.target} lacks tag {change.after}"
    if kind == "remove_tag":
        ok = change.before not in targets.tags_of(conn, scope, u)
        return None if ok else f"{change.target} still has tag {change.before}"
    if kind == "set_note":
        note = targets.note_of(conn, scope, u)
        return None if note == change.after else f"{change.target} note is {note!r}"
    if kind in ("move", "rename", "restore"):
        row = targets.entry_row(conn, u)
        want = change.after
        if row is None or row["path"] != want:
            return f"{change.target} row is at {row and row['path']}, not {want}"
        if targets.disk_state(disk_path(want)) is None \
                or targets.disk_state(disk_path(change.before)) is not None:
            return f"{change.target}: disk does not show {change.before} -> {want}"
        if row["name"] != posixpath.basename(want):
            return f"{change.target} name is {row['name']!r}"
        return None
    if kind == "delete":
        if targets.entry_row(conn, u) is not None:
            return f"{change.target} is still in the library"
        if targets.disk_state(disk_path(change.before)) is not None \
                or targets.disk_state(disk_path(change.after)) is None:
            return f"{change.target}: {change.before} is not in the trash at {change.after}"
        return None
    if kind == "create_model":
        mu = applied_target.partition(":")[2]
        import uuid as _uuid
        row = targets.model_row(conn, _uuid.UUID(mu))
        if row is None or row["model_type"] != (change.after or {}).get("model_type"):
            return f"model {mu} was not created"
        return None
    if kind == "delete_model":
        return None if targets.model_row(conn, u) is None else f"{change.target} still exists"
    return f"cannot verify change kind {kind!r}"

"""Which events an extension may see: one rule for its agent and for its on_event jobs.

- entry events: the entry's path must be readable under its ReadEntries grants (scope, and the
  granted and requested globs relative to the root of the location holding the path) — the
  check the host API makes before a read;
- index.finished: the indexed folder must be reached by a ReadEntries scope (inside it, or
  holding it) — the rule on_location_added jobs follow too;
- tag.added / tag.removed: the tagged entry, content or own model must be visible;
- model events: only the extension's own models that it may see;
- any other kind (job progress …) carries no library data and is seen.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.domain.locations import is_within, location_for_path
from .guard import Guard
from .permissions import GrantSet

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library

ENTRY_EVENTS = ("entry.created", "entry.modified", "entry.deleted")


def entry_visible(grants: GrantSet, lib: Library, path: str) -> bool:
    """May the extension read the entry at `path` (globs relative to its location root)?"""
    loc = location_for_path(lib, path)
    return grants.entry_allowed(path, loc.path if loc is not None else None)


def folder_reached(grants: GrantSet, folder: str) -> bool:
    """Does a ReadEntries scope reach `folder` (the folder is inside it, or holds it)?"""
    for g in grants.granted("ReadEntries"):
        roots = grants.roots(g)
        if not roots or any(is_within(folder, r.prefix) or is_within(r.prefix, folder)
                            for r in roots):
            return True
    return False


def event_visible(guard: Guard, kind: str, payload: dict[str, Any]) -> bool:
    """May the extension behind `guard` see the event `kind` with `payload`?"""
    grants = guard.grants
    if kind in ENTRY_EVENTS:
        path = payload.get("path")
        return bool(path) and entry_visible(grants, guard.lib, path)
    if kind == "index.finished":
        path = payload.get("path")
        return bool(path) and folder_reached(grants, path)
    if kind in ("tag.added", "tag.removed"):
        return guard.visible(payload.get("scope") or "model", payload.get("target"))
    if kind.startswith("model."):
        return payload.get("extension_id") in (guard.extension_id, None) and \
            guard.visible("model", payload.get("uuid"))
    return True

"""An installed extension's grants, as the library records them.

One reader for every door that checks them — the manager activating the extension, its
on_event jobs, its on_location_added jobs — so a grant is always read the same way and always
intersected with what the extension *requested* (the recorded manifest): a user can narrow a
request, never widen it (docs/permissions.md), whichever door asks.
"""
from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING

from .permissions import Grant, GrantSet, PermissionSpec, manifest_permissions

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library


def stored_grants(conn: sqlite3.Connection, extension_id: str) -> list[Grant]:
    """What the user granted `extension_id`, in the order granted ([] when not installed)."""
    rows = conn.execute("SELECT permission, params, scope FROM extension_grants "
                        "WHERE extension_id = ? ORDER BY id", (extension_id,))
    return [Grant.from_row(*r) for r in rows]


def stored_request(conn: sqlite3.Connection, extension_id: str) -> list[PermissionSpec]:
    """What `extension_id` requested when it was installed ([] when not installed)."""
    row = conn.execute("SELECT manifest FROM extensions WHERE id = ?", (extension_id,)).fetchone()
    if row is None:
        return []
    return manifest_permissions(json.loads(row[0] or "{}"))


def stored_grant_set(lib: Library, extension_id: str) -> GrantSet:
    """The checks for `extension_id`: its recorded grants within its recorded request."""
    return GrantSet(extension_id, stored_request(lib.conn, extension_id),
                    stored_grants(lib.conn, extension_id), lib)

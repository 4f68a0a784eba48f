"""Reading a change's target: its row, tags, note, on-disk state, and a fingerprint of it all.

The fingerprint is a digest of everything an action could depend on: for an entry, its row
(path, name, parent, size, mtime, content), its own tags and note, and what the disk says at its
path; for content and models, their rows, tags and note. Equal fingerprints at preview and at
commit mean the target did not change in between.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import uuid
from typing import Any

from core.store.paths import disk_path

_ENTRY_COLS = ("id", "location_id", "parent_id", "path", "name", "ext", "is_dir", "size",
               "mtime_ns", "content_id")


def entry_row(conn: sqlite3.Connection, entry_uuid: uuid.UUID) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT {', '.join(_ENTRY_COLS)} FROM entries WHERE uuid=?",
                       (entry_uuid.bytes,)).fetchone()
    return dict(zip(_ENTRY_COLS, row)) if row else None


def _meta_column(scope: str) -> str:
    return {"entry": "entry_uuid", "content": "content_identity_uuid"}[scope]


def metadata_id(conn: sqlite3.Connection, scope: str, target: uuid.UUID) -> int | None:
    if scope == "model":
        row = conn.execute("SELECT metadata_id FROM models WHERE uuid=?",
                           (target.bytes,)).fetchone()
    else:
        row = conn.execute(f"SELECT id FROM user_metadata WHERE {_meta_column(scope)}=?",
                           (target.bytes,)).fetchone()
    return row[0] if row else None


def tags_of(conn: sqlite3.Connection, scope: str, target: uuid.UUID) -> list[str]:
    """The tags applied to the target itself (not those it inherits from its content)."""
    mid = metadata_id(conn, scope, target)
    if mid is None:
        return []
    return [r[0] for r in conn.execute(
        "SELECT t.name FROM tag_links l JOIN tags t ON t.id = l.tag_id WHERE l.metadata_id=? "
        "ORDER BY t.name", (mid,))]


def note_of(conn: sqlite3.Connection, scope: str, target: uuid.UUID) -> str | None:
    mid = metadata_id(conn, scope, target)
    if mid is None:
        return None
    row = conn.execute("SELECT notes FROM user_metadata WHERE id=?", (mid,)).fetchone()
    return row[0] if row else None


def model_row(conn: sqlite3.Connection, model_uuid: uuid.UUID) -> dict[str, Any] | None:
    row = conn.execute("SELECT model_type, extension_id, data, updated_at FROM models "
                       "WHERE uuid=?", (model_uuid.bytes,)).fetchone()
    if row is None:
        return None
    return {"model_type": row[0], "extension_id": row[1], "data": row[2], "updated_at": row[3]}


def disk_state(path: str) -> list[Any] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    import stat
    if stat.S_ISDIR(st.st_mode):
        return ["dir"]
    return ["file", st.st_size, st.st_mtime_ns]


def exists(conn: sqlite3.Connection, target: str) -> bool:
    scope, _, ident = target.partition(":")
    u = uuid.UUID(ident)
    if scope == "entry":
        return entry_row(conn, u) is not None
    if scope == "model":
        return model_row(conn, u) is not None
    return conn.execute("SELECT 1 FROM content_identities WHERE uuid=?",
                        (u.bytes,)).fetchone() is not None


def state(conn: sqlite3.Connection, target: str) -> dict[str, Any] | None:
    """Everything the fingerprint covers, or None when the target does not exist."""
    scope, _, ident = target.partition(":")
    u = uuid.UUID(ident)
    if scope == "entry":
        row = entry_row(conn, u)
        if row is None:
            return None
        return {"row": row, "disk": disk_state(disk_path(row["path"])),
                "tags": tags_of(conn, scope, u),
                "note": note_of(conn, scope, u)}
    if scope == "model":
        row = model_row(conn, u)
        if row is None:
            return None
        return {"row": row, "tags": tags_of(conn, scope, u), "note": note_of(conn, scope, u)}
    if not exists(conn, target):
        return None
    return {"tags": tags_of(conn, scope, u), "note": note_of(conn, scope, u)}


def fingerprint(conn: sqlite3.Connection, target: str) -> str:
    st = state(conn, target)
    if st is None:
        return "absent"
    text = json.dumps(st, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()

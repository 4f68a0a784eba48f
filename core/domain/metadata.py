"""User metadata, dual-scoped: one row per entry (that path only), per content identity (every
copy on every device) or per model (so models can be tagged and collected like files).

Rows are created on first use. Notes, favourite, hidden and custom_data live here; tags link
to a row (core/domain/tags.py); large per-file values go to blobs via `user_metadata_blobs`.
`delete_unused_content()` drops identities no entry holds any more (the indexer's rule; what
goes with a vanished entry is `core.domain.forget`).
"""
from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from . import blobs
from core.store.clock import now_iso
from core.errors import ArgumentError, NotFoundError, VdfsError
from core.store.ids import as_uuid

if TYPE_CHECKING:  # pragma: no cover
    from core.store.ids import UuidLike

SCOPES = ("entry", "content", "model")


@dataclass
class UserMetadata:
    id: int
    uuid: uuid.UUID
    scope: str                      # entry | content | model
    target: uuid.UUID
    notes: str | None = None
    favorite: bool = False
    hidden: bool = False
    custom_data: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    updated_at: str = ""


def require_row(conn: sqlite3.Connection, scope: str, target: uuid.UUID) -> None:
    """Raise NotFoundError unless the entry / content identity / model exists."""
    table = {"entry": "entries", "content": "content_identities", "model": "models"}[scope]
    if conn.execute(f"SELECT 1 FROM {table} WHERE uuid = ?", (target.bytes,)).fetchone() is None:
        label = {"entry": "entry", "content": "content identity", "model": "model"}[scope]
        raise NotFoundError(f"no {label} with uuid {target}")


def metadata_id(conn: sqlite3.Connection, scope: str, target: UuidLike, *, create: bool = True
                ) -> int | None:
    """The user_metadata id for an entry, content identity or model (created if missing)."""
    if scope not in SCOPES:
        raise ArgumentError(f"metadata scope must be one of {SCOPES}, not {scope!r}")
    target = as_uuid(target, f"{scope} uuid")
    if scope == "model":
        row = conn.execute("SELECT metadata_id FROM models WHERE uuid = ?", (target.bytes,)).fetchone()
        if row is None:
            raise NotFoundError(f"no model with uuid {target}")
        return int(row[0])
    column = "entry_uuid" if scope == "entry" else "content_identity_uuid"
    row = conn.execute(f"SELECT id FROM user_metadata WHERE {column} = ?", (target.bytes,)).fetchone()
    if row or not create:
        return int(row[0]) if row else None
    require_row(conn, scope, target)
    now = now_iso()
    conn.execute(f"INSERT OR IGNORE INTO user_metadata (uuid, {column}, created_at, updated_at) "
                 "VALUES (?, ?, ?, ?)", (uuid.uuid4().bytes, target.bytes, now, now))
    return int(conn.execute(f"SELECT id FROM user_metadata WHERE {column} = ?",
                            (target.bytes,)).fetchone()[0])


def new_model_metadata(conn: sqlite3.Connection) -> tuple[int, uuid.UUID]:
    """A fresh metadata row for a model being created (neither entry- nor content-scoped)."""
    now = now_iso()
    meta_uuid = uuid.uuid4()
    cur = conn.execute("INSERT INTO user_metadata (uuid, created_at, updated_at) VALUES (?, ?, ?)",
                       (meta_uuid.bytes, now, now))
    return int(cur.lastrowid), meta_uuid


def get(conn: sqlite3.Connection, scope: str, target: UuidLike) -> UserMetadata | None:
    """The metadata of a target, or None if nothing was ever recorded for it."""
    target = as_uuid(target, f"{scope} uuid")
    mid = metadata_id(conn, scope, target, create=False)
    if mid is None:
        return None
    row = conn.execute("SELECT id, uuid, notes, favorite, hidden, custom_data, created_at, "
                       "updated_at FROM user_metadata WHERE id = ?", (mid,)).fetchone()
    return UserMetadata(id=row[0], uuid=uuid.UUID(bytes=row[1]), scope=scope, target=target,
                        notes=row[2], favorite=bool(row[3]), hidden=bool(row[4]),
                        custom_data=json.loads(row[5] or "{}"), created_at=row[6], updated_at=row[7])


_FIELDS = {"notes", "favorite", "hidden", "custom_data"}


def update(conn: sqlite3.Connection, scope: str, target: UuidLike, **changes: Any
           ) -> tuple[int, dict]:
    """Set notes / favorite / hidden / custom_data (replaced whole); returns (id, stored changes)."""
    unknown = set(changes) - _FIELDS
    if unknown:
        raise ArgumentError(f"unknown user metadata field(s) {sorted(unknown)}; "
                         f"known: {sorted(_FIELDS)}")
    stored: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "notes" and value is not None and not isinstance(value, str):
            raise ArgumentError(f"notes must be text or None, not {type(value).__name__}")
        if key in ("favorite", "hidden"):
            value = int(bool(value))
        if key == "custom_data":
            if not isinstance(value, dict):
                raise ArgumentError(f"custom_data must be a dict, not {type(value).__name__}")
            try:    # NaN and Infinity are not JSON: SQLite's and DuckDB's JSON readers refuse them
                value = json.dumps(value, sort_keys=True, allow_nan=False)
            except (TypeError, ValueError, RecursionError) as exc:
                raise ArgumentError(f"custom_data must be JSON-serialisable: {exc}") from exc
        stored[key] = value
    mid = metadata_id(conn, scope, target)
    if stored:
        sets = ", ".join(f"{k} = ?" for k in stored)
        conn.execute(f"UPDATE user_metadata SET {sets}, updated_at = ? WHERE id = ?",
                     [*stored.values(), now_iso(), mid])
    return mid, stored


# ---- blobs attached to entries and content (user_metadata_blobs) --------------------------
def blob_key(key: Any) -> str:
    """The key of a metadata blob: non-empty text (it is a column value and a namespace)."""
    if not isinstance(key, str) or not key:
        raise ArgumentError(f"a metadata blob key is non-empty text, not {key!r}")
    return key


def set_blob(conn: sqlite3.Connection, metadata: int, key: str, value: Any, *,
             compression: str | None = "zstd", quantize: str | None = None,
             counters: blobs.BlobStats | None = None) -> None:
    """Attach (or replace, or with None remove) a large value under `key`; call in a transaction."""
    key = blob_key(key)
    old = conn.execute("SELECT blob_id FROM user_metadata_blobs WHERE metadata_id = ? AND "
                       "blob_key = ?", (metadata, key)).fetchone()
    if value is not None:
        raw, blob_type = blobs.encode_value(value, quantize=quantize)
        blob_id = blobs.put_blob(conn, raw, blob_type, compression=compression, counters=counters)
        conn.execute("INSERT OR REPLACE INTO user_metadata_blobs (metadata_id, blob_key, blob_id) "
                     "VALUES (?, ?, ?)", (metadata, key, blob_id))
    else:
        conn.execute("DELETE FROM user_metadata_blobs WHERE metadata_id = ? AND blob_key = ?",
                     (metadata, key))
    if old:
        blobs.release_blob(conn, old[0])


def get_blob(conn: sqlite3.Connection, metadata: int, key: str, *, what: str,
             counters: blobs.BlobStats | None = None) -> Any:
    row = conn.execute("SELECT blob_id FROM user_metadata_blobs WHERE metadata_id = ? AND "
                       "blob_key = ?", (metadata, blob_key(key))).fetchone()
    if row is None:
        return None
    return blobs.read_blob(conn, row[0], what=f"{what} field {key!r}", counters=counters)


def delete_metadata_rows(conn: sqlite3.Connection, ids: list[int]) -> int:
    """Delete user_metadata rows with their tag links and blob links (releasing blobs)."""
    removed = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        linked = conn.execute(
            f"SELECT blob_id FROM user_metadata_blobs WHERE metadata_id IN ({marks})",
            chunk).fetchall()
        conn.execute(f"DELETE FROM user_metadata_blobs WHERE metadata_id IN ({marks})", chunk)
        for (blob_id,) in linked:
            blobs.release_blob(conn, blob_id)
        conn.execute(f"DELETE FROM tag_links WHERE metadata_id IN ({marks})", chunk)
        removed += conn.execute(f"DELETE FROM user_metadata WHERE id IN ({marks})", chunk).rowcount
    return removed


# The rule for keeping a content identity, as SQL over alias `ci`. NOT IN reads each user
# table once per statement, so deleting over every identity stays linear (collection_items has
# no index on content_uuid: a correlated EXISTS would scan it once per identity).
CONTENT_UNUSED_SQL = (
    "(ci.entry_count <= 0"
    " AND ci.uuid NOT IN (SELECT content_identity_uuid FROM models"
    "                     WHERE content_identity_uuid IS NOT NULL)"
    " AND ci.uuid NOT IN (SELECT content_identity_uuid FROM user_metadata"
    "                     WHERE content_identity_uuid IS NOT NULL)"
    " AND ci.uuid NOT IN (SELECT content_uuid FROM collection_items"
    "                     WHERE content_uuid IS NOT NULL))")
CONTENT_IN_USE_SQL = f"(NOT {CONTENT_UNUSED_SQL})"


def delete_unused_content(conn: sqlite3.Connection) -> int:
    """Delete the content identities no entry, model, user metadata or collection uses any
    more (the indexer's last step); returns how many."""
    return conn.execute(f"DELETE FROM content_identities AS ci WHERE {CONTENT_UNUSED_SQL}"
                        ).rowcount


def content_in_use(conn: sqlite3.Connection, content_uuid: UuidLike) -> bool:
    """Whether a content identity is still wanted (by entries, models, metadata or collections)."""
    cu = as_uuid(content_uuid, "content uuid")
    row = conn.execute(f"SELECT {CONTENT_IN_USE_SQL} FROM content_identities ci WHERE ci.uuid = ?",
                       (cu.bytes,)).fetchone()
    return bool(row and row[0])

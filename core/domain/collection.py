"""Collections: named, ordered lists of entries, content identities or models (mixed freely).

Items keep an explicit `position` (0-based, dense); inserting in the middle shifts the rest.
The same item may appear once per collection: adding it again is a no-op that returns its
current position.
"""
from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.store.clock import now_iso
from core.errors import VdfsError
from .metadata import NotFoundError, as_uuid, require_row
from core.store.text import storable

if TYPE_CHECKING:  # pragma: no cover
    from core.store.ids import UuidLike

KINDS = {"entry": "entry_uuid", "content": "content_uuid", "model": "model_uuid"}


class CollectionError(VdfsError, ValueError):
    """A collection request that cannot be satisfied (duplicate name, bad item kind…)."""


@dataclass(frozen=True)
class Collection:
    id: int
    uuid: uuid.UUID
    name: str
    description: str | None


# A collection as callers name it: the Collection, its uuid, or its name.
CollectionRef = Collection | uuid.UUID | str


@dataclass(frozen=True)
class CollectionItem:
    kind: str               # entry | content | model
    uuid: uuid.UUID
    position: int
    added_at: str


def create(conn: sqlite3.Connection, name: str, description: str | None = None) -> Collection:
    if not isinstance(name, str) or not name.strip() or not storable(name):
        raise CollectionError(f"a collection needs a non-empty name of valid Unicode, not {name!r}")
    if description is not None and not (isinstance(description, str) and storable(description)):
        raise CollectionError(f"a collection description is valid Unicode text, not {description!r}")
    name = name.strip()
    if conn.execute("SELECT 1 FROM collections WHERE name = ?", (name,)).fetchone():
        raise CollectionError(f"a collection named {name!r} already exists")
    now = now_iso()
    conn.execute("INSERT INTO collections (uuid, name, description, created_at, updated_at) "
                 "VALUES (?, ?, ?, ?, ?)", (uuid.uuid4().bytes, name, description, now, now))
    return get(conn, name)


def get(conn: sqlite3.Connection, name_or_uuid: CollectionRef) -> Collection:
    """A collection by name, uuid or Collection; NotFoundError if there is none."""
    if isinstance(name_or_uuid, Collection):
        name_or_uuid = name_or_uuid.uuid
    if isinstance(name_or_uuid, uuid.UUID):
        row = conn.execute("SELECT id, uuid, name, description FROM collections WHERE uuid = ?",
                           (name_or_uuid.bytes,)).fetchone()
    elif storable(str(name_or_uuid)):
        row = conn.execute("SELECT id, uuid, name, description FROM collections WHERE name = ?",
                           (str(name_or_uuid).strip(),)).fetchone()
    else:
        row = None          # no stored name holds a lone surrogate
    if row is None:
        raise NotFoundError(f"no collection {name_or_uuid!s}")
    return Collection(id=row[0], uuid=uuid.UUID(bytes=row[1]), name=row[2], description=row[3])


def list_all(conn: sqlite3.Connection) -> list[Collection]:
    rows = conn.execute("SELECT id, uuid, name, description FROM collections ORDER BY name")
    return [Collection(id=r[0], uuid=uuid.UUID(bytes=r[1]), name=r[2], description=r[3])
            for r in rows.fetchall()]


def delete(conn: sqlite3.Connection, collection: CollectionRef) -> None:
    col = get(conn, collection)
    conn.execute("DELETE FROM collection_items WHERE collection_id = ?", (col.id,))
    conn.execute("DELETE FROM collections WHERE id = ?", (col.id,))


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise CollectionError(f"collection items are entries, content or models, not {kind!r}")
    return KINDS[kind]


def add(conn: sqlite3.Connection, collection: CollectionRef, kind: str, item: UuidLike,
        position: int | None = None) -> int:
    """Put an item at `position` (default: the end); returns where it sits."""
    column = _check_kind(kind)
    if position is not None and (not isinstance(position, int) or isinstance(position, bool)):
        raise CollectionError(f"position must be a whole number, not {position!r}")
    target = as_uuid(item, f"{kind} uuid")
    col = get(conn, collection)
    require_row(conn, kind, target)
    row = conn.execute(f"SELECT position FROM collection_items WHERE collection_id = ? AND "
                       f"{column} = ?", (col.id, target.bytes)).fetchone()
    if row:
        return int(row[0])
    size = conn.execute("SELECT count(*) FROM collection_items WHERE collection_id = ?",
                        (col.id,)).fetchone()[0]
    if position is None or position >= size:
        position = size
    elif position < 0:
        raise CollectionError(f"position must be 0 or more, not {position}")
    else:
        conn.execute("UPDATE collection_items SET position = position + 1 "
                     "WHERE collection_id = ? AND position >= ?", (col.id, position))
    now = now_iso()
    conn.execute(f"INSERT INTO collection_items (collection_id, position, {column}, added_at) "
                 "VALUES (?, ?, ?, ?)", (col.id, position, target.bytes, now))
    conn.execute("UPDATE collections SET updated_at = ? WHERE id = ?", (now, col.id))
    return position


def remove(conn: sqlite3.Connection, collection: CollectionRef, kind: str, item: UuidLike) -> bool:
    column = _check_kind(kind)
    target = as_uuid(item, f"{kind} uuid")
    col = get(conn, collection)
    row = conn.execute(f"SELECT id, position FROM collection_items WHERE collection_id = ? AND "
                       f"{column} = ?", (col.id, target.bytes)).fetchone()
    if row is None:
        return False
    conn.execute("DELETE FROM collection_items WHERE id = ?", (row[0],))
    conn.execute("UPDATE collection_items SET position = position - 1 "
                 "WHERE collection_id = ? AND position > ?", (col.id, row[1]))
    conn.execute("UPDATE collections SET updated_at = ? WHERE id = ?", (now_iso(), col.id))
    return True


def move(conn: sqlite3.Connection, collection: CollectionRef, kind: str, item: UuidLike,
         position: int) -> int:
    """Move an item already in the collection to `position` (clamped to the end)."""
    if not remove(conn, collection, kind, item):
        raise NotFoundError(f"{kind} {item} is not in collection {collection!s}")
    return add(conn, collection, kind, item, position)


def items(conn: sqlite3.Connection, collection: CollectionRef) -> list[CollectionItem]:
    col = get(conn, collection)
    rows = conn.execute("SELECT entry_uuid, content_uuid, model_uuid, position, added_at "
                        "FROM collection_items WHERE collection_id = ? ORDER BY position, id",
                        (col.id,)).fetchall()
    out = []
    for entry_u, content_u, model_u, position, added_at in rows:
        kind, raw = (("entry", entry_u) if entry_u is not None else
                     ("content", content_u) if content_u is not None else ("model", model_u))
        out.append(CollectionItem(kind=kind, uuid=uuid.UUID(bytes=raw), position=position,
                                  added_at=added_at))
    return out

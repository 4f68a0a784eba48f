"""Tags: canonical names (`#vacation`, namespaced `#person:alice`), colour, optional parent,
and links to user metadata recording who applied them (user or extension id) and when.

Tagging content reaches every copy (the link is on the content identity's metadata); tagging
an entry reaches that path only; tagging a model uses the model's own metadata row.
"""
from __future__ import annotations

import re
import sqlite3
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.store.clock import now_iso
from core.errors import VdfsError
from .metadata import NotFoundError, as_uuid
from core.store.text import storable
from vdfs_query.values import tag_name

if TYPE_CHECKING:  # pragma: no cover
    from core.store.ids import UuidLike

_NAME_RE = re.compile(r"^#[^\s#:,][^\s#,]*$")
_COLOR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


class TagError(VdfsError, ValueError):
    """A tag name, colour or parent that cannot be accepted."""


@dataclass(frozen=True)
class Tag:
    id: int
    uuid: uuid.UUID
    name: str
    namespace: str | None
    color: str | None
    parent: str | None


@dataclass(frozen=True)
class TagLink:
    name: str
    applied_by: str
    applied_at: str
    scope: str          # entry | content | model: where the link lives


def canonical_name(name: str) -> str:
    """'Vacation' → '#vacation', '#Person: Alice' → '#person:alice'; spaces become '-'."""
    if not isinstance(name, str):
        raise TagError(f"a tag name must be text, not {type(name).__name__}")
    if not storable(name):
        raise TagError(f"invalid tag name {name!r}: it is not valid Unicode text")
    text = tag_name(name)          # the language's rule, so queries find the same name
    if text in ("#", "") or text.endswith(":") or text.startswith("#:") or not _NAME_RE.match(text):
        raise TagError(f"invalid tag name {name!r}: use letters, digits and -_./, optionally "
                       "one 'namespace:' prefix, e.g. '#vacation' or '#person:alice'")
    return text


def namespace_of(canonical: str) -> str | None:
    return canonical[1:].split(":", 1)[0] if ":" in canonical else None


def _row_to_tag(conn: sqlite3.Connection, row: tuple) -> Tag:
    parent = None
    if row[5] is not None:
        parent = conn.execute("SELECT name FROM tags WHERE id = ?", (row[5],)).fetchone()[0]
    return Tag(id=row[0], uuid=uuid.UUID(bytes=row[1]), name=row[2], namespace=row[3],
               color=row[4], parent=parent)


def get_tag(conn: sqlite3.Connection, name: str) -> Tag | None:
    row = conn.execute("SELECT id, uuid, name, namespace, color, parent_id FROM tags WHERE name = ?",
                       (canonical_name(name),)).fetchone()
    return _row_to_tag(conn, row) if row else None


def ensure_tag(conn: sqlite3.Connection, name: str, *, color: str | None = None,
               parent: str | None = None) -> tuple[Tag, bool]:
    """The tag called `name`, created if missing; returns (tag, created). Given colour or parent
    are applied to an existing tag too."""
    canonical = canonical_name(name)
    existing = get_tag(conn, canonical)
    if existing is None:
        _check_color(color)
        parent_id = _parent_id(conn, canonical, parent)
        conn.execute("INSERT INTO tags (uuid, name, namespace, color, parent_id, created_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)",
                     (uuid.uuid4().bytes, canonical, namespace_of(canonical), color, parent_id,
                      now_iso()))
        return get_tag(conn, canonical), True  # type: ignore[return-value]
    if color is not None or parent is not None:
        return update_tag(conn, canonical, color=color, parent=parent), False
    return existing, False


def update_tag(conn: sqlite3.Connection, name: str, *, color: str | None = None,
               parent: str | None = None) -> Tag:
    tag = get_tag(conn, name)
    if tag is None:
        raise NotFoundError(f"no tag named {canonical_name(name)!r}")
    if color is not None:
        _check_color(color)
        conn.execute("UPDATE tags SET color = ? WHERE id = ?", (color, tag.id))
    if parent is not None:
        conn.execute("UPDATE tags SET parent_id = ? WHERE id = ?",
                     (_parent_id(conn, tag.name, parent), tag.id))
    return get_tag(conn, tag.name)  # type: ignore[return-value]


def _check_color(color: str | None) -> None:
    if color is not None and not (isinstance(color, str) and _COLOR_RE.match(color)):
        raise TagError(f"tag colour must look like '#rgb' or '#rrggbb', not {color!r}")


def _parent_id(conn: sqlite3.Connection, child: str, parent: str | None) -> int | None:
    """The parent's id (created if missing), refusing a parent chain that loops to `child`."""
    if parent is None:
        return None
    parent_name = canonical_name(parent)
    if parent_name == child:
        raise TagError(f"tag {child!r} cannot be its own parent")
    ptag, _ = ensure_tag(conn, parent_name)
    seen, cursor = {ptag.name}, ptag
    while cursor.parent is not None:
        if cursor.parent == child or cursor.parent in seen:
            raise TagError(f"making {parent_name!r} the parent of {child!r} would create a cycle")
        seen.add(cursor.parent)
        cursor = get_tag(conn, cursor.parent)  # type: ignore[assignment]
    return ptag.id


def link(conn: sqlite3.Connection, metadata_id: int, name: str, applied_by: str) -> tuple[Tag, bool]:
    """Apply a tag to a metadata row; (tag, False) if it was already there (first applier kept)."""
    if not applied_by or not isinstance(applied_by, str):
        raise TagError("applied_by must name the user ('user') or an extension id")
    tag, _ = ensure_tag(conn, name)
    cur = conn.execute("INSERT OR IGNORE INTO tag_links (metadata_id, tag_id, applied_by, applied_at) "
                       "VALUES (?, ?, ?, ?)", (metadata_id, tag.id, applied_by, now_iso()))
    return tag, cur.rowcount > 0


def unlink(conn: sqlite3.Connection, metadata_id: int | None, name: str) -> bool:
    if metadata_id is None:
        return False
    tag = get_tag(conn, name)
    if tag is None:
        return False
    return conn.execute("DELETE FROM tag_links WHERE metadata_id = ? AND tag_id = ?",
                        (metadata_id, tag.id)).rowcount > 0


def links_of(conn: sqlite3.Connection, metadata_id: int | None, scope: str) -> list[TagLink]:
    if metadata_id is None:
        return []
    rows = conn.execute("SELECT t.name, l.applied_by, l.applied_at FROM tag_links l JOIN tags t "
                        "ON t.id = l.tag_id WHERE l.metadata_id = ? ORDER BY t.name",
                        (metadata_id,)).fetchall()
    return [TagLink(name=r[0], applied_by=r[1], applied_at=r[2], scope=scope) for r in rows]


def tags_of_entry(conn: sqlite3.Connection, entry_uuid: UuidLike) -> list[TagLink]:
    """Tags an entry shows: its own plus its content identity's (shared by every copy)."""
    eu = as_uuid(entry_uuid, "entry uuid")
    row = conn.execute("SELECT ci.uuid FROM entries e LEFT JOIN content_identities ci "
                       "ON ci.id = e.content_id WHERE e.uuid = ?", (eu.bytes,)).fetchone()
    if row is None:
        raise NotFoundError(f"no entry with uuid {eu}")
    own = conn.execute("SELECT id FROM user_metadata WHERE entry_uuid = ?", (eu.bytes,)).fetchone()
    links = links_of(conn, own[0] if own else None, "entry")
    if row[0] is not None:
        shared = conn.execute("SELECT id FROM user_metadata WHERE content_identity_uuid = ?",
                              (row[0],)).fetchone()
        links += links_of(conn, shared[0] if shared else None, "content")
    return links


def list_tags(conn: sqlite3.Connection, namespace: str | None = None) -> list[Tag]:
    sql = "SELECT id, uuid, name, namespace, color, parent_id FROM tags"
    args: tuple = ()
    if namespace is not None:
        if not isinstance(namespace, str):
            raise TagError(f"a tag namespace must be text, not {type(namespace).__name__}")
        if not storable(namespace):
            raise TagError(f"invalid tag namespace {namespace!r}: it is not valid Unicode text")
        sql += " WHERE namespace = ?"
        args = (namespace.casefold().lstrip("#"),)
    return [_row_to_tag(conn, r) for r in conn.execute(sql + " ORDER BY name", args).fetchall()]

"""Rows for metadata/model tests, inserted with plain SQL the way the indexer writes them.

Used where a test needs entries and content identities without walking a folder; the
removal helpers delete rows in the order (and with the rules) the indexer follows.
"""
from __future__ import annotations

import uuid

from core.store.clock import now_iso
from core.content.identity import content_uuid
from core.domain.forget import forget_entries
from core.domain.metadata import delete_unused_content
from core.store.txn import transaction


def add_device(lib, name: str = "other-device") -> int:
    now = now_iso()
    cur = lib.conn.execute("INSERT INTO devices (uuid, name, created_at, last_seen_at) "
                           "VALUES (?, ?, ?, ?)", (uuid.uuid4().bytes, name, now, now))
    return int(cur.lastrowid)


def add_location(lib, path: str, device_id: int | None = None) -> int:
    cur = lib.conn.execute("INSERT INTO locations (uuid, device_id, path, name, created_at) "
                           "VALUES (?, ?, ?, ?, ?)",
                           (uuid.uuid4().bytes, device_id or lib.device_id, path,
                            path.rsplit("/", 1)[-1], now_iso()))
    return int(cur.lastrowid)


def add_content(lib, content_hash: str, size: int = 100, kind: str = "image") -> uuid.UUID:
    cu = content_uuid(content_hash)
    lib.conn.execute("INSERT OR IGNORE INTO content_identities (uuid, content_hash, size, kind, "
                     "first_seen_at) VALUES (?, ?, ?, ?, ?)",
                     (cu.bytes, content_hash, size, kind, now_iso()))
    return cu


def add_entry(lib, location_id: int, path: str, content: uuid.UUID | None = None,
              size: int = 100, kind: str = "image") -> uuid.UUID:
    eu = uuid.uuid4()
    content_id = None
    if content is not None:
        content_id = lib.conn.execute("SELECT id FROM content_identities WHERE uuid = ?",
                                      (content.bytes,)).fetchone()[0]
        lib.conn.execute("UPDATE content_identities SET entry_count = entry_count + 1 "
                         "WHERE id = ?", (content_id,))
    name = path.rsplit("/", 1)[-1]
    lib.conn.execute("INSERT INTO entries (uuid, location_id, path, name, ext, kind, size, "
                     "content_id, indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (eu.bytes, location_id, path, name, name.rsplit(".", 1)[-1], kind, size,
                      content_id, now_iso()))
    return eu


def remove_location(lib, location_id: int) -> None:
    """Delete a location's entries as the indexer does: forget what hangs off them, delete
    them, decrement counts, and drop content identities nothing uses any more."""
    conn = lib.conn
    with transaction(conn):
        rows = conn.execute("SELECT uuid, content_id FROM entries WHERE location_id = ?",
                            (location_id,)).fetchall()
        forget_entries(conn, [r[0] for r in rows])
        for _, content_id in rows:
            if content_id is not None:
                conn.execute("UPDATE content_identities SET entry_count = entry_count - 1 "
                             "WHERE id = ?", (content_id,))
        conn.execute("DELETE FROM entries WHERE location_id = ?", (location_id,))
        conn.execute("DELETE FROM locations WHERE id = ?", (location_id,))
        delete_unused_content(conn)


def remove_device(lib, device_id: int) -> None:
    for (loc,) in lib.conn.execute("SELECT id FROM locations WHERE device_id = ?",
                                   (device_id,)).fetchall():
        remove_location(lib, loc)
    lib.conn.execute("DELETE FROM devices WHERE id = ?", (device_id,))

"""Make the tables say what a winning record says (the reverse of core/sync/state.py).

`materialize(conn, key, value)` writes one record into the library's own tables, inside the
caller's transaction. It returns False when the record cannot be applied yet because what it
refers to is missing (a note on an entry that has not arrived, an item of a collection that
was deleted); the caller keeps it pending and retries after later imports.
"""
from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any, Callable

from core.domain import metadata as meta
from core.store.clock import now_iso
from core.content.identity import content_uuid_bytes
from .model_rows import apply_model
from .rows import TARGET_TABLE, Touched, row_id, uuid_bytes
from .state import META_DEFAULTS
from core.domain.blobs import release_blob

_ITEM_COLUMN = {"entry": "entry_uuid", "content": "content_uuid", "model": "model_uuid"}


# ---- device-owned rows --------------------------------------------------------------------
def _device(conn: sqlite3.Connection, key: str, v: Any, touched: Touched) -> bool:
    if v is None:
        return True             # a device never deletes its own row; nothing to undo
    now = now_iso()
    conn.execute("INSERT INTO devices (uuid, name, hostname, os, created_at, last_seen_at) "
                 "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(uuid) DO UPDATE SET name = excluded.name, "
                 "hostname = excluded.hostname, os = excluded.os",
                 (uuid_bytes(key.split("/", 1)[1]), v["name"], v["hostname"], v["os"], now, now))
    return True


def _location(conn: sqlite3.Connection, key: str, v: Any, touched: Touched) -> bool:
    lu = uuid_bytes(key.split("/", 1)[1])
    if v is None:
        lid = row_id(conn, "locations", "uuid", lu)
        if lid is not None:
            gone = [r[0] for r in conn.execute("SELECT uuid FROM entries WHERE location_id = ?",
                                               (lid,))]
            _delete_entries(conn, gone, touched)
            conn.execute("DELETE FROM locations WHERE id = ?", (lid,))
            touched.forget()
        return True
    did = touched.id_of(conn, "devices", "uuid", uuid_bytes(v["device"]))
    if did is None:
        return False
    conn.execute("INSERT INTO locations (uuid, device_id, path, name, created_at, last_indexed_at) "
                 "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(uuid) DO UPDATE SET path = excluded.path, "
                 "name = excluded.name, last_indexed_at = excluded.last_indexed_at",
                 (lu, did, v["path"], v["name"], v["created_at"], v["last_indexed_at"]))
    return True


def _delete_entries(conn: sqlite3.Connection, uuids: list[bytes], touched: Touched) -> None:
    if not uuids:
        return
    touched.forget()
    meta.forget_entries(conn, uuids)
    for u in uuids:
        row = conn.execute("SELECT id, content_id FROM entries WHERE uuid = ?", (u,)).fetchone()
        if row is None:
            continue
        conn.execute("UPDATE entries SET parent_id = NULL WHERE parent_id = ?", (row[0],))
        conn.execute("DELETE FROM entries WHERE id = ?", (row[0],))
        if row[1] is not None:
            touched.content_ids.add(int(row[1]))


def _content_id(conn: sqlite3.Connection, c: dict[str, Any] | None, touched: Touched
                ) -> int | None:
    """The identity of these bytes, made if this device has never seen them: its uuid derives
    from the hash, so it is the same identity the other device has."""
    if c is None:
        return None
    cid = touched.id_of(conn, "content_identities", "content_hash", c["hash"])
    if cid is not None:
        return cid
    cur = conn.execute(
        "INSERT INTO content_identities (uuid, content_hash, size, kind, mime_type, entry_count, "
        "first_seen_at, kind_rule) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
        (content_uuid_bytes(c["hash"]), c["hash"], c["size"], c["kind"], c["mime"], now_iso(),
         c["rule"]))
    return int(cur.lastrowid)


def _entry(conn: sqlite3.Connection, key: str, v: Any, touched: Touched) -> bool:
    eu = uuid_bytes(key.split("/", 1)[1])
    if v is None:
        _delete_entries(conn, [eu], touched)  # type: ignore[list-item]
        return True
    lid = touched.id_of(conn, "locations", "uuid", uuid_bytes(v["location"]))
    if lid is None:
        return False
    old = conn.execute("SELECT id, content_id, location_id, path FROM entries WHERE uuid = ?",
                       (eu,)).fetchone()
    if old is None or (old[2], old[3]) != (lid, v["path"]):
        # The owner moved another file to this path: its older row here is gone there too.
        clash = conn.execute("SELECT uuid FROM entries WHERE location_id = ? AND path = ? AND "
                             "uuid <> ?", (lid, v["path"], eu)).fetchone()
        if clash:
            _delete_entries(conn, [clash[0]], touched)
            lid = touched.id_of(conn, "locations", "uuid", uuid_bytes(v["location"]))
    cid = _content_id(conn, v["content"], touched)
    parent = touched.id_of(conn, "entries", "uuid", uuid_bytes(v["parent"]))
    cols = (lid, parent, v["path"], None if v["raw_path"] is None else bytes.fromhex(v["raw_path"]),
            v["name"], v["ext"], v["kind"], v["is_dir"], v["hidden"], v["size"], v["child_count"],
            v["inode"], v["mtime_ns"], v["ctime_ns"], cid, v["full_hash"])
    if old is None:
        cur = conn.execute("INSERT INTO entries (location_id, parent_id, path, raw_path, name, "
                           "ext, kind, is_dir, hidden, size, child_count, inode, mtime_ns, "
                           "ctime_ns, content_id, full_hash, uuid, indexed_at) "
                           "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", (*cols, eu, now_iso()))
        if v["is_dir"]:
            touched.ids[("entries", eu)] = int(cur.lastrowid)   # its children come next
    else:
        conn.execute("UPDATE entries SET location_id=?, parent_id=?, path=?, raw_path=?, name=?, "
                     "ext=?, kind=?, is_dir=?, hidden=?, size=?, child_count=?, inode=?, "
                     "mtime_ns=?, ctime_ns=?, content_id=?, full_hash=? WHERE id = ?",
                     (*cols, old[0]))
        if old[1] is not None:
            touched.content_ids.add(int(old[1]))
    if cid is not None:
        touched.content_ids.add(cid)
    return True


# ---- shared rows --------------------------------------------------------------------------
def _ensure_tag(conn: sqlite3.Connection, name: str) -> int:
    tid = row_id(conn, "tags", "name", name)
    if tid is None:
        ns = name[1:].split(":", 1)[0] if ":" in name else None
        tid = int(conn.execute("INSERT INTO tags (uuid, name, namespace, created_at) "
                               "VALUES (?, ?, ?, ?)",
                               (uuid.uuid4().bytes, name, ns, now_iso())).lastrowid)
    return tid


def _tag(conn: sqlite3.Connection, key: str, v: Any, touched: Touched) -> bool:
    name = key.split("/", 1)[1]
    if v is None:
        tid = row_id(conn, "tags", "name", name)
        if tid is not None:
            conn.execute("DELETE FROM tag_links WHERE tag_id = ?", (tid,))
            conn.execute("UPDATE tags SET parent_id = NULL WHERE parent_id = ?", (tid,))
            conn.execute("DELETE FROM tags WHERE id = ?", (tid,))
        return True
    tid = _ensure_tag(conn, name)
    parent = None if v["parent"] is None else _ensure_tag(conn, v["parent"])
    conn.execute("UPDATE tags SET color = ?, parent_id = ? WHERE id = ?", (v["color"], parent, tid))
    return True


def _metadata_id(conn: sqlite3.Connection, scope: str, target: str, create: bool) -> int | None:
    """The target's metadata row; None when the target itself is not on this device (yet)."""
    tb = uuid_bytes(target)
    if conn.execute(f"SELECT 1 FROM {TARGET_TABLE[scope]} WHERE uuid = ?", (tb,)).fetchone() \
            is None:
        return None
    return meta.metadata_id(conn, scope, uuid.UUID(target), create=create)


def _meta(conn: sqlite3.Connection, key: str, v: Any, touched: Touched) -> bool:
    _, scope, target, field = key.split("/", 3)
    mid = _metadata_id(conn, scope, target, create=v is not None)
    if mid is None:
        return v is None        # clearing a field of something absent: nothing to do
    value = META_DEFAULTS[field] if v is None else v
    if field == "custom_data":
        value = json.dumps(value, sort_keys=True)
    conn.execute(f"UPDATE user_metadata SET {field} = ?, updated_at = ? WHERE id = ?",
                 (value, now_iso(), mid))
    return True


def _mblob(conn: sqlite3.Connection, key: str, v: Any, touched: Touched) -> bool:
    """A large value on a note's row, by the hash of its bytes (they came with the record)."""
    _, scope, target, name = key.split("/", 3)
    mid = _metadata_id(conn, scope, target, create=v is not None)
    if mid is None:
        return v is None
    bid = None
    if v is not None:
        bid = row_id(conn, "metadata_blobs", "blob_hash", v["hash"])
        if bid is None:
            return False        # its bytes have not arrived: wait for them
    old = conn.execute("SELECT blob_id FROM user_metadata_blobs WHERE metadata_id = ? AND "
                       "blob_key = ?", (mid, name)).fetchone()
    if old and old[0] == bid:
        return True
    conn.execute("DELETE FROM user_metadata_blobs WHERE metadata_id = ? AND blob_key = ?",
                 (mid, name))
    if bid is not None:
        conn.execute("UPDATE metadata_blobs SET reference_count = reference_count + 1 WHERE id = ?",
                     (bid,))
        conn.execute("INSERT INTO user_metadata_blobs (metadata_id, blob_key, blob_id) "
                     "VALUES (?, ?, ?)", (mid, name, bid))
    if old:
        release_blob(conn, old[0])
    return True


def _link(conn: sqlite3.Connection, key: str, v: Any, touched: Touched) -> bool:
    _, scope, target, tag = key.split("/", 3)
    mid = _metadata_id(conn, scope, target, create=v is not None)
    if mid is None:
        return v is None
    if v is None:
        tid = row_id(conn, "tags", "name", tag)
        if tid is not None:
            conn.execute("DELETE FROM tag_links WHERE metadata_id = ? AND tag_id = ?", (mid, tid))
        return True
    conn.execute("INSERT INTO tag_links (metadata_id, tag_id, applied_by, applied_at) "
                 "VALUES (?, ?, ?, ?) ON CONFLICT(metadata_id, tag_id) DO UPDATE SET "
                 "applied_by = excluded.applied_by",
                 (mid, _ensure_tag(conn, tag), v["applied_by"], now_iso()))
    return True


def _collection(conn: sqlite3.Connection, key: str, v: Any, touched: Touched) -> bool:
    name = key.split("/", 1)[1]
    cid = row_id(conn, "collections", "name", name)
    if v is None:
        if cid is not None:
            conn.execute("DELETE FROM collection_items WHERE collection_id = ?", (cid,))
            conn.execute("DELETE FROM collections WHERE id = ?", (cid,))
        return True
    now = now_iso()
    if cid is None:
        conn.execute("INSERT INTO collections (uuid, name, description, created_at, updated_at) "
                     "VALUES (?, ?, ?, ?, ?)", (uuid.uuid4().bytes, name, v["description"], now, now))
    else:
        conn.execute("UPDATE collections SET description = ? WHERE id = ?", (v["description"], cid))
    return True


def _item(conn: sqlite3.Connection, key: str, v: Any, touched: Touched) -> bool:
    _, rest = key.split("/", 1)
    name, kind, target = rest.rsplit("/", 2)
    cid = row_id(conn, "collections", "name", name)
    if cid is None:
        return v is None
    column, tb = _ITEM_COLUMN[kind], uuid_bytes(target)
    row = conn.execute(f"SELECT id FROM collection_items WHERE collection_id = ? AND {column} = ?",
                       (cid, tb)).fetchone()
    if v is None:
        if row:
            conn.execute("DELETE FROM collection_items WHERE id = ?", (row[0],))
        return True
    if conn.execute(f"SELECT 1 FROM {TARGET_TABLE[kind]} WHERE uuid = ?", (tb,)).fetchone() is None:
        return False
    if row:
        conn.execute("UPDATE collection_items SET position = ? WHERE id = ?", (v["position"], row[0]))
    else:
        conn.execute(f"INSERT INTO collection_items (collection_id, position, {column}, added_at) "
                     "VALUES (?, ?, ?, ?)", (cid, v["position"], tb, now_iso()))
    return True


_APPLY: dict[str, Callable[[sqlite3.Connection, str, Any, Touched], bool]] = {
    "device": _device, "location": _location, "entry": _entry, "tag": _tag,
    "collection": _collection, "meta": _meta, "mblob": _mblob, "link": _link, "item": _item}


def materialize(conn: sqlite3.Connection, key: str, value_text: str | None,
                touched: Touched) -> bool:
    """Apply one winning record; False if it must wait for what it refers to."""
    kind = key.split("/", 1)[0]
    value = None if value_text is None else json.loads(value_text)
    if kind == "model":
        return apply_model(conn, key, value, touched)
    return _APPLY[kind](conn, key, value, touched)

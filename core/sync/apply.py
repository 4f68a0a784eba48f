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
from dataclasses import dataclass
from typing import Any, Callable

from .. import metadata as meta
from ..clock import now_iso
from ..identity import content_uuid_bytes
from .state import _DEFAULTS

_TARGET_TABLE = {"entry": "entries", "content": "content_identities"}
_ITEM_COLUMN = {"entry": "entry_uuid", "content": "content_uuid"}


@dataclass(frozen=True)
class BlobRow:
    """A blob as it travels: content-addressed by the BLAKE3 of its uncompressed bytes."""
    hash: str
    blob_type: str
    compression: str | None
    size: int
    data: bytes             # as stored (compressed when `compression` says so)

    def verify(self) -> bool:
        import blake3
        import zstandard
        try:
            raw = zstandard.ZstdDecompressor().decompress(self.data) \
                if self.compression == "zstd" else self.data
        except zstandard.ZstdError:
            return False
        return len(raw) == self.size and blake3.blake3(raw).hexdigest() == self.hash


class Touched:
    """What one import touched: content identities whose entry_count must be recounted once it
    is done, and the local ids of rows it looked up or made (an import of a whole library
    asks for the same location, and for each parent folder, thousands of times)."""

    def __init__(self) -> None:
        self.content_ids: set[int] = set()
        self.ids: dict[tuple[str, Any], int] = {}

    def id_of(self, conn: sqlite3.Connection, table: str, column: str, value: Any) -> int | None:
        if value is None:
            return None
        found = self.ids.get((table, value))
        if found is None:
            found = _id(conn, table, column, value)
            if found is not None:
                self.ids[(table, value)] = found
        return found

    def forget(self) -> None:
        """Rows were deleted: cached ids may name rows that are gone."""
        self.ids.clear()

    def recount(self, conn: sqlite3.Connection) -> None:
        for cid in self.content_ids:
            conn.execute("UPDATE content_identities SET entry_count = (SELECT count(*) FROM "
                         "entries WHERE content_id = ?) WHERE id = ?", (cid, cid))
        self.content_ids.clear()


def _id(conn: sqlite3.Connection, table: str, column: str, value: Any) -> int | None:
    row = conn.execute(f"SELECT id FROM {table} WHERE {column} = ?", (value,)).fetchone()
    return None if row is None else int(row[0])


def _b(text: str | None) -> bytes | None:
    return None if text is None else uuid.UUID(text).bytes


# ---- device-owned rows --------------------------------------------------------------------
def _device(conn: sqlite3.Connection, key: str, v: Any, touched: Touched) -> bool:
    if v is None:
        return True             # a device never deletes its own row; nothing to undo
    now = now_iso()
    conn.execute("INSERT INTO devices (uuid, name, hostname, os, created_at, last_seen_at) "
                 "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(uuid) DO UPDATE SET name = excluded.name, "
                 "hostname = excluded.hostname, os = excluded.os",
                 (_b(key.split("/", 1)[1]), v["name"], v["hostname"], v["os"], now, now))
    return True


def _location(conn: sqlite3.Connection, key: str, v: Any, touched: Touched) -> bool:
    lu = _b(key.split("/", 1)[1])
    if v is None:
        lid = _id(conn, "locations", "uuid", lu)
        if lid is not None:
            gone = [r[0] for r in conn.execute("SELECT uuid FROM entries WHERE location_id = ?",
                                               (lid,))]
            _delete_entries(conn, gone, touched)
            conn.execute("DELETE FROM locations WHERE id = ?", (lid,))
            touched.forget()
        return True
    did = touched.id_of(conn, "devices", "uuid", _b(v["device"]))
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
    eu = _b(key.split("/", 1)[1])
    if v is None:
        _delete_entries(conn, [eu], touched)  # type: ignore[list-item]
        return True
    lid = touched.id_of(conn, "locations", "uuid", _b(v["location"]))
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
            lid = touched.id_of(conn, "locations", "uuid", _b(v["location"]))
    cid = _content_id(conn, v["content"], touched)
    parent = touched.id_of(conn, "entries", "uuid", _b(v["parent"]))
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
    tid = _id(conn, "tags", "name", name)
    if tid is None:
        ns = name[1:].split(":", 1)[0] if ":" in name else None
        tid = int(conn.execute("INSERT INTO tags (uuid, name, namespace, created_at) "
                               "VALUES (?, ?, ?, ?)",
                               (uuid.uuid4().bytes, name, ns, now_iso())).lastrowid)
    return tid


def _tag(conn: sqlite3.Connection, key: str, v: Any, touched: Touched) -> bool:
    name = key.split("/", 1)[1]
    if v is None:
        tid = _id(conn, "tags", "name", name)
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
    tb = _b(target)
    if conn.execute(f"SELECT 1 FROM {_TARGET_TABLE[scope]} WHERE uuid = ?", (tb,)).fetchone() \
            is None:
        return None
    return meta.metadata_id(conn, scope, uuid.UUID(target), create=create)


def _meta(conn: sqlite3.Connection, key: str, v: Any, touched: Touched) -> bool:
    _, scope, target, field = key.split("/", 3)
    mid = _metadata_id(conn, scope, target, create=v is not None)
    if mid is None:
        return v is None        # clearing a field of something absent: nothing to do
    value = _DEFAULTS[field] if v is None else v
    if field == "custom_data":
        value = json.dumps(value, sort_keys=True)
    conn.execute(f"UPDATE user_metadata SET {field} = ?, updated_at = ? WHERE id = ?",
                 (value, now_iso(), mid))
    return True


def _link(conn: sqlite3.Connection, key: str, v: Any, touched: Touched) -> bool:
    _, scope, target, tag = key.split("/", 3)
    mid = _metadata_id(conn, scope, target, create=v is not None)
    if mid is None:
        return v is None
    if v is None:
        tid = _id(conn, "tags", "name", tag)
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
    cid = _id(conn, "collections", "name", name)
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
    cid = _id(conn, "collections", "name", name)
    if cid is None:
        return v is None
    column, tb = _ITEM_COLUMN[kind], _b(target)
    row = conn.execute(f"SELECT id FROM collection_items WHERE collection_id = ? AND {column} = ?",
                       (cid, tb)).fetchone()
    if v is None:
        if row:
            conn.execute("DELETE FROM collection_items WHERE id = ?", (row[0],))
        return True
    if conn.execute(f"SELECT 1 FROM {_TARGET_TABLE[kind]} WHERE uuid = ?", (tb,)).fetchone() is None:
        return False
    if row:
        conn.execute("UPDATE collection_items SET position = ? WHERE id = ?", (v["position"], row[0]))
    else:
        conn.execute(f"INSERT INTO collection_items (collection_id, position, {column}, added_at) "
                     "VALUES (?, ?, ?, ?)", (cid, v["position"], tb, now_iso()))
    return True


def _model(conn: sqlite3.Connection, key: str, v: Any, touched: Touched) -> bool:
    """A model under its natural key: the winner replaces a local model of the same key made
    independently (another uuid), with its blobs linked by hash."""
    from ..models.store import delete_model_rows
    _, scope, target, ext, mtype = key.split("/", 4)
    if scope == "standalone":
        row = conn.execute("SELECT uuid FROM models WHERE uuid = ?", (_b(target),)).fetchone()
    else:
        column = "entry_uuid" if scope == "entry" else "content_identity_uuid"
        row = conn.execute(f"SELECT uuid FROM models WHERE {column} = ? AND extension_id = ? AND "
                           "model_type = ?", (_b(target), ext, mtype)).fetchone()
    if v is None:
        if row:
            delete_model_rows(conn, [row[0]])
        return True
    if scope != "standalone" and conn.execute(
            f"SELECT 1 FROM {_TARGET_TABLE[scope]} WHERE uuid = ?", (_b(target),)).fetchone() is None:
        return False
    blob_ids = {}
    for name, digest in v["blobs"].items():
        bid = _id(conn, "metadata_blobs", "blob_hash", digest)
        if bid is None:
            return False        # its bytes have not arrived: wait for them
        blob_ids[name] = bid
    mu, now = _b(v["uuid"]), now_iso()
    owner = _b(v.get("owner")) if v.get("owner") else None
    if row and row[0] != mu:
        delete_model_rows(conn, [row[0]])
        row = None
    if row is None:
        meta_id, _ = meta.new_model_metadata(conn)
        conn.execute(
            "INSERT INTO models (uuid, extension_id, model_type, data, entry_uuid, "
            "content_identity_uuid, standalone, metadata_id, sync_strategy, device_uuid, "
            "created_at, updated_at, schema_version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (mu, ext, mtype, json.dumps(v["data"], sort_keys=True),
             _b(target) if scope == "entry" else None,
             _b(target) if scope == "content" else None, int(scope == "standalone"), meta_id,
             v["sync"], owner, v["created_at"], now, v["version"]))
    else:
        conn.execute("UPDATE models SET data = ?, schema_version = ?, sync_strategy = ?, "
                     "device_uuid = coalesce(?, device_uuid), updated_at = ? WHERE uuid = ?",
                     (json.dumps(v["data"], sort_keys=True), v["version"], v["sync"], owner, now,
                      mu))
    from .. import blobs
    old = [r[0] for r in conn.execute("SELECT blob_id FROM model_blobs WHERE model_uuid = ?", (mu,))]
    conn.execute("DELETE FROM model_blobs WHERE model_uuid = ?", (mu,))
    for name, bid in blob_ids.items():     # new references first: a blob kept is never freed
        conn.execute("UPDATE metadata_blobs SET reference_count = reference_count + 1 WHERE id = ?",
                     (bid,))
        conn.execute("INSERT INTO model_blobs (model_uuid, blob_key, blob_id) VALUES (?, ?, ?)",
                     (mu, name, bid))
    for bid in old:
        blobs.release_blob(conn, bid)
    return True


def receive_blobs(conn: sqlite3.Connection, incoming: list["BlobRow"]) -> list[str]:
    """Store the bundle's blobs this device lacks, unreferenced for now (records link them);
    returns the hashes stored, for `drop_unused_blobs` once the records are applied."""
    stored = []
    for b in incoming:
        if _id(conn, "metadata_blobs", "blob_hash", b.hash) is None:
            now = now_iso()
            conn.execute("INSERT INTO metadata_blobs (blob_hash, blob_data, blob_type, size_bytes, "
                         "compression, reference_count, created_at, last_accessed_at) "
                         "VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
                         (b.hash, b.data, b.blob_type, b.size, b.compression, now, now))
            stored.append(b.hash)
    return stored


def drop_unused_blobs(conn: sqlite3.Connection, hashes: list[str]) -> None:
    for start in range(0, len(hashes), 500):
        chunk = hashes[start:start + 500]
        conn.execute(f"DELETE FROM metadata_blobs WHERE reference_count <= 0 AND blob_hash IN "
                     f"({','.join('?' * len(chunk))})", chunk)


_APPLY: dict[str, Callable[[sqlite3.Connection, str, Any, Touched], bool]] = {
    "device": _device, "location": _location, "entry": _entry, "tag": _tag,
    "collection": _collection, "meta": _meta, "link": _link, "item": _item, "model": _model}


def materialize(conn: sqlite3.Connection, key: str, value_text: str | None,
                touched: Touched) -> bool:
    """Apply one winning record; False if it must wait for what it refers to."""
    kind = key.split("/", 1)[0]
    value = None if value_text is None else json.loads(value_text)
    return _APPLY[kind](conn, key, value, touched)

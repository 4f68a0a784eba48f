"""What a library's replicated state *is*: its tables read as records with natural keys.

`extract()` turns the tables into {key: canonical JSON value}. The same function serves the
scan (which compares it with the records held, to find and stamp local changes) and the
convergence check (two devices have converged when their extracts are equal). Keys never hold
local row ids, which differ on every device (docs/sync.md, "Records and keys").
"""
from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any, Iterable, Iterator

import blake3

SHARED_KINDS = ("tag", "collection", "meta", "link", "item", "model", "mblob")
OWNED_KINDS = ("device", "location", "entry")
# The order records are applied in: what a record refers to comes before it.
APPLY_ORDER = {k: i for i, k in enumerate(("device", "location", "entry", "tag", "collection",
                                           "model", "meta", "mblob", "link", "item"))}
# A model (alias m) that travels: shared, or device-owned and standalone or on an entry of its
# own device (`_models` says why; the two must agree).
REPLICATED_MODEL = (
    "(m.sync_strategy = 1 OR (m.content_identity_uuid IS NULL AND (m.entry_uuid IS NULL OR "
    "m.device_uuid = (SELECT d.uuid FROM entries e JOIN locations l ON l.id = e.location_id "
    "JOIN devices d ON d.id = l.device_id WHERE e.uuid = m.entry_uuid))))")
META_FIELDS = ("notes", "favorite", "hidden", "custom_data")
META_DEFAULTS: dict[str, Any] = {"notes": None, "favorite": 0, "hidden": 0, "custom_data": {}}


def dumps(value: Any) -> str:
    """Canonical JSON: equal values give equal text on every device."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def kind_of(key: str) -> str:
    return key.split("/", 1)[0]


def _u(raw: bytes | None) -> str | None:
    return None if raw is None else str(uuid.UUID(bytes=raw))


def _scope_target(entry_raw: bytes | None, content_raw: bytes | None,
                  model_raw: bytes | None = None) -> tuple[str, str] | None:
    if entry_raw is not None:
        return "entry", _u(entry_raw)  # type: ignore[return-value]
    if content_raw is not None:
        return "content", _u(content_raw)  # type: ignore[return-value]
    if model_raw is not None:
        return "model", _u(model_raw)  # type: ignore[return-value]
    return None                     # a model that stays on its device


def _by_target(conn: sqlite3.Connection, columns: str, joins: str = ""
               ) -> Iterator[tuple[tuple[str, str], tuple]]:
    """User-metadata rows with the (scope, target) they belong to: an entry, a content, or a
    model that travels (rows of a model that stays on its device are skipped)."""
    for row in conn.execute(
            f"SELECT um.entry_uuid, um.content_identity_uuid, m.uuid, {columns} "
            f"FROM user_metadata um {joins} "
            f"LEFT JOIN models m ON m.metadata_id = um.id AND {REPLICATED_MODEL}"):
        st = _scope_target(*row[:3])
        if st:
            yield st, row[3:]


def _shared(conn: sqlite3.Connection) -> Iterator[tuple[str, Any]]:
    for name, color, parent in conn.execute(
            "SELECT t.name, t.color, p.name FROM tags t LEFT JOIN tags p ON p.id = t.parent_id"):
        yield f"tag/{name}", {"color": color, "parent": parent}
    for (scope, target), (tag, applied_by) in _by_target(
            conn, "t.name, tl.applied_by", "JOIN tag_links tl ON tl.metadata_id = um.id "
            "JOIN tags t ON t.id = tl.tag_id"):
        yield f"link/{scope}/{target}/{tag}", {"applied_by": applied_by}
    for (scope, target), (notes, favorite, hidden, custom) in _by_target(
            conn, "um.notes, um.favorite, um.hidden, um.custom_data"):
        values = {"notes": notes, "favorite": int(favorite), "hidden": int(hidden),
                  "custom_data": json.loads(custom or "{}")}
        for field in META_FIELDS:
            if values[field] != META_DEFAULTS[field]:
                yield f"meta/{scope}/{target}/{field}", values[field]
    for (scope, target), (key, digest) in _by_target(
            conn, "ub.blob_key, b.blob_hash", "JOIN user_metadata_blobs ub ON "
            "ub.metadata_id = um.id JOIN metadata_blobs b ON b.id = ub.blob_id"):
        yield f"mblob/{scope}/{target}/{key}", {"hash": digest}
    for name, description in conn.execute("SELECT name, description FROM collections"):
        yield f"collection/{name}", {"description": description}
    for name, e, c, mu, position in conn.execute(
            "SELECT c.name, i.entry_uuid, i.content_uuid, m.uuid, i.position "
            "FROM collection_items i JOIN collections c ON c.id = i.collection_id "
            f"LEFT JOIN models m ON m.uuid = i.model_uuid AND {REPLICATED_MODEL} "
            "WHERE i.entry_uuid IS NOT NULL OR i.content_uuid IS NOT NULL OR m.uuid IS NOT NULL"):
        st = _scope_target(e, c, mu)
        yield f"item/{name}/{st[0]}/{st[1]}", {"position": position}  # type: ignore[index]


def _models(conn: sqlite3.Connection, me: bytes | None) -> Iterator[tuple[str, Any]]:
    """Models, keyed by what makes them unique: (scope, target, extension, type) for content-
    and entry-scoped ones, so two devices that both compute one for the same file merge into
    one. Shared models always travel. A device-owned model travels, read-only, when it is
    standalone or on an entry of its own device; on content, or on another device's entry, it
    stays local: the model store holds one model per type and target, so copies from several
    owners could not sit side by side. The scan (`me`) speaks only for this device's own."""
    links: dict[bytes, dict[str, str]] = {}
    for mu, key, digest in conn.execute("SELECT l.model_uuid, l.blob_key, b.blob_hash FROM "
                                        "model_blobs l JOIN metadata_blobs b ON b.id = l.blob_id"):
        links.setdefault(mu, {})[key] = digest
    for mu, ext, mtype, data, e, c, sync, owner, created, version, entry_owner in conn.execute(
            "SELECT m.uuid, m.extension_id, m.model_type, m.data, m.entry_uuid, "
            "m.content_identity_uuid, m.sync_strategy, m.device_uuid, m.created_at, "
            "m.schema_version, d.uuid FROM models m LEFT JOIN entries e ON e.uuid = m.entry_uuid "
            "LEFT JOIN locations l ON l.id = e.location_id "
            "LEFT JOIN devices d ON d.id = l.device_id"):
        if sync == 0 and (c is not None or (e is not None and entry_owner != owner)
                          or (me is not None and owner != me)):
            continue
        scope, target = _scope_target(e, c) or ("standalone", _u(mu))
        value = {"uuid": _u(mu), "data": json.loads(data), "version": version, "sync": sync,
                 "created_at": created, "blobs": links.get(mu, {})}
        if sync == 0:
            value["owner"] = _u(owner)
        yield f"model/{scope}/{target}/{ext}/{mtype}", value


def model_owner(value: Any) -> str | None:
    """The device a model record belongs to (device-owned models), None for shared ones."""
    return value.get("owner") if isinstance(value, dict) and value.get("sync") == 0 else None


def _owned(conn: sqlite3.Connection, device_id: int | None) -> Iterator[tuple[str, Any]]:
    where, args = ("WHERE d.id = ?", (device_id,)) if device_id is not None else ("", ())
    for u, name, hostname, os_name in conn.execute(
            f"SELECT d.uuid, d.name, d.hostname, d.os FROM devices d {where}", args):
        yield f"device/{_u(u)}", {"name": name, "hostname": hostname, "os": os_name}
    for u, du, path, name, created, indexed in conn.execute(
            "SELECT l.uuid, d.uuid, l.path, l.name, l.created_at, l.last_indexed_at "
            f"FROM locations l JOIN devices d ON d.id = l.device_id {where}", args):
        yield f"location/{_u(u)}", {"device": _u(du), "path": path, "name": name,
                                    "created_at": created, "last_indexed_at": indexed}
    for row in conn.execute(
            "SELECT e.uuid, d.uuid, l.uuid, p.uuid, e.path, e.raw_path, e.name, e.ext, e.kind, "
            "e.is_dir, e.hidden, e.size, e.child_count, e.inode, e.mtime_ns, e.ctime_ns, "
            "e.full_hash, c.content_hash, c.size, c.kind, c.mime_type, c.kind_rule "
            "FROM entries e JOIN locations l ON l.id = e.location_id "
            "JOIN devices d ON d.id = l.device_id LEFT JOIN entries p ON p.id = e.parent_id "
            f"LEFT JOIN content_identities c ON c.id = e.content_id {where}", args):
        content = None if row[17] is None else {
            "hash": row[17], "size": row[18], "kind": row[19], "mime": row[20], "rule": row[21]}
        yield f"entry/{_u(row[0])}", {
            "device": _u(row[1]), "location": _u(row[2]), "parent": _u(row[3]),
            "path": row[4], "raw_path": None if row[5] is None else bytes(row[5]).hex(),
            "name": row[6], "ext": row[7], "kind": row[8], "is_dir": row[9], "hidden": row[10],
            "size": row[11], "child_count": row[12], "inode": row[13], "mtime_ns": row[14],
            "ctime_ns": row[15], "full_hash": row[16], "content": content}


PARTS = {"shared": SHARED_KINDS, "owned": OWNED_KINDS}


def extract(conn: sqlite3.Connection, device_id: int | None = None,
            parts: Iterable[str] = ("shared", "owned")) -> dict[str, str]:
    """Every replicated record as {key: canonical JSON}: shared records, plus the device-owned
    rows of `device_id` (the scan: only the owner speaks for them) or of every device (None).
    `parts` limits it to the shared or the owned half."""
    parts = set(parts)
    out = {key: dumps(value) for key, value in _shared(conn)} if "shared" in parts else {}
    if "shared" in parts:
        me = None if device_id is None else conn.execute(
            "SELECT uuid FROM devices WHERE id = ?", (device_id,)).fetchone()[0]
        out.update((key, dumps(value)) for key, value in _models(conn, me))
    if "owned" in parts:
        out.update((key, dumps(value)) for key, value in _owned(conn, device_id))
    return out


def digest(conn: sqlite3.Connection) -> str:
    """A hash over every replicated table: equal on two devices exactly when they converged."""
    h = blake3.blake3()
    for key, value in sorted(extract(conn).items()):
        h.update(f"{key}\0{value}\n".encode())
    return h.hexdigest()

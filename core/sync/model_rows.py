"""Models as records: applying a model record (apply.py does the other kinds).

A model is found under its natural key (scope, target, extension, type; standalone ones by
uuid), so the winner of two models made independently for one file replaces the other, and its
blob fields link blobs by hash (they arrived with the record, see blobs.py).
"""
from __future__ import annotations

import json
import sqlite3
from typing import Any

from core.domain.blobs import release_blob
from core.store.clock import now_iso
from core.domain.metadata import new_model_metadata
from core.domain.models.store import delete_model_rows
from .rows import TARGET_TABLE, Touched, row_id, uuid_bytes


def apply_model(conn: sqlite3.Connection, key: str, v: Any, touched: Touched) -> bool:
    """A model under its natural key: the winner replaces a local model of the same key made
    independently (another uuid), with its blobs linked by hash."""
    _, scope, target, ext, mtype = key.split("/", 4)
    if scope == "standalone":
        row = conn.execute("SELECT uuid FROM models WHERE uuid = ?", (uuid_bytes(target),)).fetchone()
    else:
        column = "entry_uuid" if scope == "entry" else "content_identity_uuid"
        row = conn.execute(f"SELECT uuid FROM models WHERE {column} = ? AND extension_id = ? AND "
                           "model_type = ?", (uuid_bytes(target), ext, mtype)).fetchone()
    if v is None:
        if row:
            delete_model_rows(conn, [row[0]])
        return True
    if scope != "standalone" and conn.execute(
            f"SELECT 1 FROM {TARGET_TABLE[scope]} WHERE uuid = ?", (uuid_bytes(target),)).fetchone() is None:
        return False
    blob_ids = {}
    for name, digest in v["blobs"].items():
        bid = row_id(conn, "metadata_blobs", "blob_hash", digest)
        if bid is None:
            return False        # its bytes have not arrived: wait for them
        blob_ids[name] = bid
    mu, now = uuid_bytes(v["uuid"]), now_iso()
    owner = uuid_bytes(v.get("owner")) if v.get("owner") else None
    if row and row[0] != mu:
        delete_model_rows(conn, [row[0]])
        row = None
    if row is None:
        meta_id, _ = new_model_metadata(conn)
        conn.execute(
            "INSERT INTO models (uuid, extension_id, model_type, data, entry_uuid, "
            "content_identity_uuid, standalone, metadata_id, sync_strategy, device_uuid, "
            "created_at, updated_at, schema_version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (mu, ext, mtype, json.dumps(v["data"], sort_keys=True),
             uuid_bytes(target) if scope == "entry" else None,
             uuid_bytes(target) if scope == "content" else None, int(scope == "standalone"), meta_id,
             v["sync"], owner, v["created_at"], now, v["version"]))
    else:
        conn.execute("UPDATE models SET data = ?, schema_version = ?, sync_strategy = ?, "
                     "device_uuid = coalesce(?, device_uuid), updated_at = ? WHERE uuid = ?",
                     (json.dumps(v["data"], sort_keys=True), v["version"], v["sync"], owner, now,
                      mu))
    old = [r[0] for r in conn.execute("SELECT blob_id FROM model_blobs WHERE model_uuid = ?", (mu,))]
    conn.execute("DELETE FROM model_blobs WHERE model_uuid = ?", (mu,))
    for name, bid in blob_ids.items():     # new references first: a blob kept is never freed
        conn.execute("UPDATE metadata_blobs SET reference_count = reference_count + 1 WHERE id = ?",
                     (bid,))
        conn.execute("INSERT INTO model_blobs (model_uuid, blob_key, blob_id) VALUES (?, ?, ?)",
                     (mu, name, bid))
    for bid in old:
        release_blob(conn, bid)
    return True

"""Reading and writing model rows: `models`, their metadata row and their blob links.

Every write here runs inside the caller's transaction (core/store/txn.py) and appends a sync_log row
stamped with the library's HLC, so a crash leaves either the whole model or none of it.
"""
from __future__ import annotations

import json
import sqlite3
import uuid
from typing import TYPE_CHECKING, Any

from core.domain import blobs
from core.store import changelog
from core.store.clock import now_iso
from core.errors import VdfsError
from core.domain.metadata import (NotFoundError, as_uuid, delete_metadata_rows, new_model_metadata,
                                  require_row)
from .instances import (STATE, ModelState, inline_data, instances_from_rows, is_loaded,
                        model_uuid, spec_of, state_of)
from .spec import ModelSpec

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library
    from core.store.ids import UuidLike

COLUMNS = ("uuid, data, schema_version, entry_uuid, content_identity_uuid, standalone, "
           "metadata_id, hlc_timestamp, created_at, updated_at")


class ModelExistsError(VdfsError):
    """A content- or entry-scoped model of this type already exists for that target."""


class ModelDataError(VdfsError, ValueError):
    """An instance's values cannot be stored (e.g. NaN in an inline field)."""


class ModelScopeError(VdfsError, ValueError):
    """A model was created with the wrong scope for its declaration."""


def _row_dicts(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]


def find_scoped(conn: sqlite3.Connection, spec: ModelSpec, scope: str, target: uuid.UUID) -> bytes | None:
    column = "content_identity_uuid" if scope == "content" else "entry_uuid"
    row = conn.execute(f"SELECT uuid FROM models WHERE {column} = ? AND model_type = ? AND "
                       f"extension_id = ?", (target.bytes, spec.model_type,
                                             spec.stored_extension_id)).fetchone()
    return row[0] if row else None


def insert(lib: Library, conn: sqlite3.Connection, obj: Any, scope: str,
           target: uuid.UUID | None) -> uuid.UUID:
    """Insert a new model (with its metadata row and blobs); returns its uuid."""
    spec = spec_of(obj)
    if spec.scope != scope:
        hint = {"content": "create_model_for_content(content_uuid, m)",
                "entry": "create_model_for_entry(entry_uuid, m)",
                "standalone": "create_model(m)"}[spec.scope]
        raise ModelScopeError(f"{spec.model_type} is declared with scope={spec.scope!r}; "
                              f"create it with {hint}")
    if state_of(obj) is not None:
        raise ModelExistsError(f"this {spec.model_type} instance is already stored as "
                               f"{state_of(obj).uuid}; use update_model")
    if target is not None:
        require_row(conn, scope, target)
        if find_scoped(conn, spec, scope, target):
            raise ModelExistsError(f"{spec.model_type} already exists for {scope} {target}; "
                                   "use get_model_by_content / update_model")
    mu = model_uuid(obj) or uuid.uuid4()
    if conn.execute("SELECT 1 FROM models WHERE uuid = ?", (mu.bytes,)).fetchone():
        raise ModelExistsError(f"a model with uuid {mu} already exists")
    data = inline_data(obj)
    meta_id, _ = new_model_metadata(conn)
    if spec.search_fields:       # opted in to search (the search migration's search_model_fields)
        conn.executemany("INSERT OR IGNORE INTO search_model_fields VALUES (?, ?, ?)",
                         [(spec.stored_extension_id, spec.model_type, f) for f in spec.search_fields])
    stamp = lib.clock.now()
    now = now_iso()
    conn.execute(
        "INSERT INTO models (uuid, extension_id, model_type, data, entry_uuid, "
        "content_identity_uuid, standalone, metadata_id, sync_strategy, hlc_timestamp, "
        "device_uuid, created_at, updated_at, schema_version) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (mu.bytes, spec.stored_extension_id, spec.model_type, _dump(spec, data),
         target.bytes if scope == "entry" else None,
         target.bytes if scope == "content" else None,
         1 if scope == "standalone" else 0, meta_id, spec.sync_code, stamp,
         lib.device_uuid.bytes, now, now, spec.version))
    hashes = {}
    for name in spec.blob_fields:
        value = getattr(obj, name)
        if value is not None:
            hashes[name] = _link_blob(lib, conn, spec, mu, name, value)
    if spec.id_field:
        obj.__dict__[spec.id_field] = mu
    obj.__dict__[STATE] = ModelState(uuid=mu, lib=lib, scope=scope, target=target,
                                     metadata_id=meta_id, hlc=stamp, created_at=now, updated_at=now)
    changelog.record(lib, conn, "models", mu, "insert",
                     _sync_data(spec, scope, target, data, hashes), hlc=stamp)
    return mu


def _dump(spec: ModelSpec, data: dict[str, Any]) -> str:
    """Strict JSON (no NaN/Infinity, which the query engine's JSON functions reject)."""
    try:
        return json.dumps(data, sort_keys=True, allow_nan=False)
    except ValueError as exc:
        raise ModelDataError(f"{spec.model_type}: inline fields must be finite numbers "
                              f"({exc}); store NaN-bearing arrays with blob_data()") from exc


def _link_blob(lib: Library, conn: sqlite3.Connection, spec: ModelSpec, mu: uuid.UUID, name: str,
               value: Any) -> str:
    opts = spec.blob_options[name]
    raw, blob_type = blobs.encode_value(value, quantize=opts.quantize)
    blob_id = blobs.put_blob(conn, raw, blob_type, compression=opts.compression,
                             counters=lib.blob_stats)
    conn.execute("INSERT INTO model_blobs (model_uuid, blob_key, blob_id) VALUES (?, ?, ?)",
                 (mu.bytes, name, blob_id))
    return blobs.blob_hash(raw)


def _sync_data(spec: ModelSpec, scope: str, target: uuid.UUID | None, data: dict,
               hashes: dict[str, str]) -> dict[str, Any]:
    return {"extension_id": spec.stored_extension_id, "model_type": spec.model_type,
            "version": spec.version, "scope": scope, "target": str(target) if target else None,
            "sync_strategy": spec.sync_strategy, "data": data, "blobs": hashes}


def update(lib: Library, conn: sqlite3.Connection, obj: Any) -> str:
    """Write an instance's inline data and any blob fields held in memory; returns the HLC."""
    spec = spec_of(obj)
    mu = model_uuid(obj)
    row = conn.execute("SELECT entry_uuid, content_identity_uuid FROM models WHERE uuid = ?",
                       (mu.bytes,)).fetchone() if mu else None
    if row is None:
        raise NotFoundError(f"{spec.model_type} {mu} is not stored; create it first")
    data = inline_data(obj)
    stamp = lib.clock.now()
    now = now_iso()
    conn.execute("UPDATE models SET data = ?, schema_version = ?, hlc_timestamp = ?, "
                 "device_uuid = ?, updated_at = ? WHERE uuid = ?",
                 (_dump(spec, data), spec.version, stamp, lib.device_uuid.bytes,
                  now, mu.bytes))
    hashes = {}
    for name in spec.blob_fields:
        if not is_loaded(obj, name):
            continue  # never read, so unchanged
        hashes[name] = _replace_blob(lib, conn, spec, mu, name, obj.__dict__[name])
    st = state_of(obj)
    if st is not None:
        st.hlc, st.updated_at = stamp, now
    scope = "entry" if row[0] else "content" if row[1] else "standalone"
    target = uuid.UUID(bytes=row[0] or row[1]) if (row[0] or row[1]) else None
    changelog.record(lib, conn, "models", mu, "update",
                     _sync_data(spec, scope, target, data, hashes), hlc=stamp)
    return stamp


def _replace_blob(lib: Library, conn: sqlite3.Connection, spec: ModelSpec, mu: uuid.UUID, name: str,
                  value: Any) -> str | None:
    old = conn.execute("SELECT b.id, b.blob_hash FROM model_blobs l JOIN metadata_blobs b "
                       "ON b.id = l.blob_id WHERE l.model_uuid = ? AND l.blob_key = ?",
                       (mu.bytes, name)).fetchone()
    if value is None:
        if old:
            conn.execute("DELETE FROM model_blobs WHERE model_uuid = ? AND blob_key = ?",
                         (mu.bytes, name))
            blobs.release_blob(conn, old[0])
        return None
    opts = spec.blob_options[name]
    raw, blob_type = blobs.encode_value(value, quantize=opts.quantize)
    digest = blobs.blob_hash(raw)
    if old and old[1] == digest:
        return digest
    if old:
        conn.execute("DELETE FROM model_blobs WHERE model_uuid = ? AND blob_key = ?",
                     (mu.bytes, name))
        blobs.release_blob(conn, old[0])
    _link_blob(lib, conn, spec, mu, name, value)
    return digest


def delete_model_rows(conn: sqlite3.Connection, uuids: list[bytes]) -> int:
    """Delete models with their blob links (freeing unreferenced blobs), metadata, tag links
    and collection items. No sync_log row: callers that sync record their own."""
    removed = 0
    for start in range(0, len(uuids), 500):
        chunk = uuids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        linked = conn.execute(f"SELECT blob_id FROM model_blobs WHERE model_uuid IN ({marks})",
                              chunk).fetchall()
        conn.execute(f"DELETE FROM model_blobs WHERE model_uuid IN ({marks})", chunk)
        for (blob_id,) in linked:
            blobs.release_blob(conn, blob_id)
        conn.execute(f"DELETE FROM collection_items WHERE model_uuid IN ({marks})", chunk)
        metas = [r[0] for r in conn.execute(
            f"SELECT metadata_id FROM models WHERE uuid IN ({marks})", chunk)]
        removed += conn.execute(f"DELETE FROM models WHERE uuid IN ({marks})", chunk).rowcount
        delete_metadata_rows(conn, metas)
    return removed


def delete(lib: Library, conn: sqlite3.Connection, mu: uuid.UUID) -> bool:
    if not delete_model_rows(conn, [mu.bytes]):
        return False
    changelog.record(lib, conn, "models", mu, "delete")
    return True


def load(lib: Library, model_cls: type, where: str, args: tuple, *, inline_only: bool = False,
         limit: int | None = None) -> list[Any]:
    """Instances of `model_cls` from rows matching a WHERE clause (plus the type filter)."""
    spec = spec_of(model_cls)
    sql = (f"SELECT {COLUMNS} FROM models WHERE model_type = ? AND extension_id = ?"
           + (f" AND ({where})" if where else "") + " ORDER BY id"
           + (f" LIMIT {int(limit)}" if limit else ""))
    cur = lib.conn.execute(sql, (spec.model_type, spec.stored_extension_id, *args))
    return instances_from_rows(model_cls, _row_dicts(cur), lib, inline_only=inline_only)


def get(lib: Library, model_cls: type, model_id: UuidLike, *, inline_only: bool = False
        ) -> Any | None:
    found = load(lib, model_cls, "uuid = ?", (as_uuid(model_id, "model uuid").bytes,),
                 inline_only=inline_only)
    return found[0] if found else None


def get_by_target(lib: Library, model_cls: type, scope: str, target: UuidLike, *,
                  inline_only: bool = False) -> Any | None:
    column = "content_identity_uuid" if scope == "content" else "entry_uuid"
    found = load(lib, model_cls, f"{column} = ?", (as_uuid(target, f"{scope} uuid").bytes,),
                 inline_only=inline_only, limit=1)
    return found[0] if found else None

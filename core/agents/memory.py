"""Agent memory: an `@agent_memory` class whose fields are memories, each marked
`sync("shared")` (travels with the library to other devices) or `sync("device_owned")`.

- `TemporalMemory`: time-ordered events in SQLite, queried by time range or recency.
- `AssociativeMemory`: items with vectors; cosine search over an in-memory index that each
  write updates in place (core.agents.vector_index: an exact scan, or for large memories an
  HNSW graph whose candidates are rescored exactly), and `query_similar_faces`.
- `WorkingMemory`: short-term key/value state (a plan, a cursor), persisted so a restart resumes.

One SQLite file per extension, `<library>/agents/<extension id>.db`; rows carry the device that
wrote them, so a sync layer can ship the shared fields and keep device-owned ones local.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from numpy.typing import ArrayLike

from core.store.clock import now_iso
from core.errors import VdfsError
from core.store.facade import Backing

from .vector_index import VectorIndex

SYNC_MODES = ("shared", "device_owned")

SCHEMA = """
CREATE TABLE IF NOT EXISTS temporal (
    id INTEGER PRIMARY KEY AUTOINCREMENT, field TEXT NOT NULL, at TEXT NOT NULL,
    kind TEXT NOT NULL, data TEXT NOT NULL, device TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_temporal ON temporal(field, at);
CREATE TABLE IF NOT EXISTS associative (
    field TEXT NOT NULL, key TEXT NOT NULL, vector BLOB NOT NULL, dim INTEGER NOT NULL,
    data TEXT NOT NULL, device TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (field, key));
CREATE TABLE IF NOT EXISTS associative_generation (
    field TEXT PRIMARY KEY, gen INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS working (
    field TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, device TEXT NOT NULL,
    PRIMARY KEY (field, key, device));
"""


class MemoryError_(VdfsError, ValueError):
    """Bad memory use: wrong vector dimension, unknown sync mode, non-JSON data."""


@dataclass(frozen=True)
class SyncMarker:
    mode: str
    default: Any = None


def sync(mode: str) -> SyncMarker:
    """Mark a memory field: `knowledge: AssociativeMemory = sync("shared")`."""
    if mode not in SYNC_MODES:
        raise MemoryError_(f"sync mode must be one of {SYNC_MODES}, got {mode!r}")
    return SyncMarker(mode)


class _Store:
    """The extension's memory database, shared by all its fields. Its connections (one per
    thread) are kept on core's side (core.access.facade): a memory handed to an agent holds none."""

    __slots__ = ("path", "device", "__weakref__")

    def __init__(self, path: Path, device: str):
        self.path, self.device = path, device
        path.parent.mkdir(parents=True, exist_ok=True)
        _connections.bind(self, _Connections())
        _connection(self).executescript(SCHEMA)

    def close(self) -> None:
        held = _connections(self)
        for c in held.all:
            c.close()
        held.all.clear()
        held.local = threading.local()


class _Connections:
    def __init__(self) -> None:
        self.local = threading.local()
        self.all: list[sqlite3.Connection] = []


_connections: Backing[_Connections] = Backing("agent memory")


def _connection(store: _Store) -> sqlite3.Connection:
    held = _connections(store)
    conn = getattr(held.local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(store.path, isolation_level=None, timeout=30,
                               check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        held.local.conn = conn
        held.all.append(conn)
    return conn


def _json(value: Any, what: str) -> str:
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise MemoryError_(f"{what} must be JSON-serialisable: {exc}") from None


def _db(memory: "_Memory") -> sqlite3.Connection:
    return _connection(memory._store)


class _Memory:
    kind = "memory"

    def __init__(self, store: _Store, field: str, sync_mode: str):
        self._store, self.field, self.sync_mode = store, field, sync_mode

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.field!r} sync={self.sync_mode} ({len(self)} items)>"


class TemporalMemory(_Memory):
    """Time-ordered events: `record(kind, data)`, `recent(n)`, `between(start, end)`."""

    def record(self, kind: str, data: Any = None, *, at: datetime | str | None = None) -> None:
        when = at.astimezone(timezone.utc).isoformat() if isinstance(at, datetime) else (at or now_iso())
        _db(self).execute("INSERT INTO temporal (field, at, kind, data, device) VALUES (?,?,?,?,?)",
                           (self.field, when, kind, _json(data, "event data"), self._store.device))

    def _rows(self, where: str, params: tuple, order: str = "at, id", limit: int = -1) -> list[dict]:
        rows = _db(self).execute(
            f"SELECT at, kind, data, device FROM temporal WHERE field = ? {where} "
            f"ORDER BY {order} LIMIT ?", (self.field, *params, limit)).fetchall()
        return [{"at": a, "kind": k, "data": json.loads(d), "device": dev} for a, k, d, dev in rows]

    def recent(self, n: int = 10, kind: str | None = None) -> list[dict]:
        """The last `n` events, newest first."""
        where, params = ("AND kind = ?", (kind,)) if kind else ("", ())
        return self._rows(where, params, order="at DESC, id DESC", limit=n)

    def between(self, start: str, end: str) -> list[dict]:
        """Events with start <= at < end (ISO-8601 text), oldest first."""
        return self._rows("AND at >= ? AND at < ?", (start, end))

    def __len__(self) -> int:
        return _db(self).execute("SELECT count(*) FROM temporal WHERE field = ?",
                                  (self.field,)).fetchone()[0]


class AssociativeMemory(_Memory):
    """Items with vectors: `add(key, vector, data)`, `query_similar(vector, k)` by cosine,
    `query_similar_faces(faces, k)`.

    Searches run on an in-memory VectorIndex. Every write bumps this field's generation in the
    same transaction, so a write by this object updates the index in place, while a write by
    another process (or another memory object on the same file) makes the next search reload."""

    def __init__(self, store: _Store, field: str, sync_mode: str):
        super().__init__(store, field, sync_mode)
        self._index: VectorIndex | None = None
        self._gen = -1
        self._lock = threading.Lock()

    def add(self, key: str, vector: ArrayLike, data: Any = None) -> None:
        vec = np.asarray(vector, dtype=np.float32).ravel()
        if vec.size == 0 or not np.all(np.isfinite(vec)):
            raise MemoryError_(f"{self.field}: a vector must be non-empty and finite")
        payload = _json(data, "item data")
        with self._lock:
            dim = self._dim()
            if dim is not None and dim != vec.size:
                raise MemoryError_(f"{self.field}: vectors have {dim} dimensions, got {vec.size}")
            gen = self._write(
                "INSERT OR REPLACE INTO associative (field, key, vector, dim, data, device, "
                "updated_at) VALUES (?,?,?,?,?,?,?)",
                (self.field, str(key), vec.tobytes(), vec.size, payload, self._store.device, now_iso()))
            if self._follows(gen):
                if self._index is None:
                    self._index = VectorIndex(vec.size)
                self._index.put(str(key), vec, json.loads(payload))

    def remove(self, key: str) -> bool:
        with self._lock:
            cur, gen = self._write_cursor("DELETE FROM associative WHERE field = ? AND key = ?",
                                          (self.field, str(key)))
            if self._follows(gen) and self._index is not None:
                self._index.remove(str(key))
            return cur.rowcount > 0

    def get(self, key: str) -> tuple[np.ndarray, Any] | None:
        row = _db(self).execute("SELECT vector, data FROM associative WHERE field = ? AND key = ?",
                                 (self.field, str(key))).fetchone()
        return (np.frombuffer(row[0], dtype=np.float32), json.loads(row[1])) if row else None

    def _dim(self) -> int | None:
        row = _db(self).execute("SELECT dim FROM associative WHERE field = ? LIMIT 1",
                                 (self.field,)).fetchone()
        return row[0] if row else None

    # ---- the index and its generation ----------------------------------------------------
    def _write(self, sql: str, params: tuple) -> int:
        return self._write_cursor(sql, params)[1]

    def _write_cursor(self, sql: str, params: tuple) -> tuple[sqlite3.Cursor, int]:
        """Run one write and bump the field's generation in one transaction."""
        db = _db(self)
        db.execute("BEGIN IMMEDIATE")
        try:
            cur = db.execute(sql, params)
            gen = db.execute(
                "INSERT INTO associative_generation (field, gen) VALUES (?, 1) "
                "ON CONFLICT(field) DO UPDATE SET gen = gen + 1 RETURNING gen",
                (self.field,)).fetchone()[0]
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return cur, gen

    def _follows(self, gen: int) -> bool:
        """True when the index was current just before this write (so it can apply it);
        otherwise it is dropped and rebuilt by the next search."""
        if self._gen == gen - 1:
            self._gen = gen
            return True
        self._index, self._gen = None, -1
        return False

    def _current(self) -> VectorIndex | None:
        row = _db(self).execute("SELECT gen FROM associative_generation WHERE field = ?",
                                 (self.field,)).fetchone()
        gen = row[0] if row else 0
        if self._gen != gen:
            rows = _db(self).execute("SELECT key, vector, data FROM associative WHERE field = ? "
                                      "ORDER BY key", (self.field,)).fetchall()
            self._index = None
            if rows:
                mat = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
                self._index = VectorIndex(mat.shape[1], 1)
                self._index.bulk([r[0] for r in rows], mat, [json.loads(r[2]) for r in rows])
            self._gen = gen
        return self._index

    # ---- search ----------------------------------------------------------------------------
    def query_similar(self, vector: ArrayLike, k: int = 5, min_score: float | None = None
                      ) -> list[tuple[str, float, Any]]:
        """The `k` items most similar to `vector` (cosine), best first: (key, score, data)."""
        q = np.asarray(vector, dtype=np.float32).ravel()
        with self._lock:
            index = self._current()
            if index is None or len(index) == 0:
                return []
            if q.size != index.dim:
                raise MemoryError_(f"{self.field}: vectors have {index.dim} dimensions, got {q.size}")
            out = index.search(q, k)
        return [o for o in out if min_score is None or o[1] >= min_score]

    def query_similar_faces(self, faces: Any, k: int = 5, min_score: float | None = None
                            ) -> list[tuple[str, float, Any]]:
        """Items similar to any of the given faces, best first, each key once with its best
        score. `faces` is an embedding, a face (a mapping or object with `embedding`), a list of
        either, or something holding them (`faces` / `detected_faces`: a faces sidecar, a
        PhotoAnalysis). Something with no face embedding — a photo not analysed yet, its bare
        EXIF — has no similar faces: the answer is []."""
        best: dict[str, tuple[str, float, Any]] = {}
        for emb in face_embeddings(faces):
            for hit in self.query_similar(emb, k, min_score):
                if hit[0] not in best or hit[1] > best[hit[0]][1]:
                    best[hit[0]] = hit
        return sorted(best.values(), key=lambda h: (-h[1], h[0]))[:k]

    def __len__(self) -> int:
        return _db(self).execute("SELECT count(*) FROM associative WHERE field = ?",
                                  (self.field,)).fetchone()[0]


def face_embeddings(faces: Any) -> list[np.ndarray]:
    """The face embeddings inside `faces` (see AssociativeMemory.query_similar_faces)."""
    if faces is None or isinstance(faces, (str, bytes)):
        return []
    if isinstance(faces, np.ndarray):
        return [_vector(faces)] if faces.ndim == 1 else [_vector(r) for r in faces]
    if isinstance(faces, (list, tuple)):
        if faces and all(isinstance(v, (int, float)) for v in faces):
            return [_vector(faces)]
        return [e for f in faces for e in face_embeddings(f)]
    get = faces.get if isinstance(faces, dict) else lambda a: getattr(faces, a, None)
    for holder in ("detected_faces", "faces"):
        held = get(holder)
        if held is not None and not callable(held):
            return face_embeddings(held)
    emb = get("embedding")
    return [_vector(emb)] if emb is not None and not callable(emb) else []


def _vector(value: Any) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float32).ravel()
    except (TypeError, ValueError):
        raise MemoryError_(f"a face embedding must be a list of numbers, got {value!r:.80}") from None


class WorkingMemory(_Memory):
    """Short-term state for this device: a JSON key/value map that survives a restart."""

    def set(self, key: str, value: Any) -> None:
        _db(self).execute("INSERT OR REPLACE INTO working (field, key, value, device) VALUES (?,?,?,?)",
                           (self.field, key, _json(value, "working memory value"), self._store.device))

    def get(self, key: str, default: Any = None) -> Any:
        row = _db(self).execute("SELECT value FROM working WHERE field = ? AND key = ? AND device = ?",
                                 (self.field, key, self._store.device)).fetchone()
        return json.loads(row[0]) if row else default

    def items(self) -> Iterator[tuple[str, Any]]:
        for k, v in _db(self).execute("SELECT key, value FROM working WHERE field = ? AND device = ? "
                                       "ORDER BY key", (self.field, self._store.device)):
            yield k, json.loads(v)

    def clear(self) -> None:
        _db(self).execute("DELETE FROM working WHERE field = ? AND device = ?",
                           (self.field, self._store.device))

    def __len__(self) -> int:
        return sum(1 for _ in self.items())


MEMORY_KINDS = {"TemporalMemory": TemporalMemory, "AssociativeMemory": AssociativeMemory,
                "WorkingMemory": WorkingMemory}


@dataclass(frozen=True)
class MemoryField:
    name: str
    kind: type
    sync: str


def agent_memory(cls: type) -> type:
    """Declare an agent's mind: every annotated memory field with its sync mode."""
    fields = []
    for name, ann in getattr(cls, "__annotations__", {}).items():
        label = ann.split("[", 1)[0].rsplit(".", 1)[-1] if isinstance(ann, str) else \
            getattr(ann, "__name__", "")
        kind = MEMORY_KINDS.get(label)
        if kind is None:
            raise MemoryError_(f"{cls.__name__}.{name}: agent memory fields must be TemporalMemory, "
                               f"AssociativeMemory or WorkingMemory, got {ann!r}")
        marker = cls.__dict__.get(name)
        mode = marker.mode if isinstance(marker, SyncMarker) else (
            "device_owned" if kind is WorkingMemory else "shared")
        fields.append(MemoryField(name, kind, mode))
    cls.__vdfs_agent_memory__ = fields  # type: ignore[attr-defined]
    return cls


def open_memory(cls: type, path: Path, device: str) -> Any:
    """An instance of the memory class whose fields are live memories stored at `path`."""
    fields = getattr(cls, "__vdfs_agent_memory__", None)
    if fields is None:
        raise MemoryError_(f"{cls.__name__} is not an @agent_memory class")
    store = _Store(path, device)
    obj = cls.__new__(cls)
    for f in fields:
        obj.__dict__[f.name] = f.kind(store, f.name, f.sync)
    obj.__dict__["_vdfs_store"] = store
    return obj


def close_memory(obj: Any) -> None:
    store = getattr(obj, "_vdfs_store", None)
    if store is not None:
        store.close()


# Generic parameters (`AssociativeMemory[FaceGraph]`) are accepted and ignored at run time.
for _cls in MEMORY_KINDS.values():
    _cls.__class_getitem__ = classmethod(lambda cls, item: cls)  # type: ignore[attr-defined]

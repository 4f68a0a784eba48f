"""Agent memory: an `@agent_memory` class whose fields are memories, each marked
`sync("shared")` (travels with the library to other devices) or `sync("device_owned")`.

- `TemporalMemory`: time-ordered events in SQLite, queried by time range or recency.
- `AssociativeMemory`: items with vectors; cosine similarity search with numpy.
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

from core.store.clock import now_iso
from ..errors import VdfsError
from core.store.facade import Backing

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


def sync(mode: str) -> Any:
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
    """Items with vectors: `add(key, vector, data)`, `query_similar(vector, k)` by cosine."""

    def __init__(self, store: _Store, field: str, sync_mode: str):
        super().__init__(store, field, sync_mode)
        self._cache: tuple[list[str], np.ndarray, list[Any]] | None = None
        self._lock = threading.Lock()

    def add(self, key: str, vector: Any, data: Any = None) -> None:
        vec = np.asarray(vector, dtype=np.float32).ravel()
        if vec.size == 0 or not np.all(np.isfinite(vec)):
            raise MemoryError_(f"{self.field}: a vector must be non-empty and finite")
        dim = self._dim()
        if dim is not None and dim != vec.size:
            raise MemoryError_(f"{self.field}: vectors have {dim} dimensions, got {vec.size}")
        _db(self).execute(
            "INSERT OR REPLACE INTO associative (field, key, vector, dim, data, device, updated_at) "
            "VALUES (?,?,?,?,?,?,?)", (self.field, str(key), vec.tobytes(), vec.size,
                                       _json(data, "item data"), self._store.device, now_iso()))
        with self._lock:
            self._cache = None

    def remove(self, key: str) -> bool:
        cur = _db(self).execute("DELETE FROM associative WHERE field = ? AND key = ?",
                                 (self.field, str(key)))
        with self._lock:
            self._cache = None
        return cur.rowcount > 0

    def get(self, key: str) -> tuple[np.ndarray, Any] | None:
        row = _db(self).execute("SELECT vector, data FROM associative WHERE field = ? AND key = ?",
                                 (self.field, str(key))).fetchone()
        return (np.frombuffer(row[0], dtype=np.float32), json.loads(row[1])) if row else None

    def _dim(self) -> int | None:
        row = _db(self).execute("SELECT dim FROM associative WHERE field = ? LIMIT 1",
                                 (self.field,)).fetchone()
        return row[0] if row else None

    def _matrix(self) -> tuple[list[str], np.ndarray, list[Any]]:
        with self._lock:
            if self._cache is None:
                rows = _db(self).execute("SELECT key, vector, data FROM associative WHERE field = ? "
                                          "ORDER BY key", (self.field,)).fetchall()
                keys = [r[0] for r in rows]
                mat = (np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
                       if rows else np.zeros((0, 0), np.float32))
                norms = np.linalg.norm(mat, axis=1, keepdims=True) if rows else mat
                self._cache = (keys, mat / np.where(norms == 0, 1, norms), [json.loads(r[2]) for r in rows])
            return self._cache

    def query_similar(self, vector: Any, k: int = 5, min_score: float | None = None
                      ) -> list[tuple[str, float, Any]]:
        """The `k` items most similar to `vector` (cosine), best first: (key, score, data)."""
        keys, mat, data = self._matrix()
        if not keys:
            return []
        q = np.asarray(vector, dtype=np.float32).ravel()
        if q.size != mat.shape[1]:
            raise MemoryError_(f"{self.field}: vectors have {mat.shape[1]} dimensions, got {q.size}")
        norm = np.linalg.norm(q)
        scores = mat @ (q / norm if norm else q)
        order = np.argsort(-scores, kind="stable")[:k]
        out = [(keys[i], float(scores[i]), data[i]) for i in order]
        return [o for o in out if min_score is None or o[1] >= min_score]

    def __len__(self) -> int:
        return _db(self).execute("SELECT count(*) FROM associative WHERE field = ?",
                                  (self.field,)).fetchone()[0]


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

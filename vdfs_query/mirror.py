"""A DuckDB-native copy of the library's tables, kept current from SQLite's change log.

Aggregates and scans run 10× faster on native DuckDB tables than on SQLite or through DuckDB's
sqlite scan, but a copy is only worth having if it is never stale. Migration 0002 makes SQLite
record every changed rowid of the mirrored tables in `change_log`; before each query the engine
calls `refresh()`, which replays the rows changed since the last refresh (delete + re-read by
rowid, idempotent), or rebuilds a table through the sqlite extension when most of it changed.
The copy persists in the library folder (`query_mirror.duckdb`) so a new process starts warm;
if another process holds that file, this one keeps its copy in memory.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

MIRRORED = ("devices", "locations", "entries", "content_identities", "user_metadata", "tags",
            "tag_links", "collections", "collection_items", "models")
META = "vdfs_mirror_meta"
FORMAT = "1"
_REBUILD_FRACTION = 0.25     # more changed rows than this share of a table: copy it whole
_REBUILD_MIN = 20_000
_PRUNE_EVERY = 50_000        # prune the change log once this many applied rows accumulate

_SHARED: dict[str, dict[str, Any]] = {}
_SHARED_LOCK = threading.Lock()


def sqlite_extension_path() -> str | None:
    """The sqlite_scanner binary shipped by the duckdb-extension-sqlite-scanner package."""
    try:
        import duckdb_extension_sqlite_scanner as pkg
    except ImportError:
        return None
    base = Path(pkg.__file__).parent
    found = sorted(base.rglob("*.duckdb_extension"))
    return str(found[0]) if found else None


def load_sqlite_extension(duck: Any) -> bool:
    """LOAD the packaged extension by path; fall back to DuckDB's own INSTALL (network)."""
    path = sqlite_extension_path()
    if path:
        try:
            duck.execute(f"LOAD '{path}'")   # a path we found on disk, not user input
            return True
        except Exception:
            pass
    try:
        duck.execute("INSTALL sqlite")
        duck.execute("LOAD sqlite")
        return True
    except Exception:
        return False


class MirrorUnavailable(RuntimeError):
    """DuckDB or its sqlite extension cannot be used here; the engine serves from SQLite."""


class Mirror:
    def __init__(self, db_path: str | os.PathLike[str], path: str | os.PathLike[str] | None):
        import duckdb
        self.db_path = str(db_path)
        self.persistent = False
        self.duck = None
        if path is not None:
            try:
                self.duck = duckdb.connect(str(path))
                self.persistent = True
            except Exception:      # held by another process: keep a private copy in memory
                self.duck = None
        if self.duck is None:
            self.duck = duckdb.connect(":memory:")
            key = f"memory:{id(self)}"
        else:
            key = str(Path(path).absolute())
        self.duck.execute("SET preserve_insertion_order = false")
        self.has_extension = load_sqlite_extension(self.duck)
        with _SHARED_LOCK:
            self.shared = _SHARED.setdefault(key, {"lock": threading.RLock(), "applied": None,
                                                   "types": {}, "since_prune": 0})
        self._key = key
        self.duck.execute(f"CREATE TABLE IF NOT EXISTS {META} (key VARCHAR PRIMARY KEY, value VARCHAR)")
        if self.has_extension:
            self.duck.execute(f"ATTACH IF NOT EXISTS '{_sql_path(self.db_path)}' AS vdfs_src "
                              "(TYPE sqlite, READ_ONLY)")

    def close(self) -> None:
        if self.duck is not None:
            try:
                self.duck.close()
            finally:
                self.duck = None
        if self._key.startswith("memory:"):
            with _SHARED_LOCK:
                _SHARED.pop(self._key, None)

    # ---- freshness ------------------------------------------------------------------------
    def refresh(self, sconn: sqlite3.Connection) -> int:
        """Bring the copy up to the library's current state; returns rows replayed."""
        with self.shared["lock"]:
            last = _last_seq(sconn)
            applied = self.shared["applied"]
            if applied is None:
                applied = self._load_meta(sconn)
            if applied is not None and last == applied:
                return 0
            if applied is None or last < applied or not _has_seq(sconn, applied + 1):
                self.rebuild_all(sconn, last)
                return -1
            changes = sconn.execute(
                "SELECT tbl, rid FROM change_log WHERE seq > ? AND seq <= ?", (applied, last)).fetchall()
            by_table: dict[str, set[int]] = defaultdict(set)
            for tbl, rid in changes:
                by_table[tbl].add(rid)
            self.duck.execute("BEGIN")
            try:
                for tbl, rids in by_table.items():
                    if tbl not in MIRRORED:
                        continue
                    size = self.duck.execute(f"SELECT count(*) FROM {tbl}").fetchone()[0]
                    if len(rids) > max(_REBUILD_MIN, size * _REBUILD_FRACTION):
                        self._copy_table(tbl)
                    else:
                        self._apply(sconn, tbl, sorted(rids))
                self._save_meta(sconn, last)
                self.duck.execute("COMMIT")
            except Exception:
                self.duck.execute("ROLLBACK")
                self.shared["applied"] = None
                raise
            self.shared["applied"] = last
            self.shared["since_prune"] += len(changes)
            if self.persistent and self.shared["since_prune"] > _PRUNE_EVERY:
                self._prune(last)
            return len(changes)

    def rebuild_all(self, sconn: sqlite3.Connection, last: int | None = None) -> None:
        with self.shared["lock"]:
            if last is None:
                last = _last_seq(sconn)
            self.duck.execute("BEGIN")
            try:
                for tbl in MIRRORED:
                    self._copy_table(tbl, sconn)
                self._save_meta(sconn, last)
                self.duck.execute("COMMIT")
            except Exception:
                self.duck.execute("ROLLBACK")
                self.shared["applied"] = None
                raise
            self.shared["applied"] = last

    # ---- internals ------------------------------------------------------------------------
    def _copy_table(self, tbl: str, sconn: sqlite3.Connection | None = None) -> None:
        if self.has_extension:
            self.duck.execute(f"CREATE OR REPLACE TABLE {tbl} AS "
                              f"SELECT rowid AS _rowid, * FROM vdfs_src.{tbl}")
        else:  # no extension: copy through Python (slower, same result)
            if sconn is None:
                sconn = sqlite3.connect(self.db_path)
            import pyarrow as pa
            cur = sconn.execute(f"SELECT rowid AS _rowid, * FROM {tbl}")
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
            table = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)}) if rows else None
            cols = ", ".join(f'"{n}"' for n in names)
            if table is None:
                types = _declared(sconn, tbl)
                self.duck.execute(f"CREATE OR REPLACE TABLE {tbl} (_rowid BIGINT, " + ", ".join(
                    f'"{n}" {types.get(n, "VARCHAR")}' for n in names[1:]) + ")")
            else:
                self.duck.register("vdfs_copy", table)
                self.duck.execute(f"CREATE OR REPLACE TABLE {tbl} AS SELECT {cols} FROM vdfs_copy")
                self.duck.unregister("vdfs_copy")
        self.shared["types"].pop(tbl, None)

    def _types(self, tbl: str) -> list[tuple[str, str]]:
        types = self.shared["types"].get(tbl)
        if types is None:
            types = [(r[0], r[1]) for r in self.duck.execute(f"DESCRIBE {tbl}").fetchall()]
            self.shared["types"][tbl] = types
        return types

    def _apply(self, sconn: sqlite3.Connection, tbl: str, rids: list[int]) -> None:
        import pyarrow as pa
        types = self._types(tbl)
        cols = [c for c, _ in types]
        select = ", ".join(["rowid"] + [f'"{c}"' for c in cols[1:]])
        rows = sconn.execute(f"SELECT {select} FROM {tbl} WHERE rowid IN "
                             "(SELECT value FROM json_each(?))", (json.dumps(rids),)).fetchall()
        self.duck.register("vdfs_ids", pa.table({"rid": pa.array(rids, pa.int64())}))
        self.duck.execute(f"DELETE FROM {tbl} WHERE _rowid IN (SELECT rid FROM vdfs_ids)")
        self.duck.unregister("vdfs_ids")
        if rows:
            arrays = [pa.array([r[i] for r in rows], type=_arrow_type(t)) for i, (_, t) in enumerate(types)]
            self.duck.register("vdfs_delta", pa.table(arrays, names=cols))
            self.duck.execute(f"INSERT INTO {tbl} SELECT * FROM vdfs_delta")
            self.duck.unregister("vdfs_delta")

    def _load_meta(self, sconn: sqlite3.Connection) -> int | None:
        rows = dict(self.duck.execute(f"SELECT key, value FROM {META}").fetchall())
        version = str(sconn.execute("PRAGMA user_version").fetchone()[0])
        if rows.get("format") != FORMAT or rows.get("user_version") != version:
            return None
        if any(not self._exists(t) for t in MIRRORED):
            return None
        try:
            return int(rows["applied"])
        except (KeyError, ValueError):
            return None

    def _exists(self, tbl: str) -> bool:
        return bool(self.duck.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ? "
            "AND table_schema = 'main' AND table_catalog = current_database()", [tbl]).fetchone()[0])

    def _save_meta(self, sconn: sqlite3.Connection, applied: int) -> None:
        version = str(sconn.execute("PRAGMA user_version").fetchone()[0])
        for k, v in (("format", FORMAT), ("user_version", version), ("applied", str(applied))):
            self.duck.execute(f"INSERT OR REPLACE INTO {META} VALUES (?, ?)", [k, v])

    def _prune(self, upto: int) -> None:
        """Drop applied change-log rows; never waits for a busy writer (best effort)."""
        try:
            conn = sqlite3.connect(self.db_path, timeout=0, isolation_level=None)
            try:
                conn.execute("DELETE FROM change_log WHERE seq <= ?", (upto,))
                self.shared["since_prune"] = 0
            finally:
                conn.close()
        except sqlite3.Error:
            pass


def _last_seq(sconn: sqlite3.Connection) -> int:
    row = sconn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'change_log'").fetchone()
    return int(row[0]) if row else 0


def _has_seq(sconn: sqlite3.Connection, seq: int) -> bool:
    return sconn.execute("SELECT 1 FROM change_log WHERE seq = ?", (seq,)).fetchone() is not None


def _sql_path(path: str) -> str:
    return path.replace("'", "''")


def _declared(sconn: sqlite3.Connection, tbl: str) -> dict[str, str]:
    out = {}
    for _, name, decl, *_ in sconn.execute(f"PRAGMA table_info({tbl})"):
        d = (decl or "").upper()
        out[name] = ("BIGINT" if "INT" in d or "BOOL" in d else "BLOB" if "BLOB" in d
                     else "DOUBLE" if "REAL" in d or "FLOA" in d else "VARCHAR")
    return out


def _arrow_type(duck_type: str):
    import pyarrow as pa
    t = duck_type.upper()
    if t in ("BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT"):
        return pa.int64()
    if t in ("DOUBLE", "FLOAT", "REAL"):
        return pa.float64()
    if t == "BLOB":
        return pa.binary()
    if t == "BOOLEAN":
        return pa.bool_()
    return pa.string()

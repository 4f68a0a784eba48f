"""A DuckDB-native copy of the library's tables (persisted or in memory), kept current from SQLite.

Aggregates and scans run several times faster on native DuckDB tables than on SQLite or through
DuckDB's sqlite scan, but a copy is only worth having if it is never stale. Migration 0002 makes
SQLite record every changed rowid of the mirrored tables in `change_log`; before each query the
engine calls `refresh()`, which replays the rows changed since the last refresh (delete and
re-read by rowid: idempotent), or recopies a table through the sqlite extension when most of it
changed. The copy is built in the background on first need; until it is ready the engine answers
from SQLite (always fresh, never blocked). Given a file path, the copy persists there
(mirror_store.py): a restart loads it and replays only the change log written since, and a
rebuild happens only when the log no longer reaches back to the file's watermark.
Why DuckDB never opens the live library.db is in scan.py.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from . import mirror_store
from .scan import sql_text, load_sqlite_extension, remove_snapshot, snapshot
from .mirror_store import MIRROR_FILE, memory_limit  # noqa: F401  (re-exported)

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

MIRRORED = ("devices", "locations", "entries", "content_identities", "user_metadata", "tags",
            "tag_links", "collections", "collection_items", "models")
# Bulk tables without an INSERT trigger (migration 0002): new rows are the ids above the highest
# copied one, since their ids only grow.
GROWING = ("entries", "content_identities")
_STATE_SQL = ("SELECT (SELECT max(seq) FROM change_log), "
              + ", ".join(f"(SELECT max(rowid) FROM {t})" for t in GROWING))
_REBUILD_FRACTION = 0.25     # more changed rows than this share of a table: copy it whole
_REBUILD_MIN = 20_000
_SMALL_DELTA = 64            # up to this many rows: parameterised INSERT (an Arrow scan costs ms)
_PRUNE_EVERY = 50_000        # prune the change log once this many applied rows accumulate


class Mirror:
    """The DuckDB copy of one library. `path`: the file it persists in (None, or a file another
    process owns: in memory). `memory`: DuckDB's memory limit (see mirror_store.memory_limit)."""

    def __init__(self, db_path: str, path: str | os.PathLike[str] | None = None,
                 memory: int | str | None = None):
        limit = memory_limit(memory)
        self.db_path = str(db_path)
        self.duck, self.persisted = mirror_store.open_duck(path)
        self.path = path if self.persisted else None
        mirror_store.configure(self.duck, self.persisted, limit)
        self.duck.execute("SET preserve_insertion_order = false")
        self.has_extension = load_sqlite_extension(self.duck)
        self.lock = threading.RLock()
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.applied: int | None = None
        self.tops: dict[str, int] = {}     # GROWING table -> highest rowid copied
        self.since_prune = 0
        self.build_seconds: float | None = None
        self.rebuilds = 0                  # whole copies made (0: loaded from the file)
        self._types: dict[str, list[tuple[str, str]]] = {}
        self._thread: threading.Thread | None = None

    def close(self) -> None:
        if self._thread is not None:
            self._thread.join()
        with self.lock:
            if self.duck is not None:
                self.duck.close()
                self.duck = None
                mirror_store.release(self.path)

    # ---- building -------------------------------------------------------------------------
    def start(self) -> None:
        """Build in a background thread (idempotent)."""
        with self.lock:
            if self._thread is None and not self.ready.is_set():
                self._thread = threading.Thread(target=self._build_thread, name="vdfs-mirror",
                                                daemon=True)
                self._thread.start()

    def build_now(self) -> None:
        self.start()
        self._thread.join()
        if self.error is not None:
            raise self.error

    def _build_thread(self) -> None:
        import time
        t = time.perf_counter()
        try:
            conn = sqlite3.connect(self.db_path, timeout=30.0)
            try:
                if not self._resume(conn):
                    self.rebuild_all(conn)
            finally:
                conn.close()
            self.build_seconds = time.perf_counter() - t
            self.ready.set()
        except BaseException as exc:     # reported by the engine, which keeps using the scan
            self.error = exc

    def _resume(self, sconn: sqlite3.Connection) -> bool:
        """Take up the persisted copy where it left off, if the change log still reaches back to
        its watermark (the first refresh replays the rest); False: it must be rebuilt."""
        if not self.persisted:
            return False
        with self.lock:
            state = mirror_store.load_state(self.duck, _version(sconn))
            if state is None:
                return False
            applied, tops = state
            last, _ = _state(sconn)
            if applied > last or (applied < last and not _has_seq(sconn, applied + 1)):
                return False
            self.applied, self.tops = applied, tops
            return True

    def rebuild_all(self, sconn: sqlite3.Connection) -> None:
        with self.lock:
            mirror_store.clear_state(self.duck)
            self._rebuild_tables(sconn)
            self.rebuilds += 1
            mirror_store.save_state(self.duck, _version(sconn), self.applied, self.tops)

    def _rebuild_tables(self, sconn: sqlite3.Connection) -> None:
        with self.lock:
            if not self.has_extension:
                last, tops = _state(sconn)     # read first: later changes are replayed on refresh
                for tbl in MIRRORED:
                    self._copy_table(tbl, sconn)
                self.applied, self.tops = last, tops
                return
            snap = snapshot(self.db_path)
            try:
                snap_conn = sqlite3.connect(snap)
                try:       # the snapshot's own watermark: replay starts exactly where it ends
                    last, tops = _state(snap_conn)
                finally:
                    snap_conn.close()
                self.duck.execute(f"ATTACH '{sql_text(snap)}' AS vdfs_src (TYPE sqlite, READ_ONLY)")
                try:
                    for tbl in MIRRORED:
                        self.duck.execute(f"CREATE OR REPLACE TABLE {tbl} AS "
                                          f"SELECT rowid AS _rowid, * FROM vdfs_src.{tbl}")
                        self._types.pop(tbl, None)
                finally:
                    self.duck.execute("DETACH vdfs_src")
            finally:
                remove_snapshot(snap)
            self.applied, self.tops = last, tops

    # ---- freshness ------------------------------------------------------------------------
    def refresh(self, sconn: sqlite3.Connection) -> int:
        """Bring the copy up to the library's current state; returns rows replayed (-1: rebuilt)."""
        with self.lock:
            last, tops = _state(sconn)
            applied = self.applied
            grown = {t: (self.tops.get(t, 0), top) for t, top in tops.items()
                     if top > self.tops.get(t, 0)}
            if last == applied and not grown:
                return 0
            if (applied is None or last < applied
                    or (last > applied and not _has_seq(sconn, applied + 1))):
                self.rebuild_all(sconn)
                return -1
            changes = sconn.execute("SELECT tbl, rid FROM change_log WHERE seq > ? AND seq <= ?",
                                    (applied, last)).fetchall() if last > applied else []
            names = self._table_names(sconn)
            by_table: dict[str, set[int]] = defaultdict(set)
            for tbl, rid in changes:
                by_table[names.get(tbl, tbl)].add(rid)
            replayed = len(changes) + sum(hi - lo for lo, hi in grown.values())
            self.duck.execute("BEGIN")
            try:
                for tbl in set(by_table) | set(grown):
                    if tbl not in MIRRORED:
                        continue
                    rids, span = sorted(by_table.get(tbl, ())), grown.get(tbl)
                    n = len(rids) + (span[1] - span[0] if span else 0)
                    if n > _REBUILD_MIN and n > _REBUILD_FRACTION * self.duck.execute(
                            f"SELECT count(*) FROM {tbl}").fetchone()[0]:
                        self._copy_table(tbl, sconn)
                    else:
                        self._apply(sconn, tbl, rids, span)
                tops_now = {**self.tops, **{t: hi for t, (lo, hi) in grown.items()}}
                mirror_store.save_state(self.duck, _version(sconn), last, tops_now)
                self.duck.execute("COMMIT")
            except BaseException:
                self.duck.execute("ROLLBACK")
                self.applied = None      # next refresh rebuilds
                raise
            self.applied = last
            self.tops.update({t: hi for t, (lo, hi) in grown.items()})
            self.since_prune += len(changes)
            if self.since_prune > _PRUNE_EVERY:
                self._prune(last)
            return replayed

    # ---- internals ------------------------------------------------------------------------
    def _table_names(self, sconn: sqlite3.Connection) -> dict[Any, str]:
        """change_log.tbl codes → table names (older logs stored the names themselves)."""
        names = getattr(self, "_names", None)
        if names is None:
            try:
                names = dict(sconn.execute("SELECT code, name FROM change_log_tables").fetchall())
            except sqlite3.OperationalError:
                names = {}
            self._names = names
        return names

    def _copy_table(self, tbl: str, sconn: sqlite3.Connection) -> None:
        """Copy one table through Python's SQLite (inside the caller's consistent view)."""
        import pyarrow as pa
        cur = sconn.execute(f"SELECT rowid AS _rowid, * FROM {tbl}")
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
        decl = _declared(sconn, tbl)
        types = [("_rowid", "BIGINT")] + [(n, decl.get(n, "VARCHAR")) for n in names[1:]]
        table = pa.table([pa.array([r[i] for r in rows], type=_arrow_type(t))
                          for i, (_, t) in enumerate(types)], names=names)
        self.duck.register("vdfs_copy", table)
        self.duck.execute(f"CREATE OR REPLACE TABLE {tbl} AS SELECT * FROM vdfs_copy")
        self.duck.unregister("vdfs_copy")
        self._types.pop(tbl, None)

    def _columns(self, tbl: str) -> list[tuple[str, str]]:
        types = self._types.get(tbl)
        if types is None:
            types = [(r[0], r[1]) for r in self.duck.execute(f"DESCRIBE {tbl}").fetchall()]
            self._types[tbl] = types
        return types

    def _apply(self, sconn: sqlite3.Connection, tbl: str, rids: list[int],
               span: tuple[int, int] | None = None) -> None:
        """Re-read rows `rids` (and rowids in `span` = (lo, hi]) from SQLite into the copy."""
        types = self._columns(tbl)
        cols = [c for c, _ in types]
        quoted = ", ".join(f'"{c}"' for c in cols[1:])
        select = f"SELECT rowid, {quoted} FROM {tbl}"
        rows = []
        if rids:
            rows += sconn.execute(f"{select} WHERE rowid IN (SELECT value FROM json_each(?))",
                                  (json.dumps(rids),)).fetchall()
        if span:
            rows += sconn.execute(f"{select} WHERE rowid > ? AND rowid <= ?", span).fetchall()
            self.duck.execute(f"DELETE FROM {tbl} WHERE _rowid > ? AND _rowid <= ?", list(span))
            if rids:                      # a row both updated and new is read twice: keep one
                seen: set[int] = set()
                rows = [r for r in rows if not (r[0] in seen or seen.add(r[0]))]
        if len(rids) <= _SMALL_DELTA and len(rows) <= _SMALL_DELTA:
            if rids:
                self.duck.execute(f"DELETE FROM {tbl} WHERE _rowid IN ({', '.join('?' * len(rids))})", rids)
            if rows:
                self.duck.executemany(f"INSERT INTO {tbl} VALUES ({', '.join('?' * len(cols))})", rows)
            return
        import pyarrow as pa
        if rids:
            self.duck.register("vdfs_ids", pa.table({"rid": pa.array(rids, pa.int64())}))
            self.duck.execute(f"DELETE FROM {tbl} WHERE _rowid IN (SELECT rid FROM vdfs_ids)")
            self.duck.unregister("vdfs_ids")
        if rows:
            arrays = [pa.array([r[i] for r in rows], type=_arrow_type(t)) for i, (_, t) in enumerate(types)]
            self.duck.register("vdfs_delta", pa.table(arrays, names=cols))
            self.duck.execute(f"INSERT INTO {tbl} SELECT * FROM vdfs_delta")
            self.duck.unregister("vdfs_delta")

    def _prune(self, upto: int) -> None:
        """Drop applied change-log rows; never waits for a busy writer (best effort). Another
        process whose mirror had not seen them notices the gap and rebuilds."""
        try:
            conn = sqlite3.connect(self.db_path, timeout=0, isolation_level=None)
            try:   # keep the newest row: seq (a plain rowid) must never restart
                conn.execute("DELETE FROM change_log WHERE seq < ?", (upto,))
                self.since_prune = 0
            finally:
                conn.close()
        except sqlite3.Error:
            pass


def _state(sconn: sqlite3.Connection) -> tuple[int, dict[str, int]]:
    """(newest change-log seq, highest rowid of each GROWING table): one cheap query."""
    row = sconn.execute(_STATE_SQL).fetchone()
    return int(row[0] or 0), {t: int(v or 0) for t, v in zip(GROWING, row[1:])}


def _version(sconn: sqlite3.Connection) -> int:
    """The library's schema version: a copy made under another one is rebuilt."""
    return int(sconn.execute("PRAGMA user_version").fetchone()[0])


def _has_seq(sconn: sqlite3.Connection, seq: int) -> bool:
    return sconn.execute("SELECT 1 FROM change_log WHERE seq = ?", (seq,)).fetchone() is not None


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

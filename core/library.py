"""A library: one folder holding library.db, jobs.db, library.json, sidecars/ and logs/.

`Library` is the root object users hold. It owns the connections and this device's identity
(the folder's files, and the checks before an open, are core/store/folder.py);
everything else (indexing, metadata, models, jobs, queries) lives in its own room and is
reached through the methods and typed properties here, so the public names
(docs/architecture.md §6) stay in one place.

The services (job runner, query engine, extension manager, …) are made on first use and their
modules imported then: `import core` must stay cheap, because every CLI call pays for it before
its first query (docs/architecture.md §1). The import graph, function-level imports included,
is acyclic (tests/test_core_rooms.py), so these imports are about start-up time, not cycles.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import platform
import socket
import sqlite3
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .store import db
from .store.clock import now_iso, utc_now
from .store.device import current_device
from .store.faults import storage_faults
# LIBRARY_JSON stays importable from here, as it always was
from .store.folder import (JOBS_DB, LIBRARY_DB, LIBRARY_JSON, check_folder,  # noqa: F401
                           create_folder, upgrade_folder)

if TYPE_CHECKING:  # pragma: no cover
    from core.query.engine import QueryLike
    from .actions import ActionManager
    from .domain.blobs import BlobStats
    from .domain.locations import Location
    from .extensions.manager import ExtensionManager
    from .host import VdfsApi
    from .jobs import Job, JobManager
    from .query.engine import Engine
    from .query.explain import Explain
    from .query.result import Result
    from .store.changelog import HybridClock
    from .store.events import EventBus
    from .sync import Sync

class Library:
    """An open library. Create with `Library.create(path)`, open with `Library.open(path)`."""

    def __init__(self, path: Path, info: dict[str, Any]):
        self.path = Path(path)
        self.info = info
        self._local = threading.local()
        self._all_conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        # The whole-file check an open started after an unclean shutdown (None: not needed).
        self.background_check: Any = None
        self.device_uuid, self.device_name = current_device()
        self.device_id = self._register_device()

    # ---- creation and opening -------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike[str], name: str | None = None) -> "Library":
        """Make a new library folder at `path` (which must not hold a library yet)."""
        path = Path(path).expanduser().absolute()
        info = create_folder(path, name or path.name.removesuffix(".vdfs"))
        with storage_faults(path):
            return cls(path, info)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, resume_jobs: bool = False) -> "Library":
        """Open an existing library, upgrading its schema in place if it is older.

        A path that is not a library, a newer schema, or a corrupt file raises a clear error
        before anything is written. With `resume_jobs=True`, jobs left unfinished by a process
        that died are resumed in the background.
        """
        path = Path(path).expanduser().absolute()
        checked = check_folder(path)       # reads only: nothing changes on a refused open
        with storage_faults(path):
            upgrade_folder(path, checked)
            lib = cls(path, checked.info)
        if checked.unclean:
            from .store.integrity import BackgroundCheck
            lib.background_check = BackgroundCheck(path, "unclean shutdown")
            lib.background_check.start()
        # Installed extensions come back with the library, so their agents see new events.
        if lib.conn.execute("SELECT 1 FROM extensions WHERE enabled = 1 LIMIT 1").fetchone():
            lib.extensions.load_installed()
        if resume_jobs:
            lib.jobs.resume_pending()
        # on_startup jobs, and schedules missed while closed. Jobs exist only once registered
        # in this process, which imports the registry: without it there are none, and the job
        # runner (asyncio and all) stays unimported, as a CLI lookup wants.
        if "core.jobs.registry" in sys.modules:
            from .jobs.autostart import library_opened
            library_opened(lib)
        return lib

    # ---- connections ----------------------------------------------------------------------
    @property
    def db_path(self) -> Path:
        return self.path / LIBRARY_DB

    @property
    def jobs_db_path(self) -> Path:
        return self.path / JOBS_DB

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection to library.db (autocommit; use BEGIN/COMMIT to group)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = db.connect(self.db_path)
            self._local.conn = conn
            with self._conns_lock:
                self._all_conns.append(conn)
        return conn

    def release_thread_connection(self) -> None:
        """Close this thread's connection, if it opened one (the next `conn` reopens).

        Worker threads call it as they end, so short-lived threads leave no open files.
        """
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return
        self._local.conn = None
        with self._conns_lock:
            if conn in self._all_conns:
                self._all_conns.remove(conn)
        try:
            conn.close()
        except sqlite3.Error:
            pass

    def connect(self) -> sqlite3.Connection:
        """A new, caller-owned connection to library.db."""
        return db.connect(self.db_path)

    def close(self) -> None:
        if self.background_check is not None:
            self.background_check.cancel()
        for _ in range(3):          # closing one service may have started another
            made = [name for name in _SERVICES if name in self.__dict__]
            if not made:
                break
            for name in made:
                close = getattr(self.__dict__.pop(name), "close", None)
                if callable(close):
                    close()
        with self._conns_lock:
            for conn in self._all_conns:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all_conns.clear()
        self._local = threading.local()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Library {self.info.get('name')!r} at {self.path}>"

    # ---- the public API (docs/architecture.md §6); each delegates to its room ---------------
    def add_location(self, path: str | os.PathLike[str], name: str | None = None) -> "Location":
        from .domain.locations import add_location, list_locations
        from .jobs.autostart import location_added
        known = {loc.id for loc in list_locations(self)}
        loc = add_location(self, path, name=name)
        if loc.id not in known:
            location_added(self, loc.path)   # jobs registered with trigger="on_location_added"
        return loc

    def index(self, path_or_location: "str | os.PathLike[str] | Location", **options: Any) -> "Job":
        from .indexer import start_index
        return start_index(self, path_or_location, **options)

    def query(self, query: QueryLike, **params: Any) -> "Result":
        """Run DSL text or a builder; `:name` parameters come from keyword arguments."""
        engine = self.__dict__.get("engine")      # a repeated query skips the service
        if engine is not None and "now" not in params:
            if type(query) is str:
                result = engine.point(query, params)
                if result is not None:
                    return result
            return engine.run(query, params)
        from .query.service import run_query
        return run_query(self, query, params)

    def explain(self, query: QueryLike, **params: Any) -> "Explain":
        from .query.service import explain_query
        return explain_query(self, query, params)

    def vdfs(self) -> "VdfsApi":
        """The host API (tags, notes, collections, models, queries) acting as the user."""
        return self.host

    # ---- services, one per open library, made on first use --------------------------------
    @functools.cached_property
    def host(self) -> "VdfsApi":
        from .host import VdfsApi
        return VdfsApi(self)

    @functools.cached_property
    def events(self) -> "EventBus":
        """The library's event bus: core events (entry created/modified/deleted, index finished)
        and job events, for any number of subscribers."""
        from .store.events import EventBus
        return EventBus()

    @functools.cached_property
    def actions(self) -> "ActionManager":
        """Preview, commit, verify and undo actions."""
        from .actions import ActionManager
        return ActionManager(self)

    @functools.cached_property
    def extensions(self) -> "ExtensionManager":
        """Install, upgrade, uninstall and run extensions."""
        from .extensions.manager import ExtensionManager
        return ExtensionManager(self)

    @functools.cached_property
    def jobs(self) -> "JobManager":
        from .jobs import JobManager
        return JobManager(self)

    @functools.cached_property
    def engine(self) -> "Engine":
        """The query engine: SQLite for lookups, the DuckDB mirror (mirror.duckdb) for scans."""
        from .query.service import make_engine
        return make_engine(self)

    @functools.cached_property
    def clock(self) -> "HybridClock":
        """This device's hybrid logical clock, resumed from the last stamp it wrote."""
        from .store.changelog import resume_clock
        return resume_clock(self)

    @functools.cached_property
    def blob_stats(self) -> "BlobStats":
        """Blob read/write counters, so tests and benchmarks can prove which paths read blobs."""
        from .domain.blobs import BlobStats
        return BlobStats()

    @functools.cached_property
    def sync(self) -> "Sync":
        """Sync with other devices: bundles, live peers, pairing (docs/sync.md)."""
        from .sync import Sync
        return Sync(self)

    @property
    def devices(self) -> list[dict[str, Any]]:
        """Every device of this library (this one and those synced in), with its sync state and
        what it can do (`capabilities`: cpus, memory, gpu, models …; this device's are probed
        and recorded the first time they are asked for, so `devices` queries show them too)."""
        from .devices.capabilities import probe, record
        from .sync import devices
        row = self.conn.execute("SELECT capabilities FROM devices WHERE uuid = ?",
                                (self.device_uuid.bytes,)).fetchone()
        if row is None or row[0] is None:
            record(self.conn, self.device_uuid, self.device_name, probe())
        return devices(self)

    # ---- devices --------------------------------------------------------------------------
    def _register_device(self) -> int:
        """This device's row, made or refreshed in one statement each: two processes opening
        a new library at once must not both try to insert it. A row seen within SEEN_STEP is
        left as it is: a `vdfs query` only reads, and a write on every open would cost each
        call a transaction, a change-log row and a checkpoint at close."""
        conn = self.conn
        row = conn.execute("SELECT id, last_seen_at FROM devices WHERE uuid = ?",
                           (self.device_uuid.bytes,)).fetchone()
        if row is not None and _seen_lately(row[1]):
            return int(row[0])
        now = now_iso()
        conn.execute(
            "INSERT INTO devices (uuid, name, hostname, os, created_at, last_seen_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(uuid) DO UPDATE SET last_seen_at = "
            "excluded.last_seen_at",
            (self.device_uuid.bytes, self.device_name, socket.gethostname(),
             platform.system(), now, now))
        return int(conn.execute("SELECT id FROM devices WHERE uuid = ?",
                                (self.device_uuid.bytes,)).fetchone()[0])


# How stale a device's last_seen_at may grow before an open refreshes it.
SEEN_STEP = dt.timedelta(hours=1)


def _seen_lately(last_seen_at: str | None) -> bool:
    try:
        seen = dt.datetime.fromisoformat(last_seen_at or "")
    except ValueError:
        return False
    if seen.tzinfo is None:
        return False
    return dt.timedelta(0) <= utc_now() - seen < SEEN_STEP


# closed by Library.close(), in this order: users of a service before the service
_SERVICES = ("sync", "extensions", "actions", "jobs", "host", "engine", "clock", "blob_stats",
             "events")

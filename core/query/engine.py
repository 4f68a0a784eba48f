"""The query engine: one library, two executors, always fresh.

Each query is compiled for the engine that answers it fastest:
- SQLite (the source of truth) for selective queries its indexes answer directly: a uuid, id,
  path or content lookup, a folder holding few entries or a tag on few rows (both probed with a
  capped index count, remembered for two seconds), small unordered listings, and
  the small tables (tags, collections, locations, devices, jobs);
- a DuckDB-native mirror (mirror.py) for scans, aggregates, group-bys, duplicates and model
  JSON filters. Before every mirror query the change log is replayed, so a write is visible to
  the very next query; SQLite answers are fresh by construction.

Every query is bounded: it stops at its deadline (`timeout=`, default DEFAULT_TIMEOUT seconds)
with QueryTimeout, and on Ctrl-C / a notebook interrupt with QueryCancelled; the engine answers
the next query normally. A repeated pure lookup (is_point: one `=` on an indexed key) is bounded
by construction and arms no deadline; Ctrl-C stops it like any other (Engine.point). A database
error while running is a QueryError, never sqlite3's or DuckDB's own exception.

A text asked again is answered by the repeated-query half of the engine (repeats.py), with no
more than binding and running what the first answer compiled.
"""
from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
import weakref
from typing import TYPE_CHECKING, Any

from vdfs_query import ir
from vdfs_query.bind import BindContext, bind, signature
from vdfs_query.catalog import SOURCES
from vdfs_query.compiler import template, to_ir
from vdfs_query.patterns import regexp
from .deadline import TICK_STEPS, Clock
from vdfs_query.errors import QueryCancelled, VdfsError
from .explain import Explain, meanwhile
from .failures import failure_of
from .result import Result
from .streams import duckdb_stream, may_be_long, sqlite_listing
from vdfs_query import ast as qast
from vdfs_query.builder import EntryQuery, ModelQuery
from .mirror_store import memory_limit
from .repeats import Repeats, same_signature
from .routing import Router

if TYPE_CHECKING:  # pragma: no cover
    from .mirror import Mirror

# What the engine runs: DSL text, a fluent builder, or a parsed or lowered query.
QueryLike = str | EntryQuery | ModelQuery | qast.Query | ir.Query

DEFAULT_TIMEOUT = 30.0     # seconds a query may run before it is stopped


class Engine(Router, Repeats):
    """Runs queries for one library. `mirror`: 'background' (default: build the DuckDB copy in a
    thread on first need, answering from the scan meanwhile), 'sync' (build before answering),
    or 'off' (SQLite only). `timeout`: seconds a query may run (None: no limit); each run may
    pass its own. `mirror_path`: the file the mirror persists in (None: memory); `mirror_memory`:
    its memory limit (bytes, "4GB", "25%"; default $VDFS_MIRROR_MEMORY, else a share of RAM)."""

    def __init__(self, db_path: str | os.PathLike[str], *, jobs_db_path: str | os.PathLike[str] | None = None,
                 device_uuid: bytes | None = None, mirror: str = "background",
                 timeout: float | None = DEFAULT_TIMEOUT,
                 mirror_path: str | os.PathLike[str] | None = None,
                 mirror_memory: int | str | None = None):
        if mirror not in ("background", "sync", "off"):
            raise ValueError(f"mirror must be 'background', 'sync' or 'off', not {mirror!r}")
        self.db_path = str(db_path)
        self.device_uuid = device_uuid
        self.mirror_mode = mirror
        self.mirror_path = mirror_path
        self.mirror_memory = memory_limit(mirror_memory)    # a bad setting fails here, clearly
        self._lock = threading.RLock()
        self._mirror: Any = None
        self.mirror_error: str | None = None
        self._clock = Clock(timeout)
        self._duck_running: Any = None
        self._pending: weakref.WeakSet[Result] = weakref.WeakSet()   # streams not yet read
        self._jobs_db_path = jobs_db_path
        conn = self._reader()
        conn.execute("PRAGMA cache_size = -65536")
        conn.create_function("vdfs_regexp", 2, regexp, deterministic=True)
        conn.set_progress_handler(self._clock.tick, TICK_STEPS)
        self._sconn = conn
        self._init_repeats()
        self._route_static = True
        self._templates: dict[tuple, Any] = {}
        self._probes: dict[tuple, tuple[int, int]] = {}   # probe key -> (count, monotonic time)

    def close(self) -> None:
        with self._lock:
            for result in list(self._pending):
                result.detach()
            if self._mirror is not None:
                self._mirror.close()
                self._mirror = None
            if self._sconn is not None:
                self._sconn.close()
                self._sconn = None
            for conn in self._point_conns:
                conn.close()
            self._point_conns.clear()

    def _reader(self) -> sqlite3.Connection:
        """A read-only connection to the library (and jobs.db, when there is one)."""
        conn = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None,
                               timeout=30.0)
        conn.execute("PRAGMA busy_timeout = 30000")
        if self._jobs_db_path is not None and os.path.exists(self._jobs_db_path):
            conn.execute("ATTACH DATABASE ? AS jobsdb", (str(self._jobs_db_path),))
        conn.execute("PRAGMA query_only = ON")
        return conn

    # ---- running --------------------------------------------------------------------------
    def run(self, query: QueryLike, params: dict | None = None, *, now: dt.datetime | None = None,
            route: str | None = None, timeout: float | None = None) -> Result:
        """Run a DSL text, builder or IR query and return its Result. `route` forces an
        executor: 'sqlite', 'duckdb' (the mirror, built first if needed) or 'scan'. `timeout`
        overrides the engine's deadline for this run (math.inf: none)."""
        repeat = None
        if route is None and type(query) is str:
            if timeout is None and now is None:
                result = self.point(query, params)
                if result is not None:
                    return result
            repeat = self._fast.get(query)
            if repeat is not None and not same_signature(repeat[0], params):
                repeat = None
        with self._lock:
            self._clock.start(timeout)
            try:
                result = None if repeat is None else self._run_repeat(query, params, now, repeat)
                if result is None:
                    result = self._run(query, params, now, route)
                if self._clock.cancelled:            # a Ctrl-C some driver swallowed
                    raise QueryCancelled()
                return result
            except (KeyboardInterrupt, Exception) as exc:
                failure = self._failure(exc)
                if failure is None:
                    raise
                raise failure from None
            finally:
                self._duck_running = None
                self._clock.stop()

    def cancel(self) -> None:
        """Stop the query running now (from another thread): it raises QueryCancelled."""
        self._clock.cancelled = True
        duck = self._duck_running
        if duck is not None:
            duck.interrupt()
        if self._sconn is not None:
            self._sconn.interrupt()

    def _failure(self, exc: BaseException, clocked: bool = True) -> VdfsError | None:
        """What an exception while answering means to the user (failure_of); `clocked=False`:
        the statement ran on a point-lookup reader, which no deadline or cancel() interrupts."""
        return failure_of(exc, self._clock if clocked else None)

    def _run(self, query: Any, params: dict | None, now: Any, route: str | None) -> Result:
        q, text = to_ir(query)
        ctx = BindContext(params, now, self.device_uuid, text)
        with self._lock:
            self._route_static = True
            chosen = route or self.route(q, ctx)
            if SOURCES[q.source].db != "library" or ir.searches(q):
                chosen = "sqlite"          # jobs.db is not mirrored; the search index neither
            if route is None and chosen == "sqlite" and text is not None:
                self._remember(q, text, params)
            chosen, duck = self._executor(chosen, forced=route == "duckdb")
            try:          # a scan owns a snapshot file: closed even when compiling or binding fails
                t = self._template(q, text, "sqlite" if chosen == "sqlite" else "duckdb", params)
                values = bind(t.slots, ctx)
                if chosen == "sqlite":
                    if not may_be_long(q):
                        rows = self._sconn.execute(t.sql, values).fetchall()
                        return Result(t.columns, t.types, rows=rows, route="sqlite", sql=t.sql,
                                      params=values)
                    return self._listing(t, values)
                self._duck_running = duck
                if self._clock.cancelled:            # cancel() came before there was a duck
                    raise QueryCancelled()
                if chosen == "scan":
                    self._clock.watch(duck)
                    table = duck.execute(t.sql, values).to_arrow_table()
                    return Result(t.columns, t.types, table=table, route=chosen, sql=t.sql,
                                  params=values)
                cursor = duck.cursor()     # its own snapshot: a pending result outlives this run
                self._duck_running = cursor
                self._clock.watch(cursor)
                return self._keep_if_pending(duckdb_stream(cursor, t, values, chosen))
            finally:
                self._duck_running = None
                if chosen == "scan":
                    duck.close()

    def _listing(self, t: Any, values: list) -> Result:
        """A listing that may be long (sqlite_listing); its own reader, if it needs one, is
        what cancel() interrupts meanwhile."""
        def own_reader() -> sqlite3.Connection:
            conn = self._duck_running = self._reader()
            return conn
        return self._keep_if_pending(sqlite_listing(self._sconn, own_reader, self._clock, t,
                                                    values))

    def _keep_if_pending(self, result: Result) -> Result:
        if result.known_len() is None:
            self._pending.add(result)          # let go of when the library closes
        return result

    def _executor(self, chosen: str, forced: bool) -> tuple[str, Any]:
        """(route actually used, DuckDB connection or None): the mirror when it is ready (after
        replaying the change log), else SQLite. The scan (DuckDB over a snapshot of the library
        through the sqlite extension) is only taken when asked for by name."""
        if chosen != "sqlite":
            self._clock.catch_sigint()
        if chosen == "duckdb":
            mirror = self._get_mirror(wait=forced or self.mirror_mode == "sync")
            if mirror is not None and mirror.ready.is_set():
                mirror.refresh(self._sconn)
                return "duckdb", mirror.duck
            return "sqlite", None
        if chosen == "scan":
            duck = self._get_scan()
            return ("scan", duck) if duck is not None else ("sqlite", None)
        return chosen, None

    def _template(self, q: ir.Query, text: str | None, dialect: str, params: dict | None) -> Any:
        """compiler.template, memoised by text (hashing a string beats hashing the IR)."""
        if text is None:
            return template(q, dialect, params)
        key = (text, signature(params), dialect)
        t = self._templates.get(key)
        if t is None:
            if len(self._templates) > 2048:
                self._templates.clear()
            t = self._templates[key] = template(q, dialect, params)
        return t

    def explain(self, query: QueryLike, params: dict | None = None, *,
                now: dt.datetime | None = None) -> Explain:
        try:
            return self._explain(query, params, now)
        except (KeyboardInterrupt, Exception) as exc:
            failure = self._failure(exc)
            if failure is None:
                raise
            raise failure from None

    def _explain(self, query: Any, params: dict | None, now: Any) -> Explain:
        q, text = to_ir(query)
        ctx = BindContext(params, now, self.device_uuid, text)
        with self._lock:
            chosen = self.route(q, ctx)
        if SOURCES[q.source].db != "library":
            chosen = "sqlite"
        t = template(q, chosen, params)
        other = "" if ir.searches(q) else \
            template(q, "sqlite" if chosen == "duckdb" else "duckdb", params).sql
        return Explain(q, chosen, t.sql, bind(t.slots, ctx), other,
                       meanwhile(chosen, self.mirror_mode, self.mirror_error, self._mirror))

    # ---- routing --------------------------------------------------------------------------
    def _get_mirror(self, wait: bool = False) -> Any:
        if self.mirror_mode == "off" or self.mirror_error is not None:
            return None
        if self._mirror is None:
            try:
                from .mirror import Mirror
                self._mirror = Mirror(self.db_path, self.mirror_path, self.mirror_memory)
            except Exception as exc:   # no DuckDB here: every query is served by SQLite
                self.mirror_error = f"{type(exc).__name__}: {exc}"
                return None
        m = self._mirror
        if not m.ready.is_set():
            try:
                m.build_now() if wait else m.start()
            except Exception as exc:
                self.mirror_error = f"{type(exc).__name__}: {exc}"
                return None
            if m.error is not None:
                self.mirror_error = f"{type(m.error).__name__}: {m.error}"
        return m

    def _get_scan(self) -> Any:
        """A fresh snapshot scan for one question (the caller closes it), or None."""
        if self.mirror_mode == "off":
            return None
        try:
            from .scan import connect_scan
            return connect_scan(self.db_path)
        except Exception:
            return None

    @property
    def mirror(self) -> Mirror:
        """The DuckDB mirror, built (synchronously) if it is not yet."""
        with self._lock:
            return self._get_mirror(wait=True)


"""The query engine: one library, two executors, always fresh.

Each query is compiled for the engine that answers it fastest:
- SQLite (the source of truth) for selective queries its indexes answer directly: a uuid, id,
  path or content lookup, a folder prefix holding few entries (probed with a capped count),
  small unordered listings, and the small tables (tags, collections, locations, devices, jobs);
- a DuckDB-native mirror (mirror.py) for scans, aggregates, group-bys, duplicates and model
  JSON filters. Before every mirror query the change log is replayed, so a write is visible to
  the very next query; SQLite answers are fresh by construction.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any

from . import ir
from .bind import BindContext, _resolve, bind
from .catalog import SOURCES
from .compiler import template, to_ir
from .result import Result
from .sqlgen import Slot

SMALL_SOURCES = frozenset({"tags", "collections", "locations", "devices", "jobs"})
PROBE_CAP = 2000           # a prefix with at most this many entries is served by SQLite
LISTING_CAP = 1000         # an unfiltered, unordered listing this short is served by SQLite


@dataclass
class Explain:
    """What a query means and how it runs: the IR, the route, the SQL and its values."""
    ir: ir.Query
    route: str
    sql: str
    params: list
    other_sql: str

    def __str__(self) -> str:
        return (f"IR:\n{_indent(ir.pretty(self.ir))}\nroute: {self.route}\n"
                f"SQL ({self.route}):\n{_indent(self.sql)}\nparams: {_show_params(self.params)}")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        import html
        return f"<pre>{html.escape(str(self))}</pre>"


class Engine:
    def __init__(self, db_path: str | os.PathLike[str], *, jobs_db_path: str | os.PathLike[str] | None = None,
                 device_uuid: bytes | None = None, mirror_path: str | os.PathLike[str] | None = None,
                 use_mirror: bool = True):
        self.db_path = str(db_path)
        self.device_uuid = device_uuid
        self.mirror_path = mirror_path
        self.use_mirror = use_mirror
        self._lock = threading.RLock()
        self._mirror: Any = None
        self._mirror_error: str | None = None
        conn = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None,
                               timeout=30.0)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA cache_size = -65536")
        conn.create_function("vdfs_regexp", 2, _regexp, deterministic=True)
        if jobs_db_path is not None and os.path.exists(jobs_db_path):
            conn.execute("ATTACH DATABASE ? AS jobsdb", (str(jobs_db_path),))
        conn.execute("PRAGMA query_only = ON")
        self._sconn = conn

    def close(self) -> None:
        with self._lock:
            if self._mirror is not None:
                self._mirror.close()
                self._mirror = None
            if self._sconn is not None:
                self._sconn.close()
                self._sconn = None

    # ---- running --------------------------------------------------------------------------
    def run(self, query: Any, params: dict | None = None, *, now: dt.datetime | None = None,
            route: str | None = None) -> Result:
        """Run a DSL text, builder or IR query and return its Result."""
        q, text = to_ir(query)
        ctx = BindContext(params, now, self.device_uuid, text)
        with self._lock:
            chosen = route or self.route(q, ctx)
            if SOURCES[q.source].db != "library":
                chosen = "sqlite"          # jobs.db is not mirrored
            mirror = self._get_mirror() if chosen == "duckdb" else None
            if mirror is None:
                chosen = "sqlite"
            t = template(q, chosen, params)
            values = bind(t.slots, ctx)
            if chosen == "sqlite":
                rows = self._sconn.execute(t.sql, values).fetchall()
                return Result(t.columns, t.types, rows=rows, route="sqlite", sql=t.sql, params=values)
            mirror.refresh(self._sconn)
            table = mirror.duck.execute(t.sql, values).to_arrow_table()
            return Result(t.columns, t.types, table=table, route="duckdb", sql=t.sql, params=values)

    def explain(self, query: Any, params: dict | None = None, *, now: dt.datetime | None = None) -> Explain:
        q, text = to_ir(query)
        ctx = BindContext(params, now, self.device_uuid, text)
        with self._lock:
            chosen = self.route(q, ctx)
            if chosen == "duckdb" and self._get_mirror() is None:
                chosen = "sqlite"
        t = template(q, chosen, params)
        other = template(q, "sqlite" if chosen == "duckdb" else "duckdb", params)
        return Explain(q, chosen, t.sql, bind(t.slots, ctx), other.sql)

    # ---- routing --------------------------------------------------------------------------
    def route(self, q: ir.Query, ctx: BindContext) -> str:
        """'sqlite' when an index answers the query directly, else 'duckdb'."""
        if q.source in SMALL_SOURCES or not self.use_mirror:
            return "sqlite"
        src = SOURCES[q.source]
        parts = ir.conjuncts(q.where)
        for c in parts:
            if isinstance(c, ir.Cmp) and c.op == "=" and not c.ref.json and src.fields[c.ref.name].indexed:
                return "sqlite"
            if (isinstance(c, ir.InList) and not c.negate and not c.ref.json
                    and src.fields[c.ref.name].indexed and len(c.values) <= 64):
                return "sqlite"
        for c in parts:
            if isinstance(c, ir.Under) and c.mode == "prefix" and q.source == "entries":
                lo = _resolve(Slot(c.value, "path", "prefix_lo"), ctx)
                hi = _resolve(Slot(c.value, "path", "prefix_hi"), ctx)
                n = self._sconn.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM entries WHERE path >= ? AND path < ? "
                    f"LIMIT {PROBE_CAP + 1})", (lo, hi)).fetchone()[0]
                if n <= PROBE_CAP:
                    return "sqlite"
        if (q.where is None and not q.order and not q.aggregated and not q.count_only
                and isinstance(q.limit, ir.Lit) and q.limit.value <= LISTING_CAP):
            return "sqlite"
        return "duckdb"

    def _get_mirror(self) -> Any:
        if self._mirror is None and self._mirror_error is None and self.use_mirror:
            try:
                from .mirror import Mirror
                self._mirror = Mirror(self.db_path, self.mirror_path)
            except Exception as exc:   # no DuckDB here: every query is served by SQLite
                self._mirror_error = f"{type(exc).__name__}: {exc}"
        return self._mirror

    @property
    def mirror(self) -> Any:
        with self._lock:
            return self._get_mirror()


_RX_CACHE: dict[str, re.Pattern] = {}


def _regexp(pattern: str, value: Any) -> bool:
    if value is None or pattern is None:
        return None
    rx = _RX_CACHE.get(pattern)
    if rx is None:
        if len(_RX_CACHE) > 256:
            _RX_CACHE.clear()
        rx = _RX_CACHE[pattern] = re.compile(pattern)
    return rx.search(str(value)) is not None


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _show_params(values: list) -> str:
    import uuid as _uuid
    shown = []
    for v in values:
        if isinstance(v, bytes) and len(v) == 16:
            shown.append(f"uuid {_uuid.UUID(bytes=v)}")
        elif isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 1000:
            shown.append(f"{v:,}")
        else:
            shown.append(repr(v))
    return "[" + ", ".join(shown) + "]"

"""Which engine answers a query: SQLite when an index answers it directly (point lookups,
small folders, rare tags, short listings, searches), the DuckDB mirror for scans and
aggregates. Only speed depends on the choice, never the answer (docs/architecture.md §4); the
route-differential tests hold every route to the same rows."""
from __future__ import annotations

import sqlite3
import time
from typing import Any

from vdfs_query import ir
from vdfs_query.bind import BindContext, _resolve
from vdfs_query.catalog import SOURCES
from vdfs_query.sqlgen import Slot

SMALL_SOURCES = frozenset({"tags", "collections", "locations", "devices", "jobs"})
PROBE_CAP = 2000           # a prefix with at most this many entries is served by SQLite
LISTING_CAP = 1000         # an unfiltered, unordered listing this short is served by SQLite
PROBE_TTL = 2.0            # seconds a probe's count is trusted for routing
TAG_CAP = 20_000           # a tag on at most this many entries/contents is served by SQLite,
TAG_SHARE = 100            # or on at most 1/100 of the library's entries (index lookups per link)
LISTING_SHARE = 50         # a listing under a folder holding at most 1/50 of all entries: SQLite
_PROBES = {
    "listing": "SELECT count(*) FROM (SELECT 1 FROM entries WHERE path >= ? AND path < ? LIMIT ?)",
    "size": "SELECT coalesce(max(id), 0) FROM entries",
    "prefix": f"SELECT count(*) FROM (SELECT 1 FROM entries WHERE path >= ? AND path < ? LIMIT {PROBE_CAP + 1})",
    "tag": ("SELECT count(*) FROM (SELECT 1 FROM tags t JOIN tag_links tl ON tl.tag_id = t.id "
            "WHERE t.name = ? LIMIT ?)"),
}


class Router:
    """The routing half of Engine: needs its SQLite reader (`_sconn`), its probe cache
    (`_probes`), `mirror_mode` and `_route_static`."""

    _sconn: sqlite3.Connection
    _probes: dict[tuple[Any, ...], tuple[int, float]]
    mirror_mode: str
    _route_static: bool
    listing_share: int = LISTING_SHARE
    tag_cap: int = TAG_CAP
    tag_share: int = TAG_SHARE

    def route(self, q: ir.Query, ctx: BindContext) -> str:
        """'sqlite' when an index answers the query directly, else 'duckdb'. A search always
        runs on SQLite: its full-text index lives there only (the mirror cannot answer it)."""
        if q.source in SMALL_SOURCES or self.mirror_mode == "off" or ir.searches(q):
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
            if isinstance(c, ir.Under) and c.mode == "prefix" and src.table == "entries":
                self._route_static = False     # the answer depends on the folder's size now
                lo = _resolve(Slot(c.value, "path", "prefix_lo"), ctx)
                hi = _resolve(Slot(c.value, "path", "prefix_hi"), ctx)
                if self._probe("prefix", lo, hi) <= PROBE_CAP:
                    return "sqlite"
                if not (q.aggregated or q.count_only):
                    # a listing reads only its folder's rows through the path index: cheaper
                    # than a scan of the whole mirror while the folder is a small share of it
                    cap = self._probe("size") // max(1, self.listing_share)
                    if cap > PROBE_CAP and self._probe("listing", lo, hi, cap + 1) <= cap:
                        return "sqlite"
            if isinstance(c, ir.Tagged) and src.table in ("entries", "content_identities"):
                self._route_static = False
                tag = _resolve(Slot(c.value, "tag"), ctx)
                # SQLite follows the tag's links through indexes (a few µs each at 10M
                # entries), the mirror scans every entry and content: SQLite wins below a
                # share of the library (at 10M entries, 50k links: 0.5 s against 1.3 s)
                cap = max(self.tag_cap, self._probe("size") // max(1, self.tag_share))
                if self._probe("tag", tag, cap + 1) <= cap:
                    return "sqlite"
        if (q.where is None and not q.order and not q.aggregated and not q.count_only
                and isinstance(q.limit, ir.Lit) and q.limit.value <= LISTING_CAP):
            return "sqlite"
        return "duckdb"

    def _probe(self, kind: str, *args: Any) -> int:
        """How many rows an index would visit (capped): entries below a folder, links of a tag;
        or the size of `entries` (its highest id). Remembered for PROBE_TTL seconds: a route is only about speed, so an old count never
        makes an answer stale."""
        key = (kind, *args)
        now = time.monotonic()
        hit = self._probes.get(key)
        if hit is not None and now - hit[1] < PROBE_TTL:
            return hit[0]
        n = self._sconn.execute(_PROBES[kind], args).fetchone()[0]
        if len(self._probes) > 4096:
            self._probes.clear()
        self._probes[key] = (n, now)
        return n

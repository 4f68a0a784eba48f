"""A query asked again: answered with no more than binding its values and running its SQL.

The general path parses, lowers, routes and compiles every query, yet a notebook or a job asks
the same text over and over with other values. For a text SQLite answered, the engine keeps
what that took (the IR, the SQLite template, a fast binder) and, for a pure lookup
(point.is_point), a point plan. This half of Engine serves those repeats, so the cost of asking
again stays close to raw sqlite3; the general path keeps answering everything they cannot (a
new parameter signature, a bad value to explain, a route that has changed).
"""
from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from typing import Any

from vdfs_query import ir
from vdfs_query.bind import BindContext, bind, fast_binder, signature
from vdfs_query.compiler import template
from vdfs_query.errors import QueryError
from .columns import ReadOnlyList
from .point import is_point, point_plan
from .result import Result, lookup_result
from .routing import PROBE_TTL
from .streams import may_be_long

MAX_REMEMBERED = 1024      # texts whose SQLite plan is kept for asking again


class Repeats:
    """The repeated-query half of Engine: needs its lock (`_lock`), SQLite reader (`_sconn`)
    and a way to open another (`_reader`), `device_uuid`, `route` and `_route_static` (Router),
    `_listing` and `_failure`."""

    _lock: threading.RLock
    _sconn: sqlite3.Connection
    _route_static: bool
    device_uuid: bytes | None

    def _init_repeats(self) -> None:
        self._local = threading.local()        # .cursor: this thread's point-lookup reader
        self._point_conns: list[sqlite3.Connection] = []
        self._fast: dict[str, tuple] = {}      # text -> (parameter signature, SQLite template…):
        #                                        what _remember keeps, _run_repeat reads
        self._points: dict[str, tuple] = {}    # text -> a pure lookup's plan (point_plan)
        self._recent_routes: dict[tuple, tuple] = {}  # (text, *params) -> (when SQLite won, values)

    def _remember(self, q: ir.Query, text: str, params: dict | None) -> None:
        """Keep what a SQLite answer to `text` took, for the next time it is asked (the route
        decided just now says whether it depended on probes: `_route_static`)."""
        if len(self._fast) >= MAX_REMEMBERED:
            return
        t_fast = template(q, "sqlite", params)
        binder = fast_binder(t_fast.slots, self.device_uuid)
        # the names every answer of this text shares (read-only, so never copied per answer)
        columns, types = ReadOnlyList(t_fast.columns), ReadOnlyList(t_fast.types)
        self._fast[text] = (signature(params), q, t_fast, self._route_static, binder,
                            may_be_long(q), columns, types)
        if self._route_static and binder is not None and is_point(q):
            self._points[text] = point_plan(params, t_fast, columns, types)

    def _point_cursor(self) -> sqlite3.Cursor:
        """This thread's cursor for point lookups, on a reader of its own: a lookup then takes
        no lock and arms no clock (it cannot run long), which is most of what it cost beyond
        SQLite's own work. A Ctrl-C still stops it: it raises when the statement returns."""
        with self._lock:
            if self._sconn is None:
                raise QueryError("the query engine is closed")
            conn = self._reader()
            self._point_conns.append(conn)
        cursor = self._local.cursor = conn.cursor()
        return cursor

    def point(self, text: str, params: dict | None) -> Result | None:
        """The answer of `run(text, params)` when it is a repeated pure lookup (is_point), found
        with no more than binding and running (None: not one, or a parameter the general path
        must explain). It takes no lock and arms no deadline, since the statement cannot run
        long: it runs on this thread's own reader (_point_cursor). A Ctrl-C raises when the
        statement returns, and a KeyboardInterrupt here is QueryCancelled."""
        point = self._points.get(text)
        if point is None:
            return None
        name, typ, sql, conv, columns, types = point
        if name is None:
            if params:
                return None
            values = list(conv)                  # the literals
        elif not params or len(params) != 1 or type(value := params.get(name)) is not typ:
            return None
        else:
            try:
                values = [conv(value)]
            except Exception:
                return None
        try:
            cursor = self._local.cursor
        except AttributeError:
            cursor = self._point_cursor()
        try:
            rows = cursor.execute(sql, values).fetchall()
        except (KeyboardInterrupt, Exception) as exc:
            failure = self._failure(exc, clocked=False)
            if failure is None:
                raise
            raise failure from None
        return lookup_result(columns, types, rows, sql, values)

    def _run_repeat(self, text: str, params: dict | None, now: Any, hit: tuple) -> Result | None:
        """A repeated SQLite-routed query (`hit`: its _fast entry, for the same parameter
        signature): bind and go (None when the general path must answer)."""
        if not (now is None or isinstance(now, dt.datetime)):
            return None                # (a bad now= is explained by the general path)
        _, q, t, static, binder, long, columns, types = hit
        values = None
        if binder is not None and not static:
            values = self._probed_values(text, q, params, now, binder)
            if values is _ELSEWHERE:
                return None
        elif binder is not None:
            try:
                values = binder(params)
            except Exception:          # the general binder explains the problem below
                values = None
        if values is None:
            ctx = BindContext(params, now, self.device_uuid, text)
            if not static and self.route(q, ctx) != "sqlite":
                return None
            values = bind(t.slots, ctx)
        if long:
            return self._listing(t, values)
        rows = self._sconn.execute(t.sql, values).fetchall()
        return lookup_result(columns, types, rows, t.sql, values)

    def _probed_values(self, text: str, q: ir.Query, params: dict | None, now: Any,
                       binder: Any) -> Any:
        """The bound values of a query whose route depends on probes of them (a folder's size,
        a tag's use), when a decision for these parameters younger than PROBE_TTL says SQLite;
        _ELSEWHERE when the route now says otherwise; None when the general binder must
        explain a parameter. The decision is remembered with the values it bound: the binder
        is pure (no clock, no device), so the same parameters bind the same values."""
        try:               # (the engine's lock is held: run())
            key = (text, *params.items()) if params else (text,)
            seen = self._recent_routes.get(key)
        except TypeError:  # an unhashable parameter value: decide afresh
            key, seen = None, None
        if seen is not None and time.monotonic() - seen[0] <= PROBE_TTL:
            return seen[1]
        try:
            values = binder(params)
        except Exception:  # the general binder explains the problem
            return None
        if self.route(q, BindContext(params, now, self.device_uuid, text)) != "sqlite":
            return _ELSEWHERE
        if key is not None:
            if len(self._recent_routes) > 4096:
                self._recent_routes.clear()
            self._recent_routes[key] = (time.monotonic(), values)
        return values


_ABSENT = object()
_ELSEWHERE = object()      # a repeated query's route is no longer SQLite


def same_signature(sig: tuple, params: dict | None) -> bool:
    """signature(params) == sig, decided without building the signature in the common case
    of one scalar parameter (a repeated query pays for this check on every call)."""
    if len(sig) == 1 and params is not None and len(params) == 1 and sig[0][2] is None:
        name, typ, _ = sig[0]
        return type(params.get(name, _ABSENT)) is typ
    return signature(params) == sig

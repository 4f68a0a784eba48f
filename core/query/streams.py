"""Long answers read as streams: a listing on a connection (or DuckDB cursor) of its own, so
its snapshot outlives the run and the shared reader stays free while its rest waits to be
fetched (Result.streamed / streamed_rows decide, by LAZY_ROWS, whether anything waits)."""
from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Callable

from vdfs_query import ir
from vdfs_query.patterns import regexp
from . import result as result_mod
from .deadline import TICK_STEPS, Clock
from .result import Result

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

    from vdfs_query.sqlgen import Template

STREAM_BATCH = 65_536      # rows per Arrow batch read from the mirror


def may_be_long(q: ir.Query) -> bool:
    """A listing whose rows are not bounded by an aggregate or a small literal limit."""
    if q.aggregated or q.count_only:
        return False
    limit = q.limit.value if isinstance(q.limit, ir.Lit) else q.limit
    return not isinstance(limit, int) or limit > result_mod.LAZY_ROWS


def sqlite_listing(shared: sqlite3.Connection, own_reader: Callable[[], sqlite3.Connection],
                   clock: Clock, t: Template, values: list) -> Result:
    """A listing read on the shared reader when it has at most LAZY_ROWS rows (the common
    case: no connection to open); a longer one is read again as a stream on a reader of its
    own, so the shared one stays free while its rest waits (its first rows are read twice)."""
    cursor = shared.execute(t.sql, values)
    rows = cursor.fetchmany(result_mod.LAZY_ROWS + 1)
    if len(rows) <= result_mod.LAZY_ROWS:
        return Result.of_rows(t.columns, t.types, rows, t.sql, values)
    cursor.close()
    return sqlite_stream(own_reader(), clock, t, values)


def sqlite_stream(conn: sqlite3.Connection, clock: Clock, t: Template, values: list) -> Result:
    """Run template `t` on `conn` (a reader of its own, closed with the result): under the
    run's deadline for its first rows, with none for the rest, read later."""
    conn.create_function("vdfs_regexp", 2, regexp, deterministic=True)
    conn.set_progress_handler(clock.tick, TICK_STEPS)
    try:
        cursor = conn.execute(t.sql, values)
        result = Result.streamed_rows(t.columns, t.types, cursor, conn, sql=t.sql,
                                      params=values)
    except BaseException:
        conn.close()
        raise
    if result.known_len() is None:
        conn.set_progress_handler(None, 0)
    return result


def duckdb_stream(cursor: duckdb.DuckDBPyConnection, t: Template, values: list,
                  route: str) -> Result:
    """Run template `t` on a DuckDB cursor of its own, read as Arrow batches."""
    reader = cursor.execute(t.sql, values).to_arrow_reader(STREAM_BATCH)
    return Result.streamed(t.columns, t.types, reader, cursor, route=route, sql=t.sql,
                           params=values)

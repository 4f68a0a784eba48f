"""`lib.query` / `lib.explain`: bind the query language to one library (docs/architecture.md §4).

One `core.query.engine.Engine` per library (`lib.engine`) holds the SQLite reader and
the DuckDB mirror (persisted as `mirror.duckdb` in the library folder), which it builds or
loads in the background on the first aggregate query.
Builders from `lib.vdfs().query_entries()` / `query_models(T)` run through executor.py.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import vdfs_query
from .engine import Engine
from .explain import Explain
from .mirror_store import MIRROR_FILE

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library
    from .engine import QueryLike
    from .result import Result


def make_engine(lib: Library) -> Engine:
    """The engine `lib.engine` holds (made once per open library)."""
    return Engine(lib.db_path, jobs_db_path=lib.jobs_db_path, device_uuid=lib.device_uuid.bytes,
                  mirror_path=lib.path / MIRROR_FILE)


def _split(params: dict[str, Any] | None) -> tuple[dict[str, Any], Any]:
    if not params or "now" not in params:
        return params or {}, None
    params = dict(params)
    now = params.pop("now")             # the clock option, never a query parameter
    return params, now


def run_query(lib: Library, query: QueryLike, params: dict[str, Any] | None = None) -> Result:
    """Run DSL text or a builder against `lib`; `now=` fixes the clock for relative times."""
    params, now = _split(params)
    return lib.engine.run(query, params, now=now)


def explain_query(lib: Library, query: QueryLike, params: dict[str, Any] | None = None) -> Explain:
    params, now = _split(params)
    return lib.engine.explain(query, params, now=now)

"""Running queries against one library: the routing engine, the DuckDB mirror, results.

`vdfs_query` turns text or a builder into SQL for either engine; this room executes it. The
engine reads core's change log to keep the mirror fresh, which is why it lives with the library
and not with the language (docs/architecture.md §4).
"""
from .engine import Engine
from .explain import Explain
from .result import Result

__all__ = ["Engine", "Explain", "Result"]

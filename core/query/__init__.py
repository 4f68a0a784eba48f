"""Running queries against one library: the routing engine, the DuckDB mirror, results.

`vdfs_query` turns text or a builder into SQL for either engine; this room executes it. The
engine reads core's change log to keep the mirror fresh, which is why it lives with the library
and not with the language (docs/architecture.md §4).
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Engine
    from .explain import Explain
    from .result import Result

__all__ = ["Engine", "Explain", "Result"]
_HOMES = {"Engine": ".engine", "Explain": ".explain", "Result": ".result"}


def __getattr__(name: str) -> Any:
    """The room's names, imported on first use: a light module of the room (how a result is
    shown, read by every CLI table) must not load the engine and the compiler with it."""
    if name in _HOMES:
        return getattr(import_module(_HOMES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

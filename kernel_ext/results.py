"""`%%vdfs --limit N`: keep only the first N rows of a result, as the same Result type."""
from __future__ import annotations

from typing import Any


def limited(result: Any, n: int) -> Any:
    for name in ("head", "limit"):
        method = getattr(result, name, None)
        if callable(method):
            return method(n)
    raise TypeError(f"{type(result).__name__} cannot be limited")

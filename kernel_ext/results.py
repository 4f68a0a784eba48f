"""`%%vdfs --limit N`: cap the rows a query fetches, through the query itself.

The limit goes into the parsed query (never spliced into its text): a query that already has a
smaller limit keeps it.
"""
from __future__ import annotations

import dataclasses
from typing import Any


def with_limit(text: str, n: int, params: dict[str, Any]) -> Any:
    """The parsed query of `text` with its limit lowered to at most `n`."""
    import vdfs_query
    q = vdfs_query.parse(text)
    current = q.limit
    name = getattr(current, "name", None)
    if name is not None:                      # `limit :n` — compare with the bound value
        value = params.get(name)
        current = value if isinstance(value, int) else None
    if current is None or current > n:
        q = dataclasses.replace(q, limit=n)
    return q

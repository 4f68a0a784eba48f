"""A first load: indexing a big tree into an empty library, the indexer's fast path.

Nothing is stored yet, so the whole walk is new, and processing can be planned from it
before a row is written: which files to hash ahead (so each row is written once, with its
content identity) and each folder's size and child count (so each folder row is written once,
with its numbers, and aggregation finds nothing to change). The job decides when a load is a
first load; processing follows the plan.
"""
from __future__ import annotations

from .walk import DIR, Found


def hash_ahead_key(f: Found) -> "str | bytes | None":
    """The prefetch key of a new file worth hashing before its row is written (its path for
    the OS), or None. Processing then writes the row once, with its content identity."""
    if f.ftype == 0 and f.old is None and f.st.st_size > 0:
        return f.raw or f.path
    return None


def folder_totals(changes: list[Found]) -> dict[str, tuple[int, int]]:
    """path -> (size, child_count) of every folder in `changes` (sorted by path), as the
    aggregation phase computes them from the stored rows: for a first load, where `changes`
    is everything, each folder row is then written once, with its numbers. One pass in
    descending path order, where every descendant comes before its folder."""
    size: dict[str, int] = {}
    count: dict[str, int] = {}
    totals: dict[str, tuple[int, int]] = {}
    for f in reversed(changes):
        if f.ftype == DIR:
            n = size.pop(f.path, 0)
            totals[f.path] = (n, count.pop(f.path, 0))
        else:
            n = f.st.st_size if f.ftype == 0 else 0
        if f.parent is not None:
            size[f.parent] = size.get(f.parent, 0) + n
            count[f.parent] = count.get(f.parent, 0) + 1
    return totals

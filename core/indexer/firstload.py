"""A first load: indexing a big tree into an empty library, the indexer's fast path.

Nothing is stored yet, so the whole walk is new, and processing can be planned from it
before a row is written: which files to hash ahead (so each row is written once, with its
content identity) and each folder's size and child count (so each folder row is written once,
with its numbers, and aggregation finds nothing to change). The entries indexes are dropped
for the load and built once at the end, after hashing; their SQL is kept in the job's
checkpoint, so a job killed meanwhile restores them when it resumes. With a second core, the
name search index is built by a helper from the rows as they commit (searchworker.py).

The job (job.py) decides when to call each step; processing (process.py) follows the plan.
"""
from __future__ import annotations

import sqlite3
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Callable

from core.content.kinds import split_ext
from .knobs import env_int
from .searchworker import SearchBuilder
from .store import KnownIdentities, drop_indexes, entry_index_specs, restore_indexes
from .walk import DIR, Found

if TYPE_CHECKING:  # pragma: no cover
    from .prefetch import Prefetcher
    from .process import Processor

BULK_MIN = 20000           # new entries from which a first load drops and rebuilds indexes


def is_first_load(conn: sqlite3.Connection, stored: int, changes: int) -> bool:
    """Whether a walk finding `changes` for a location with `stored` entries is a first load:
    nothing stored in the whole library (the indexes dropped are the whole table's), and
    enough new entries to pay for building the indexes again."""
    return stored == 0 and changes >= env_int("VDFS_INDEX_BULK_MIN", BULK_MIN) \
        and not conn.execute("SELECT EXISTS (SELECT 1 FROM entries)").fetchone()[0]


def drop_entry_indexes(conn: sqlite3.Connection, state: dict[str, Any],
                       save: Callable[[], None]) -> None:
    """Drop the entries indexes, to build them once at the end; their SQL is checkpointed
    (`state`, then `save()`) before they go, so a resumed job can restore them."""
    state["dropped_indexes"] = entry_index_specs(conn)
    save()
    drop_indexes(conn, state["dropped_indexes"])


def restore_after_crash(conn: sqlite3.Connection, state: dict[str, Any],
                        save: Callable[[], None]) -> None:
    """A first load killed before it built its indexes: restore them before the walk runs
    again, which then diffs against the rows it committed like any re-index."""
    if state.get("dropped_indexes"):
        restore_indexes(conn, state.pop("dropped_indexes"))
        save()


def plan(proc: Processor, conn: sqlite3.Connection, changes: list[Found],
         search: bool) -> SearchBuilder | None:
    """Set `proc` up for a first load of `changes` (sorted here, in the order processing
    writes): folder rows written once, content identities looked up in memory rather than
    per batch. With `search`, the name search index is built by a helper from the rows as
    they commit: that helper is returned."""
    changes.sort(key=attrgetter("path"))
    proc.folder_totals = folder_totals(changes)
    proc.identities = KnownIdentities(conn)
    if not search:
        return None
    builder = SearchBuilder(conn.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'entries_fts'").fetchone()[0])
    proc.search_rows = []
    return builder


def hash_ahead(proc: Processor, changes: list[Found], prefetch: Prefetcher,
               wait: Callable[[int], None]) -> None:
    """Send the new files to the hash workers before their rows are written, so that each row
    is written once, with its content (not inserted, then updated by the content phase); a
    crash leaves rows with or without content, both consistent. `wait` is `prefetch.wait`,
    perhaps timed."""
    prefetch.submit([(key, key, f.st.st_size, split_ext(f.name))
                     for f in changes if (key := hash_ahead_key(f)) is not None])
    proc.hashed_ahead = prefetch.results
    proc.wait_hashed = wait
    proc.hashed_by = prefetch.hashed_by


def build_indexes(conn: sqlite3.Connection, specs: list[list[str]],
                  search: SearchBuilder | None, crash: Callable[[str], None]) -> None:
    """Build the indexes the load dropped (`specs`), once, after hashing. With a helper
    building the search index, the plain indexes come first, while it indexes the last rows.
    `crash` is the job's crash hook (knobs.py), called at each safe point."""
    search_db = None
    if search is not None:
        restore_indexes(conn, [s for s in specs if not s[0].startswith("trigger:")])
        crash("indexes")
        search_db = search.finish()
    restore_indexes(conn, specs, search_db)
    crash("indexes")


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

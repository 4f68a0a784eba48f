"""Discovery split across two processes, for re-indexing large locations.

A Python walk is about as fast as `find` and no faster, so a re-index that must beat 0.7x
find walks half the tree elsewhere: this process lists the root, splits its folders in two
by their stored entry counts, hands one half to walkworker.py and walks the other half; each
side loads only its half of the stored map. The answers merge into one Discovery, so the
phases after it cannot tell how it was made.
"""
from __future__ import annotations

import os
import pickle
import sqlite3
import subprocess
import sys
from typing import Callable

from .store import load_subtrees
from .walk import Discovery, Found, scan, stat_root

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "walkworker.py")


def _count(conn: sqlite3.Connection, location_id: int, path: str) -> int:
    base = path.rstrip("/")
    return conn.execute("SELECT count(*) FROM entries WHERE location_id = ? AND path >= ? "
                        "AND path < ?", (location_id, base + "/", base + "0")).fetchone()[0]


def discover_split(conn: sqlite3.Connection, db_path: str, location_id: int, root: str,
                   root_rows: dict[str, tuple], *,
                   progress: Callable[[int, int], None] | None = None,
                   after_dir: Callable[[int], None] | None = None) -> Discovery:
    """`root_rows`: the stored rows of `root` and of its direct children."""
    proc = subprocess.Popen([sys.executable, "-I", WORKER], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE,   # starts while we list the root
                            process_group=0)          # Ctrl-C is for the indexer only
    data = None
    try:
        out = Discovery()
        stored = root_rows
        root_item = stat_root(root, stored, out)
        subdirs = scan([root_item], stored, out, recurse=False)
        # stored folders directly below root that are gone: their subtrees are gone too
        missing = [p for p, row in stored.items() if row[3] == -1 and p != root]
        weights = sorted(((_count(conn, location_id, d if d is not None else r), (r, d))
                          for r, d in subdirs), reverse=True)
        mine: list[tuple[str, str | None]] = []
        theirs: list[tuple[str, str | None]] = []
        load = [0, 0]
        for w, item in weights:           # greedy: the heavier subtree to the lighter side
            side = 0 if load[0] <= load[1] else 1
            (mine if side == 0 else theirs).append(item)
            load[side] += w
        proc.stdin.write(pickle.dumps((db_path, location_id, theirs)))
        proc.stdin.close()
        stored.update(load_subtrees(conn, location_id,
                                    [d if d is not None else r for r, d in mine] + missing))
        scan(mine, stored, out, progress=progress, after_dir=after_dir)
        data = proc.stdout.read()
    finally:
        if data is None:        # we failed first: the worker's answer will never be read
            proc.kill()
        if not proc.stdin.closed:
            try:
                proc.stdin.close()
            except OSError:
                pass
        rc = proc.wait()
        proc.stdout.close()
    if rc != 0 or not data:
        raise RuntimeError(f"discovery worker failed (exit code {rc})")
    changes, gone, unreadable, errors, skipped, files, dirs, nbytes = pickle.loads(data)
    out.changes.extend(Found(*c) for c in changes)
    stored.update(gone)
    out.gone = stored
    out.unreadable += unreadable
    out.errors += errors
    out.skipped += skipped
    out.files += files
    out.dirs += dirs
    out.bytes += nbytes
    if progress is not None:
        progress(out.files, out.bytes)
    return out


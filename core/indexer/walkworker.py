"""Half of a split discovery, in its own process: `python -I walkworker.py` (run by path).

It imports only its sibling modules walk.py and store.py and the name codec
core/store/names.py, not the `core` package, so it
starts in a few milliseconds. Protocol: one pickled request on stdin —
(library.db path, location id, [(real path, display path or None), ...]) — and one pickled
answer on stdout: (changes as tuples, gone rows, unreadable, errors, skipped, files, dirs,
bytes). Results are plain tuples and os.stat_result, so module names never matter.
"""
from __future__ import annotations

import gc
import os
import pickle
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# the name codec walk.py needs, from core/store, still without the core package
sys.path.insert(1, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "store"))

from store import load_subtrees  # noqa: E402
from walk import Discovery, scan  # noqa: E402


def work(db_path: str, location_id: int, roots: list[tuple[str, str | None]]) -> tuple:
    conn = sqlite3.connect(Path(db_path).as_uri() + "?mode=ro", uri=True)
    try:
        stored = load_subtrees(conn, location_id, [d if d is not None else r for r, d in roots])
    finally:
        conn.close()
    out = Discovery()
    scan(list(roots), stored, out)
    changes = [(f.path, f.raw, f.name, f.parent, f.st, f.ftype, f.old) for f in out.changes]
    return (changes, stored, out.unreadable, out.errors, out.skipped, out.files, out.dirs,
            out.bytes)


def main() -> None:
    gc.disable()            # short-lived, allocates only acyclic tuples: no collector needed
    request = pickle.load(sys.stdin.buffer)
    answer = work(*request)
    sys.stdout.buffer.write(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()

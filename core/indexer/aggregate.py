"""Aggregation: each folder's size (bytes of every file below it) and child_count (its direct
children: files, folders and symlinks).

One pass over the location's entries in descending path order — every descendant sorts after
its folder, so it is visited before it — adds each entry's total to its parent. Only folders
whose numbers changed are written, so an unchanged tree writes nothing.
"""
from __future__ import annotations

import sqlite3
from collections import defaultdict

from .store import write_tx


def aggregate(conn: sqlite3.Connection, location_id: int) -> int:
    """Recompute folder aggregates of one location; returns how many folders changed."""
    acc: defaultdict[int, int] = defaultdict(int)
    cnt: defaultdict[int, int] = defaultdict(int)
    updates = []
    take_acc, take_cnt = acc.pop, cnt.pop
    cur = conn.execute("SELECT id, parent_id, is_dir, size, child_count FROM entries "
                       "WHERE location_id = ? ORDER BY path DESC", (location_id,))
    for eid, parent, is_dir, size, child_count in cur:
        if is_dir:
            size_now = size
            size = take_acc(eid, 0)
            n = take_cnt(eid, 0)
            if size != size_now or n != child_count:
                updates.append((size, n, eid))
        if parent is not None:
            acc[parent] += size
            cnt[parent] += 1
    if updates:
        with write_tx(conn):
            conn.executemany("UPDATE entries SET size = ?, child_count = ? WHERE id = ?",
                             updates)
    return len(updates)

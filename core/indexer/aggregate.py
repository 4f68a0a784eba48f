"""Aggregation: each folder's size (bytes of every file below it) and child_count (its direct
children: files, folders and symlinks).

One pass over the location's entries in descending path order — every descendant sorts after
its folder, so it is visited before it — adds each entry's total to its parent. Only folders
whose numbers changed are written, so an unchanged tree writes nothing.
"""
from __future__ import annotations

import sqlite3

from .store import write_tx


def aggregate(conn: sqlite3.Connection, location_id: int) -> int:
    """Recompute folder aggregates of one location; returns how many folders changed."""
    acc: dict[int, int] = {}
    cnt: dict[int, int] = {}
    updates = []
    get_acc, get_cnt = acc.pop, cnt.pop
    cur = conn.execute("SELECT id, parent_id, is_dir, size, child_count FROM entries "
                       "WHERE location_id = ? ORDER BY path DESC", (location_id,))
    for eid, parent, is_dir, size, child_count in cur:
        if is_dir:
            total = get_acc(eid, 0)
            n = get_cnt(eid, 0)
            if total != size or n != child_count:
                updates.append((total, n, eid))
        else:
            total = size
        if parent is not None:
            acc[parent] = acc.get(parent, 0) + total
            cnt[parent] = cnt.get(parent, 0) + 1
    if updates:
        with write_tx(conn):
            conn.executemany("UPDATE entries SET size = ?, child_count = ? WHERE id = ?",
                             updates)
    return len(updates)

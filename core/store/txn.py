"""Re-entrant write transactions on a library connection, with after-commit callbacks.

Connections are in autocommit mode (core/store/db.py). A mutation of the host API may run alone or
inside a caller's batch; `transaction(conn)` joins an open one instead of nesting, and events
registered with `after_commit` fire only once the outermost transaction has committed, so a
rolled-back write never announces itself.
"""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from .faults import storage_faults

_state = threading.local()


def _pending(conn: sqlite3.Connection) -> dict[int, list[Callable[[], None]]]:
    pending = getattr(_state, "pending", None)
    if pending is None:
        pending = _state.pending = {}
    return pending


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, or join the transaction already open on `conn`."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    pending = _pending(conn)
    pending[id(conn)] = []
    try:
        yield conn
    except BaseException:
        pending.pop(id(conn), None)
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    with storage_faults(conn):     # a full disk usually shows at COMMIT: say so plainly
        try:
            conn.execute("COMMIT")
        except BaseException:
            pending.pop(id(conn), None)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    for callback in pending.pop(id(conn), []):
        callback()


def after_commit(conn: sqlite3.Connection, callback: Callable[[], None]) -> None:
    """Run `callback` when the transaction open on `conn` commits (now, if none is open)."""
    queue = _pending(conn).get(id(conn))
    if conn.in_transaction and queue is not None:
        queue.append(callback)
    else:
        callback()

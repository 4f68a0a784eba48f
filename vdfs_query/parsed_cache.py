"""Parsed queries kept between processes, so a repeated text needs no Lark at all.

A `vdfs query` run again with new parameter values (`-p u=…`) parses the same text; without
this store each such process imports Lark, loads its tables and builds its lexer before its
first answer, the largest part of what a point lookup from a fresh process costs.

Trees live in `parsed.sqlite` in the user's cache folder (the folder rule of parser_cache:
the user's own, writable by no one else, because a row is a pickle). A row's key hashes the
text with the caller's code key (the grammar and the source of every module that makes a
tree), so a change to any of them leaves older rows unread; the newest MAX_ROWS rows are kept.
Anything that goes wrong reading or writing, or a row that is not a tree, is a miss: the text
is parsed as if there were no store. Only texts that parse are stored.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import sqlite3
import threading
from pathlib import Path
from typing import Any

from . import ast
from .parser_cache import default_folder, private_folder

STORE = "parsed.sqlite"
MAX_ROWS = 2000

_lock = threading.Lock()
_conns: dict[Path, sqlite3.Connection | None] = {}
_pid = os.getpid()


def _connection() -> sqlite3.Connection | None:
    global _pid
    folder = default_folder()
    with _lock:
        if _pid != os.getpid():           # a forked child: SQLite connections do not cross
            _conns.clear()
            _pid = os.getpid()
        if folder not in _conns:
            _conns[folder] = _open(folder)
        return _conns[folder]


def _open(folder: Path) -> sqlite3.Connection | None:
    if not private_folder(folder):
        return None
    try:
        conn = sqlite3.connect(folder / STORE, timeout=0.2, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA synchronous = OFF")      # a lost row is only a miss
        conn.execute("CREATE TABLE IF NOT EXISTS parsed (key TEXT PRIMARY KEY, tree BLOB NOT NULL)")
        return conn
    except sqlite3.Error:
        return None


def forget_connections() -> None:
    """Close this process's connections (the next use reopens): for a store replaced on disk."""
    with _lock:
        for conn in _conns.values():
            if conn is not None:
                conn.close()
        _conns.clear()


def _key(text: str, code_key: str) -> str:
    return hashlib.sha256(f"{code_key}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()


def get(text: str, code_key: str | None) -> ast.Query | None:
    """The tree stored for `text` by the same code, or None."""
    conn = _connection() if code_key else None
    if conn is None:
        return None
    try:
        with _lock:
            row = conn.execute("SELECT tree FROM parsed WHERE key = ?",
                               (_key(text, code_key or ""),)).fetchone()
        tree: Any = pickle.loads(row[0]) if row else None
    except Exception:                 # damaged store or row: any failure is a miss
        return None
    return tree if isinstance(tree, ast.Query) and tree.text == text else None


def put(text: str, code_key: str | None, tree: ast.Query) -> None:
    """Store the tree of a text that parsed (best effort: a failure only means a later miss)."""
    conn = _connection() if code_key else None
    if conn is None:
        return
    try:
        blob = pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL)
        with _lock:
            conn.execute("INSERT OR REPLACE INTO parsed (key, tree) VALUES (?, ?)",
                         (_key(text, code_key or ""), blob))
            conn.execute("DELETE FROM parsed WHERE rowid <= (SELECT max(rowid) FROM parsed) - ?",
                         (MAX_ROWS,))
    except (sqlite3.Error, pickle.PicklingError, RecursionError):
        pass

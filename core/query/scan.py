"""DuckDB reading the library's SQLite file: the sqlite extension, and private snapshots.

DuckDB's sqlite extension links its own copy of SQLite, and two SQLite copies in one process do
not see each other's POSIX locks: when the second opens a WAL database it believes it is alone
and truncates the -shm file that the first has mapped (a SIGBUS, seen in our test runs), and
closing its file drops the other's locks. So DuckDB never opens the live library.db: it reads a
private, consistent snapshot made with SQLite's backup API (`snapshot()`), and the change log
replayed from that snapshot's own watermark brings the copy up to date.
"""
from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import duckdb


def sqlite_extension_path() -> str | None:
    """The sqlite_scanner binary shipped by the duckdb-extension-sqlite-scanner package."""
    try:
        import duckdb_extension_sqlite_scanner as pkg
    except ImportError:
        return None
    found = sorted(Path(pkg.__file__).parent.rglob("*.duckdb_extension"))
    return str(found[0]) if found else None


def load_sqlite_extension(duck: duckdb.DuckDBPyConnection) -> bool:
    """LOAD the packaged extension by path; fall back to DuckDB's own INSTALL (network)."""
    path = sqlite_extension_path()
    if path:
        try:
            duck.execute(f"LOAD '{sql_text(path)}'")   # a path found on disk, not user input
            return True
        except Exception:
            pass
    try:
        duck.execute("INSTALL sqlite")
        duck.execute("LOAD sqlite")
        return True
    except Exception:
        return False


def snapshot(db_path: str) -> str:
    """A consistent private copy of the live library in a temp file, for DuckDB to read.

    The backup runs in one read transaction of Python's SQLite, so it is a single point in time
    even while other connections write; the copy is switched out of WAL mode so that DuckDB's
    SQLite opens a plain file that nobody else uses.
    """
    fd, path = tempfile.mkstemp(prefix="vdfs-snapshot-", suffix=".db")
    os.close(fd)
    try:
        src = sqlite3.connect(db_path, timeout=30.0)
        try:
            dst = sqlite3.connect(path)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode = DELETE")
            finally:
                dst.close()
        finally:
            src.close()
    except BaseException:
        remove_snapshot(path)
        raise
    return path


def remove_snapshot(path: str) -> None:
    """Delete a snapshot and any journal SQLite left beside it."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        try:
            os.unlink(path + suffix)
        except FileNotFoundError:
            pass


class SnapshotScan:
    """DuckDB reading a snapshot of the library through the sqlite extension (the 'scan' route).

    Fresh as of its creation: callers make one per question and close it.
    """

    def __init__(self, db_path: str):
        import duckdb
        self.duck = None
        self.path = snapshot(db_path)
        try:
            self.duck = duckdb.connect(":memory:")
            if not load_sqlite_extension(self.duck):
                raise RuntimeError("DuckDB's sqlite extension is not available")
            self.duck.execute(f"ATTACH '{sql_text(self.path)}' AS lib (TYPE sqlite, READ_ONLY)")
            self.duck.execute("USE lib")
        except BaseException:
            self.close()
            raise

    def execute(self, sql: str, params: Any = None) -> duckdb.DuckDBPyConnection:
        return self.duck.execute(sql, params) if params is not None else self.duck.execute(sql)

    def interrupt(self) -> None:
        """Stop the running statement (its deadline passed, or the user cancelled)."""
        if self.duck is not None:
            self.duck.interrupt()

    def close(self) -> None:
        if self.duck is not None:
            self.duck.close()
            self.duck = None
        remove_snapshot(self.path)


def connect_scan(db_path: str) -> SnapshotScan:
    """DuckDB over the sqlite extension, reading a snapshot of the library taken now."""
    return SnapshotScan(db_path)


def sql_text(text: str) -> str:
    return text.replace("'", "''")

"""SQLite connections and numbered migrations for library.db and jobs.db.

Each schema file `schema/NNNN_name.sql` (library.db) or `schema/jobs_NNNN.sql` (jobs.db) is one
migration; `PRAGMA user_version` records the last applied. A migration runs in one transaction,
so a failure leaves the file as it was.
"""
from __future__ import annotations

import os
import re
import sqlite3
from importlib import resources
from pathlib import Path
from typing import Any

from core.errors import CorruptLibraryError, SchemaTooNewError

_LIBRARY_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_JOBS_RE = re.compile(r"^jobs_(\d{4})\.sql$")


def _migration_files(pattern: re.Pattern[str]) -> list[tuple[int, Any]]:
    found = []
    for item in resources.files("core.store.schema").iterdir():
        m = pattern.match(item.name)
        if m:
            found.append((int(m.group(1)), item))
    found.sort(key=lambda f: f[0])
    versions = [v for v, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..N without gaps, found {versions}")
    return found


def _migrations(pattern: re.Pattern[str]) -> list[tuple[int, str]]:
    return [(v, item.read_text(encoding="utf-8")) for v, item in _migration_files(pattern)]


def library_migrations() -> list[tuple[int, str]]:
    return _migrations(_LIBRARY_RE)


def jobs_migrations() -> list[tuple[int, str]]:
    return _migrations(_JOBS_RE)


# The latest versions are counted from the files' names: every open asks, and reading the
# schema text is only needed to migrate.
def latest_library_version() -> int:
    return len(_migration_files(_LIBRARY_RE))


def latest_jobs_version() -> int:
    return len(_migration_files(_JOBS_RE))


def connect(path: Path | str, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection tuned for the library: WAL, NORMAL sync, foreign keys, autocommit mode.

    Autocommit (isolation_level=None) lets callers write `BEGIN … COMMIT` explicitly, which is
    what the indexer and actions need for their own transaction boundaries.
    """
    uri = f"file:{Path(path)}?mode=ro" if readonly else str(path)
    conn = sqlite3.connect(uri, uri=readonly, isolation_level=None, timeout=30.0,
                           check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 30000")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA cache_size = -65536")
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise CorruptLibraryError(f"not a readable SQLite database: {exc}") from exc


_MAGIC = b"SQLite format 3\x00"


def _check_header(path: Path, has_wal: bool) -> None:
    """What SQLite's 100-byte header says about the file, read without SQLite: the magic, and
    (once the last writer checkpointed) that the file holds every page the header counts, so a
    file cut short by a failed copy is refused before anything reads past its end."""
    with open(path, "rb") as fh:
        head = fh.read(100)
    if not head:
        return                      # empty: reported below, with the remedy
    if len(head) < 100 or not head.startswith(_MAGIC):
        raise CorruptLibraryError(f"{path}: not a readable SQLite database (bad header)")
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    size_is_valid = head[24:28] == head[92:96]
    if not has_wal and size_is_valid and pages and Path(path).stat().st_size < pages * page_size:
        raise CorruptLibraryError(
            f"{path} is truncated (damaged): {Path(path).stat().st_size} bytes where its header "
            f"counts {pages} pages of {page_size}; restore it from a backup")


def has_unclean_wal(path: Path) -> bool:
    """A write-ahead log with frames in it that no live process holds: the last process to use
    the file died without closing it. A clean close checkpoints and removes the log; a process
    still running (a notebook with the library open) has a log too, and is no crash."""
    try:
        if Path(f"{path}-wal").stat().st_size == 0:
            return False
    except OSError:
        return False
    return not _held_open(Path(f"{path}-shm"))


def _held_open(shm: Path) -> bool:
    """Does a live connection, in any process, have the database open? SQLite keeps a lock on
    the -shm file for as long as a connection maps it. The locks are read from /proc/locks
    (Linux) rather than tested on an opened descriptor: closing one would drop this process's
    own SQLite locks on the file. Where that cannot be told, False (the log counts as left by
    a crash, as before)."""
    try:
        st = shm.stat()
        file_id = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
        with open("/proc/locks", encoding="ascii", errors="replace") as fh:
            # "1: POSIX  ADVISORY  READ 4242 fe:00:2146505 128 128" ("->" marks a waiter)
            return any(file_id in line.split() for line in fh)
    except OSError:
        return False


def check_readable(path: Path) -> int:
    """Open read-only, prove the file is a vdfs database and return its schema version; writes
    nothing. An empty file (or one without a schema) is refused: SQLite would take it for a new
    database, and the library would open silently with nothing in it.

    Only cheap checks run here (header, schema, `user_version`): their cost does not grow with
    the file, so opening a big library stays instant. The whole-file check is `vdfs check`."""
    # Without a WAL to replay, read as immutable so that not even -shm/-wal files appear.
    has_wal = Path(f"{path}-wal").exists()
    try:
        _check_header(path, has_wal)
    except OSError as exc:
        raise CorruptLibraryError(f"{path}: cannot read: {exc}") from exc
    uri = f"file:{path}?mode=ro" + ("" if has_wal else "&immutable=1")
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise CorruptLibraryError(f"{path}: cannot open: {exc}") from exc
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if not version:
            what = "empty (0 bytes)" if Path(path).stat().st_size == 0 else \
                "an empty database (no vdfs schema)"
            raise CorruptLibraryError(f"{path} is {what}: it is damaged or was never written; "
                                      "restore it from a backup")
        return version
    except sqlite3.DatabaseError as exc:
        raise CorruptLibraryError(f"{path}: not a readable SQLite database ({exc})") from exc
    finally:
        conn.close()


def migrate(conn: sqlite3.Connection, migrations: list[tuple[int, str]], *, what: str,
            target: int | None = None) -> int:
    """Apply every migration above the file's version (up to `target`); return the new version."""
    current = schema_version(conn)
    latest = len(migrations)
    if current > latest:
        raise SchemaTooNewError(
            f"{what} has schema version {current}, but this vdfs knows only up to {latest}: "
            "upgrade vdfs to open it")
    target = latest if target is None else target
    # Rebuilding migrations need foreign keys off while tables are swapped.
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        for version, sql in migrations:
            if current < version <= target:
                try:
                    conn.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;")
                except sqlite3.Error:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                current = version
    finally:
        conn.execute("PRAGMA foreign_keys = ON")
    return current

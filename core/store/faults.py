"""Storage faults — a full disk, a read-only folder, a failing device — as clear VdfsErrors.

SQLite and the OS report these as `sqlite3.OperationalError` / `OSError` whose text ("database
or disk is full", "[Errno 28]") tells a user neither which library nor what to do. Code that
writes a library turns them into one of the errors below at its boundary, so the message names
the place and the remedy and the caller can catch `VdfsError`.
"""
from __future__ import annotations

import errno
import sqlite3
from contextlib import contextmanager
from typing import Iterator

from core.errors import VdfsError

_SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_FULL, _SQLITE_CANTOPEN = 8, 10, 13, 14
_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_DENIED_ERRNOS = {errno.EACCES, errno.EPERM}


class StorageError(VdfsError):
    """The disk refused a read or write (I/O error, cannot open a file)."""


class StorageFullError(StorageError):
    """No space left (or quota exceeded) on the disk being written."""


class ReadOnlyStorageError(StorageError):
    """The folder or file vdfs must write to is read-only (or not writable by this user)."""


STORAGE_ERRORS = (StorageError, StorageFullError, ReadOnlyStorageError)


def storage_error(exc: BaseException, where: object) -> StorageError | None:
    """The clear error for `exc` when it is a storage fault while writing `where` (a path, or a
    connection: its database file), else None."""
    if isinstance(exc, StorageError):
        return exc
    kind = _classify(exc)
    if kind is not None and isinstance(where, sqlite3.Connection):
        where = _database_file(where)
    if kind == "full":
        return StorageFullError(f"no space left on the disk holding {where}: free some space "
                                "and run the command again (interrupted work resumes)")
    if kind == "readonly":
        return ReadOnlyStorageError(f"{where} is read-only: vdfs needs to write there "
                                    "(check the folder's permissions or mount)")
    if kind == "denied":
        return ReadOnlyStorageError(f"permission denied on {getattr(exc, 'filename', None) or where}"
                                    ": vdfs needs to read and write there (check its permissions)")
    if kind == "io":
        return StorageError(f"the disk holding {where} failed to read or write ({exc})")
    return None


@contextmanager
def storage_faults(where: object) -> Iterator[None]:
    """Within the block, a storage fault is raised as its clear error (the original chained)."""
    try:
        yield
    except (OSError, sqlite3.Error) as exc:
        fault = storage_error(exc, where)
        if fault is None or fault is exc:
            raise
        raise fault from exc


def _database_file(conn: sqlite3.Connection) -> str:
    try:
        return next((row[2] for row in conn.execute("PRAGMA database_list")
                     if row[1] == "main" and row[2]), "the library")
    except sqlite3.Error:
        return "the library"


def _classify(exc: BaseException) -> str | None:
    if isinstance(exc, OSError):
        if exc.errno in _FULL_ERRNOS:
            return "full"
        if exc.errno == errno.EROFS:
            return "readonly"
        if exc.errno in _DENIED_ERRNOS:
            return "denied"
        if exc.errno == errno.EIO:
            return "io"
        return None
    if isinstance(exc, sqlite3.Error):
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
        text = str(exc).lower()
        if code == _SQLITE_FULL or "disk is full" in text:
            return "full"
        if code == _SQLITE_READONLY or "readonly database" in text:
            return "readonly"
        if code in (_SQLITE_IOERR, _SQLITE_CANTOPEN) or "disk i/o error" in text:
            return "io"
    return None

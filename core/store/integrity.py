"""The whole-file check of a library's databases: `vdfs check`, and after a crash in the background.

Opening a library only runs cheap checks (header, schema, version), so the open costs the same
at any size. The full check reads every page, which is linear in the size of the file (seconds
for millions of entries): it runs when asked for, or in a background thread when an open finds
that the last process did not shut down cleanly. Its last result is kept in `logs/check.json`.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from . import db
from .clock import now_iso
from core.errors import CorruptLibraryError

CHECK_LOG = "check.json"
DATABASES = ("library.db", "jobs.db")
_log = logging.getLogger(__name__)


def check_file(path: Path, *, full: bool = False,
               on_connect: Callable[[sqlite3.Connection], None] | None = None) -> list[str]:
    """The problems SQLite finds in one database file (empty list: healthy). `full` runs
    `integrity_check` (also compares every index with its table) instead of `quick_check`."""
    try:
        db.check_readable(path)
    except CorruptLibraryError as exc:
        return [str(exc)]
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    except sqlite3.Error as exc:
        return [f"cannot open: {exc}"]
    try:
        if on_connect is not None:
            on_connect(conn)
        pragma = "integrity_check" if full else "quick_check"
        rows = [r[0] for r in conn.execute(f"PRAGMA {pragma}")]
        return [] if rows == ["ok"] else rows
    except sqlite3.DatabaseError as exc:
        return [f"not a readable SQLite database ({exc})"]
    finally:
        conn.close()


def check_library(folder: Path, *, full: bool = False,
                  on_connect: Callable[[sqlite3.Connection], None] | None = None) -> dict[str, list[str]]:
    """{database file name: its problems} for each database the library folder holds."""
    return {name: check_file(folder / name, full=full, on_connect=on_connect)
            for name in DATABASES if (folder / name).exists()}


def record(folder: Path, result: dict[str, list[str]], reason: str) -> None:
    """Keep the result where the next `vdfs check` or a support request can see it."""
    data = {"at": now_iso(), "reason": reason, "ok": not any(result.values()),
            "problems": result}
    logs = folder / "logs"
    try:
        logs.mkdir(parents=True, exist_ok=True)
        tmp = logs / (CHECK_LOG + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(logs / CHECK_LOG)
    except OSError as exc:          # a read-only or full disk: the log line below still says it
        _log.warning("could not record the integrity check in %s: %s", logs, exc)


class BackgroundCheck(threading.Thread):
    """The full check of a library after an unclean shutdown, off the opening thread.

    `result` is None until it finishes; `cancel()` stops it promptly (a closing library must
    not wait seconds for a check nobody is waiting for)."""

    def __init__(self, folder: Path, reason: str):
        super().__init__(name=f"vdfs-check:{folder.name}", daemon=True)
        self.folder = folder
        self.reason = reason
        self.result: dict[str, list[str]] | None = None
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._cancelled = False

    def _track(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if self._cancelled:
                conn.interrupt()
            self._conns.append(conn)

    def run(self) -> None:
        result = check_library(self.folder, on_connect=self._track)
        if self._cancelled:
            return
        self.result = result
        record(self.folder, result, self.reason)
        for name, problems in result.items():
            if problems:
                _log.error("%s/%s is damaged: %s (run `vdfs check`; restore from a backup)",
                           self.folder, name, "; ".join(problems[:5]))

    def cancel(self, timeout: float = 5.0) -> None:
        with self._lock:
            self._cancelled = True
            for conn in self._conns:
                try:
                    conn.interrupt()
                except sqlite3.ProgrammingError:     # already closed: that file is done
                    pass
        if self.is_alive():
            self.join(timeout)

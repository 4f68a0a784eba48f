"""The name search index of a first load, built in a helper process.

Keeping entries_fts (trigrams of every name and path) was the largest single cost of a first
load left in the writing process, even built once at the end: about a quarter of its CPU. So
while the writer inserts entry rows, this helper (`python -I searchworker.py DB`, run by path:
it imports only the standard library) receives the (id, name, path) of each committed batch
and indexes them into a table of the same definition in its own scratch database. At the end
the writer copies the finished index's shadow tables in one transaction instead of rebuilding
(store.restore_indexes). It is only a faster way to the same index: if the helper died, or its
rows are not exactly the entries stored, the writer rebuilds as before, and a resumed job
always rebuilds (the scratch database is not kept across a crash).

Protocol on stdin: pickles, one after another — the CREATE VIRTUAL TABLE statement, then
lists of (rowid, name, path), then None; on stdout one pickle, the number of rows indexed.
"""
from __future__ import annotations

import os
import pickle
import queue
import sqlite3
import subprocess
import sys
import tempfile
import threading

WORKER = os.path.abspath(__file__)


class SearchBuilder:
    """The writer's side: feed committed rows, then `finish` for the scratch database. Rows
    are written to the helper's pipe by a thread of their own: the pipe holds 64 KiB and a
    batch's rows many times that, so writing them inline would hold the writer up for as long
    as the helper takes to index them."""

    def __init__(self, table_sql: str) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="vdfs-search-", ignore_cleanup_errors=True)
        self.path = os.path.join(self.dir.name, "search.db")
        self.rows = 0
        self.failed = False
        self.proc = subprocess.Popen([sys.executable, "-I", WORKER, self.path],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL,
                                     process_group=0)   # Ctrl-C is for the indexer only
        self._queue: queue.Queue[object] = queue.Queue()
        self._queue.put(table_sql)
        self._thread = threading.Thread(target=self._send, name="vdfs-index-search",
                                        daemon=True)
        self._thread.start()

    def _send(self) -> None:
        """Write what is queued to the helper until the None that ends it."""
        while True:
            obj = self._queue.get()
            if not self.failed:
                try:
                    pickle.dump(obj, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                    self.proc.stdin.flush()      # indexed while the writer goes on
                except (OSError, ValueError):    # it died (or was closed): the writer rebuilds
                    self.failed = True
            if obj is None:
                return

    def add(self, rows: list[tuple[int, str, str]]) -> None:
        """Index (entry id, name, path) of rows the writer has committed."""
        if rows:
            self.rows += len(rows)
            self._queue.put(rows)

    def finish(self) -> str | None:
        """The scratch database holding the index of every row added, or None when the
        helper failed (the caller rebuilds instead)."""
        self._queue.put(None)
        self._thread.join()
        if self.failed:
            return None
        try:
            done = pickle.load(self.proc.stdout)
        except (OSError, EOFError, pickle.UnpicklingError):
            self.failed = True
            return None
        return self.path if done == self.rows else None

    def close(self) -> None:
        """Stop the helper (if still running) and remove its scratch database."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._queue.put(None)            # the thread meets a dead pipe, or this, and ends
        self._thread.join()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self.dir.cleanup()


def _build(path: str) -> int:
    """Index what arrives on stdin into `path`; the number of rows indexed."""
    inp = sys.stdin.buffer
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = OFF")      # scratch: thrown away if anything fails
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute(pickle.load(inp))
        conn.execute("BEGIN")
        n = 0
        while True:
            rows = pickle.load(inp)
            if rows is None:
                break
            conn.executemany("INSERT INTO entries_fts (rowid, name, path) VALUES (?, ?, ?)",
                             rows)
            n += len(rows)
        conn.execute("COMMIT")
        return n
    finally:
        conn.close()


def _remove(path: str) -> None:
    """Remove the scratch database and its folder."""
    for name in (path, path + "-journal"):
        try:
            os.remove(name)
        except OSError:
            pass
    try:
        os.rmdir(os.path.dirname(path))
    except OSError:
        pass


def _serve(path: str) -> None:
    """Build, answer, and then remove the database once the writer's pipe closes: the writer
    kills this helper and removes the folder when it stops normally, but a killed writer
    never does, and each crashed first load of a big tree would leave its index behind."""
    try:
        n = _build(path)
        sys.stdout.buffer.write(pickle.dumps(n))
        sys.stdout.buffer.flush()
        sys.stdin.buffer.read()       # until the writer, done copying or dead, closes it
    except BaseException:             # the pipe closed mid-stream: the writer is gone
        pass
    _remove(path)


if __name__ == "__main__":
    _serve(sys.argv[1])

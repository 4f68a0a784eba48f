"""jobs.db access: one connection per manager, serialised by a lock, short transactions.

Every state change of a job is a single UPDATE guarded by the owner, so a process that lost a
job (its owner was declared dead and another process resumed it) cannot overwrite the new run.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterable

from core.store import db
from core.store.clock import now_iso
from . import codec
from .owner import owner_alive

TERMINAL = ("completed", "failed", "cancelled")
UNFINISHED = ("queued", "running", "paused")


class JobStore:
    def __init__(self, path: Path):
        self.path = path
        self._conn = db.connect(path)
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass

    def _exec(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._conn.execute(sql, tuple(params))

    def _row(self, sql: str, params: Iterable[Any] = ()) -> dict[str, Any] | None:
        with self._lock:
            cur = self._conn.execute(sql, tuple(params))
            row = cur.fetchone()
            if row is None:
                return None
            return dict(zip([d[0] for d in cur.description], row))

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._conn.execute(sql, tuple(params))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]

    # ---- jobs --------------------------------------------------------------------------
    def create(self, job_id: str, name: str, args: dict[str, Any], *, extension_id: str | None,
               trigger: str, parallelism: int, entrypoint: str | None) -> None:
        now = now_iso()
        self._exec(
            "INSERT INTO jobs (id, name, extension_id, status, trigger, args, parallelism, "
            "entrypoint, created_at, updated_at) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)",
            (job_id, name, extension_id, trigger, codec.dumps(args, what=f"job {name} args"),
             parallelism, entrypoint, now, now))

    def get(self, job_id: str) -> dict[str, Any] | None:
        return self._row("SELECT * FROM jobs WHERE id = ?", (job_id,))

    def list(self, *, status: str | None = None, name: str | None = None,
             limit: int | None = None) -> list[dict[str, Any]]:
        sql, params = "SELECT * FROM jobs WHERE 1=1", []
        if status:
            sql += " AND status = ?"
            params.append(status)
        if name:
            sql += " AND name = ?"
            params.append(name)
        sql += " ORDER BY created_at DESC, rowid DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return self._rows(sql, params)

    def ids_with_prefix(self, prefix: str) -> list[str]:
        hi = prefix + "\uffff"
        return [r["id"] for r in self._rows(
            "SELECT id FROM jobs WHERE id >= ? AND id < ? ORDER BY created_at", (prefix, hi))]

    def unfinished(self, name: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM jobs WHERE status IN ('queued', 'running', 'paused')"
        params: list[Any] = []
        if name:
            sql += " AND name = ?"
            params.append(name)
        return self._rows(sql + " ORDER BY created_at, rowid", params)

    def claim(self, job_id: str, owner: str, *, allow_paused: bool = True) -> dict[str, Any] | None:
        """Make `owner` the runner of a queued/paused job or of a running job whose owner died."""
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._row("SELECT * FROM jobs WHERE id = ?", (job_id,))
                ok = row is not None and (
                    row["status"] == "queued"
                    or (row["status"] == "paused" and allow_paused)
                    or (row["status"] == "running" and not owner_alive(row["owner"])))
                if not ok:
                    conn.execute("COMMIT")
                    return None
                now = now_iso()
                conn.execute(
                    "UPDATE jobs SET status='running', owner=?, owner_pid=?, control=NULL, "
                    "attempts=attempts+1, started_at=COALESCE(started_at, ?), updated_at=?, "
                    "heartbeat_at=?, error=NULL, message=NULL WHERE id=?",
                    (owner, os.getpid(), now, now, now, job_id))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return self.get(job_id)

    def finish(self, job_id: str, owner: str, status: str, *, result: str | None = None,
               error: str | None = None) -> bool:
        now = now_iso()
        done = now if status in TERMINAL else None
        cur = self._exec(
            "UPDATE jobs SET status=?, result=?, error=?, control=NULL, owner=NULL, updated_at=?, "
            "finished_at=? WHERE id=? AND owner=?",
            (status, result, error, now, done, job_id, owner))
        return cur.rowcount == 1

    def set_status_unowned(self, job_id: str, status: str, *, expect: Iterable[str],
                           error: str | None = None) -> bool:
        """Change a job nobody runs (queued, paused, or a dead owner's) — used by pause/cancel."""
        expect = tuple(expect)
        now = now_iso()
        done = now if status in TERMINAL else None
        cur = self._exec(
            f"UPDATE jobs SET status=?, control=NULL, owner=NULL, updated_at=?, finished_at=?, "
            f"error=COALESCE(?, error) WHERE id=? AND status IN ({','.join('?' * len(expect))})",
            (status, now, done, error, job_id, *expect))
        return cur.rowcount == 1

    def reopen(self, job_id: str) -> bool:
        """Queue a failed job again, its checkpoint kept, so that it can be claimed and resumed."""
        cur = self._exec("UPDATE jobs SET status='queued', finished_at=NULL, updated_at=? "
                         "WHERE id=? AND status='failed'", (now_iso(), job_id))
        return cur.rowcount == 1

    def request(self, job_id: str, control: str | None) -> None:
        self._exec("UPDATE jobs SET control=?, updated_at=? WHERE id=?",
                   (control, now_iso(), job_id))

    def control(self, job_id: str) -> str | None:
        row = self._row("SELECT control FROM jobs WHERE id=?", (job_id,))
        return row["control"] if row else None

    def progress(self, job_id: str, owner: str, done: int, total: int | None,
                 message: str | None, phase: str | None) -> str | None:
        """Store progress and return any pending control request (one round trip)."""
        now = now_iso()
        with self._lock:
            self._conn.execute(
                "UPDATE jobs SET progress_done=?, progress_total=COALESCE(?, progress_total), "
                "message=COALESCE(?, message), phase=COALESCE(?, phase), updated_at=?, "
                "heartbeat_at=? WHERE id=? AND owner=?",
                (done, total, message, phase, now, now, job_id, owner))
            return self.control(job_id)

    def checkpoint(self, job_id: str, owner: str, state_json: str) -> str | None:
        now = now_iso()
        with self._lock:
            self._conn.execute(
                "UPDATE jobs SET checkpoint=?, updated_at=?, heartbeat_at=? "
                "WHERE id=? AND owner=?", (state_json, now, now, job_id, owner))
            return self.control(job_id)

    def prune(self, finished_before: str, statuses: tuple[str, ...]) -> int:
        """Delete ended jobs (and, by cascade, their tasks) finished before an ISO time."""
        marks = ",".join("?" * len(statuses))
        cur = self._exec(f"DELETE FROM jobs WHERE status IN ({marks}) AND finished_at < ?",
                         (*statuses, finished_before))
        return cur.rowcount

    # ---- tasks -------------------------------------------------------------------------
    def completed_task(self, job_id: str, key: str) -> tuple[bool, str | None]:
        """(True, stored result) if task `key` of the job completed, else (False, None)."""
        with self._lock:
            row = self._conn.execute("SELECT result FROM tasks WHERE job_id=? AND key=? AND "
                                     "status='completed'", (job_id, key)).fetchone()
        return (True, row[0]) if row else (False, None)

    def record_task(self, job_id: str, key: str, name: str, status: str, attempts: int, *,
                    args: str | None = None, result: str | None = None, error: str | None = None,
                    started_at: str | None = None) -> None:
        now = now_iso()
        self._exec(
            "INSERT INTO tasks (job_id, key, name, status, attempts, args, result, error, "
            "started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(job_id, key) DO UPDATE SET status=excluded.status, "
            "attempts=tasks.attempts+excluded.attempts, result=excluded.result, "
            "error=excluded.error, finished_at=excluded.finished_at",
            (job_id, key, name, status, attempts, args, result, error, started_at or now,
             now if status in ("completed", "failed") else None))

    def task_counts(self, job_id: str) -> dict[str, int]:
        with self._lock:
            return dict(self._conn.execute(
                "SELECT status, count(*) FROM tasks WHERE job_id=? GROUP BY status", (job_id,)))

    def tasks(self, job_id: str) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM tasks WHERE job_id=? ORDER BY id", (job_id,))

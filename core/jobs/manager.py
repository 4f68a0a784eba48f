"""JobManager (lib.jobs): submit, run in a background thread, control, resume.

State lives in jobs.db, not in memory: a Job handle only knows its id, so a handle made in one
process can wait for, pause or cancel a job another process runs. A job runs in a thread of the
process that submitted (or resumed) it; that process's owner string marks it, and a job whose
owner is dead is resumable (`resume_pending`, `find_unfinished`, `Job.resume`).
"""
from __future__ import annotations

import asyncio
import datetime
import logging
import sqlite3
import threading
import time
import traceback
import uuid
from typing import TYPE_CHECKING, Any, Callable

from core.store.clock import utc_now
from core.store.events import Event
from core.store.faults import storage_error
from . import codec
from .context import JobContext, RunFlags, job_owner
from .errors import JobError, StopJob
from .handle import Job
from .owner import new_owner, owner_alive, release_owner
from .registry import JobSpec, get_job_spec
from .store import TERMINAL, JobStore
from .threads import TaskPool, release_thread_connection
from .triggers import attach_triggers

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library

log = logging.getLogger(__name__)

_STOP_STATUS = {"pause": "paused", "cancel": "cancelled", "suspend": "queued"}


class JobManager:
    """The jobs of one library (lib.jobs)."""

    def __init__(self, lib: Library):
        self.lib = lib
        self.store = JobStore(lib.jobs_db_path)
        self.owner = new_owner()
        self._running: dict[str, RunFlags] = {}
        self._ended: dict[str, dict[str, Any]] = {}   # ends jobs.db could not record
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._unsubscribe: Callable[[], None] | None = None
        self.task_pool = TaskPool()
        self._unsubscribe = attach_triggers(self)

    # ---- events --------------------------------------------------------------------------
    def publish(self, event: Event) -> None:
        try:
            self.lib.events.publish(event)
        except Exception:  # never let event delivery break a job
            log.exception("publishing %s failed", event.kind)

    def _status_event(self, job_id: str, name: str, status: str,
                      extension_id: str | None = None, error: str | None = None) -> None:
        self.publish(Event("job.status", {"job_id": job_id, "name": name, "status": status,
                                          "extension_id": extension_id, "error": error}))

    # ---- creating and starting -----------------------------------------------------------
    def submit(self, name: str | Callable[..., Any], args: dict[str, Any] | None = None, *,
               extension_id: str | None = None, trigger: str = "user_initiated",
               start: bool = True) -> Job:
        """Record a new job and start it in a background thread; returns its handle."""
        if self._closed:
            raise JobError("this library is closed; open it again to submit jobs")
        spec = self._spec_for(name)
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise JobError(f"job {spec.name}: args must be a dict of keyword arguments, "
                           f"got {type(args).__name__}")
        owner = job_owner(spec)    # the registry says whose job it is, not the caller
        if extension_id is not None and extension_id != owner:
            raise JobError(f"job {spec.name} belongs to "
                           f"{'extension ' + repr(owner) if owner else 'core'}, "
                           f"not to {extension_id!r}")
        job_id = str(uuid.uuid4())
        self.store.create(job_id, spec.name, args, extension_id=owner,
                          trigger=trigger, parallelism=spec.parallelism,
                          entrypoint=spec.entrypoint)
        self._status_event(job_id, spec.name, "queued", owner)
        if start:
            self._start(job_id)
        return Job(self, job_id)

    @staticmethod
    def _spec_for(name: str | Callable[..., Any]) -> JobSpec:
        if callable(name):
            spec = getattr(name, "__vdfs_job__", None)
            if spec is None:
                raise JobError(f"{name!r} is not a registered job: decorate it with @job "
                               "or call register_job")
            return spec
        if not isinstance(name, str):
            raise JobError(f"job name must be a string, got {type(name).__name__}")
        return get_job_spec(name)

    def _start(self, job_id: str) -> bool:
        row = self.store.get(job_id)
        if row is None:
            raise JobError(f"no job {job_id}")
        spec = get_job_spec(row["name"], row.get("entrypoint"))
        with self._lock:
            if self._closed:
                raise JobError("this library is closed")
            if job_id in self._running:
                return False
            claimed = self.store.claim(job_id, self.owner)
            if claimed is None:
                return False
            flags = RunFlags()
            self._running[job_id] = flags
            thread = threading.Thread(target=self._run, args=(spec, claimed, flags),
                                      name=f"vdfs-job-{row['name']}-{job_id[:8]}", daemon=True)
            self._threads[job_id] = thread
            thread.start()     # under the lock: close() must never see a thread not yet started
        return True

    def _run(self, spec: JobSpec, row: dict[str, Any], flags: RunFlags) -> None:
        job_id = row["id"]
        ctx: JobContext | None = None
        status, result, error = "failed", None, None
        self._status_event(job_id, spec.name, "running", row.get("extension_id"))
        try:
            ctx = JobContext(self, spec, row, self.owner, flags)
            code_ctx = ctx.for_code()
            if spec.is_async:
                value = asyncio.run(spec.fn(code_ctx, **ctx.args))
            else:
                value = spec.fn(code_ctx, **ctx.args)
            ctx.close()
            req = flags.request or ctx._poll_control(force=True)
            if req and flags.observed:
                status = _STOP_STATUS[req]
            else:
                status, result = "completed", codec.dumps(value, what=f"job {spec.name} result")
        except StopJob as stop:
            status = _STOP_STATUS.get(stop.reason, "queued")
        except BaseException as exc:  # the job's own failure: record it, never crash the thread
            status = "failed"
            shown = storage_error(exc, self.lib.path) or exc   # a full disk says so plainly
            error = f"{type(shown).__name__}: {shown}\n--\n{traceback.format_exc()}"
            log.info("job %s (%s) failed: %s", job_id, spec.name, exc)
        finally:
            if ctx is not None:
                try:
                    ctx.close()
                except Exception as exc:   # e.g. the last progress cannot be stored
                    log.info("closing job %s: %s", job_id, exc)
            self._record_end(job_id, status, result, error)
            with self._lock:
                self._running.pop(job_id, None)
                self._threads.pop(job_id, None)
            flags.done.set()
            self._status_event(job_id, spec.name, status, row.get("extension_id"),
                               error.split("\n--\n")[0] if error else None)
            release_thread_connection(self.lib)   # this thread ends: do not leak its conn

    def _record_end(self, job_id: str, status: str, result: str | None,
                    error: str | None) -> None:
        """Store how the job ended. When jobs.db cannot take it (a full disk), try a shorter
        record, and failing that keep the outcome in memory: handles in this process see it at
        once (so `wait()` returns rather than waiting for a timeout), and once this process
        exits the stored row — still `running`, owner dead — is resumable."""
        short = error.split("\n--\n")[0] if error else None
        for attempt in (error, short):
            try:
                self.store.finish(job_id, self.owner, status, result=result, error=attempt)
                self._ended.pop(job_id, None)
                return
            except (sqlite3.Error, OSError) as exc:
                log.info("recording the end of job %s: %s", job_id, exc)
        self._ended[job_id] = {"status": status, "result": result, "error": short,
                               "owner": None}

    # ---- control -------------------------------------------------------------------------
    def _control(self, job_id: str, what: str) -> None:
        row = self.store.get(job_id)
        if row is None:
            raise JobError(f"no job {job_id}")
        status = row["status"]
        if status in TERMINAL:
            raise JobError(f"job {job_id} is already {status}; cannot {what} it")
        target = _STOP_STATUS[what]
        if status in ("queued", "paused") or (status == "running"
                                                and not owner_alive(row["owner"])):
            if status == "paused" and what == "pause":
                return
            if self.store.set_status_unowned(job_id, target, expect=(status,)):
                self._status_event(job_id, row["name"], target, row.get("extension_id"))
                return
            row = self.store.get(job_id) or row   # it started meanwhile: fall through
        flags = self._running.get(job_id)
        if flags is not None:
            flags.request = what
        self.store.request(job_id, what)

    # ---- finding and resuming ------------------------------------------------------------
    def get(self, job_id: str) -> Job:
        """The job with this id, or with this unique id prefix (as `vdfs jobs` shows them)."""
        if self.store.get(job_id) is not None:
            return Job(self, job_id)
        ids = self.store.ids_with_prefix(job_id) if len(job_id) >= 4 else []
        if len(ids) == 1:
            return Job(self, ids[0])
        if ids:
            raise JobError(f"job id {job_id!r} is ambiguous: "
                           f"{', '.join(i[:12] for i in ids[:5])}")
        raise JobError(f"no job {job_id!r} in this library (see `vdfs jobs`)")

    def list(self, *, status: str | None = None, name: str | None = None,
             limit: int | None = None) -> list[dict[str, Any]]:
        return [self.describe(r, with_tasks=False)
                for r in self.store.list(status=status, name=name, limit=limit)]

    def describe(self, row: dict[str, Any], with_tasks: bool = True) -> dict[str, Any]:
        info = dict(row)
        for k in ("args", "checkpoint", "result"):
            info[k] = codec.loads(info.get(k))
        if info.get("error"):
            info["error"], _, info["traceback"] = info["error"].partition("\n--\n")
        info["resumable"] = self._resumable(row)
        if with_tasks:
            info["tasks"] = self.store.task_counts(row["id"])
        return info

    @staticmethod
    def _resumable(row: dict[str, Any]) -> bool:
        return row["status"] in ("queued", "paused") or (
            row["status"] == "running" and not owner_alive(row["owner"]))

    def find_unfinished(self, name: str, match_args: dict[str, Any] | None = None) -> Job | None:
        """The oldest job `name` that is queued, paused or orphaned and whose args contain
        `match_args` (compared as JSON), or None."""
        want = codec.loads(codec.dumps(match_args or {}, what="match_args"))
        for row in self.store.unfinished(name):
            if not self._resumable(row):
                continue
            args = codec.loads(row["args"]) or {}
            if all(k in args and args[k] == v for k, v in want.items()):
                return Job(self, row["id"])
        return None

    def find_failed(self, name: str, match_args: dict[str, Any],
                    because: tuple[type[BaseException], ...]) -> Job | None:
        """The newest job `name` whose args contain `match_args`, if it failed with one of the
        errors `because` — faults of its surroundings (a full disk, a read-only folder), after
        which its work and checkpoint are intact: it should resume (`retry`), not start over."""
        want = codec.loads(codec.dumps(match_args, what="match_args"))
        kinds = {cls.__name__ for cls in because}
        for row in self.store.list(name=name):
            args = codec.loads(row["args"]) or {}
            if all(k in args and args[k] == v for k, v in want.items()):
                ok = row["status"] == "failed" and \
                    (row["error"] or "").split(":", 1)[0] in kinds
                return Job(self, row["id"]) if ok else None
        return None

    def retry(self, job_id: str) -> Job:
        """Run a failed job again here, from its last checkpoint."""
        row = self.store.get(job_id)
        if row is None or not self.store.reopen(job_id):
            raise JobError(f"job {job_id} has not failed; only a failed job can be retried")
        self._status_event(job_id, row["name"], "queued", row.get("extension_id"))
        self._start(job_id)
        return Job(self, job_id)

    def resume_pending(self) -> list[Job]:
        """Restart every queued or orphaned job (not the paused ones: a person paused those)."""
        started = []
        for row in self.store.unfinished():
            if row["status"] == "paused" or not self._resumable(row):
                continue
            try:
                if self._start(row["id"]):
                    started.append(Job(self, row["id"]))
            except JobError as exc:
                log.warning("cannot resume job %s (%s): %s", row["id"], row["name"], exc)
        return started

    def prune(self, older_than_days: float = 30.0,
              statuses: tuple[str, ...] = ("completed", "cancelled", "failed")) -> int:
        """Forget jobs that ended more than `older_than_days` ago, with their task rows."""
        bad = [s for s in statuses if s not in TERMINAL]
        if bad:
            raise JobError(f"only ended jobs can be pruned, not {bad}; ended: {TERMINAL}")
        if older_than_days < 0:
            raise JobError(f"older_than_days must be >= 0, got {older_than_days}")
        cutoff = (utc_now() - datetime.timedelta(days=older_than_days)).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ")
        return self.store.prune(cutoff, tuple(statuses))

    def running_here(self) -> list[str]:
        with self._lock:
            return list(self._running)

    # ---- shutdown ------------------------------------------------------------------------
    def close(self, timeout: float = 10.0) -> None:
        """Stop this process's jobs at their next safe point (they stay resumable), then close."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads = dict(self._threads)
            for flags in self._running.values():
                if flags.request is None:
                    flags.request = "suspend"
        if self._unsubscribe:
            self._unsubscribe()
        stop_schedules = getattr(self, "_schedule_stop", None)   # core.jobs.autostart
        if stop_schedules is not None:
            stop_schedules.set()
        deadline = time.monotonic() + timeout
        for thread in threads.values():
            thread.join(max(0.0, deadline - time.monotonic()))
        release_owner(self.owner)
        self.task_pool.close()
        self.store.close()

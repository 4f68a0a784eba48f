"""Job: a handle on one job in jobs.db, made by `lib.jobs` (JobManager).

A handle only knows the job's id, so one made in one process can wait for, pause or cancel a
job another process runs; everything else is read from jobs.db when asked.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from . import codec
from .errors import JobCancelled, JobError, JobFailed
from .owner import owner_alive
from .store import TERMINAL

if TYPE_CHECKING:  # pragma: no cover
    from .manager import JobManager


class Job:
    """A handle on one job in jobs.db."""

    def __init__(self, manager: "JobManager", job_id: str):
        self._m = manager
        self.id = job_id

    def __repr__(self) -> str:
        return f"<Job {self.id[:8]} {self.status}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Job) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def _row(self) -> dict[str, Any]:
        row = self._m.store.get(self.id)
        if row is None:
            raise JobError(f"no job {self.id} in {self._m.store.path}")
        ended = self._m._ended.get(self.id)
        if ended is not None and row["status"] == "running" and row["owner"] == self._m.owner:
            row.update(ended)     # it ended here, but jobs.db could not record it
        return row

    @property
    def status(self) -> str:
        return self._row()["status"]

    @property
    def name(self) -> str:
        return self._row()["name"]

    def info(self) -> dict[str, Any]:
        """Everything jobs.db knows about the job, JSON fields decoded, plus task counts."""
        return self._m.describe(self._row())

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the job completes and return its result.

        Raises JobFailed (or JobCancelled) if it ended otherwise, TimeoutError after `timeout`
        seconds. A paused job is not finished: wait keeps waiting for someone to resume it.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            flags = self._m._running.get(self.id)
            row = self._row()
            if row["status"] in TERMINAL and flags is None:
                break
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(f"job {self.id} still {row['status']} after {timeout} s")
            step = 0.05 if remaining is None else min(0.05, remaining)
            if flags is not None:
                flags.done.wait(step)
            else:
                time.sleep(step)
        if row["status"] == "completed":
            return codec.loads(row["result"])
        if row["status"] == "cancelled":
            raise JobCancelled(self.id, row["error"])
        raise JobFailed(self.id, (row["error"] or "").split("\n--\n")[0], row["status"])

    def pause(self) -> "Job":
        self._m._control(self.id, "pause")
        return self

    def cancel(self) -> "Job":
        self._m._control(self.id, "cancel")
        return self

    def resume(self) -> "Job":
        """Run a paused, queued or orphaned job here, from its last checkpoint."""
        row = self._row()
        if row["status"] in TERMINAL:
            raise JobError(f"job {self.id} is {row['status']}; only a paused, queued or "
                           "interrupted job can be resumed")
        if row["status"] == "running" and owner_alive(row["owner"]):
            if row["control"] == "pause":   # paused but not yet stopped: withdraw the request
                self._m.store.request(self.id, None)
                flags = self._m._running.get(self.id)
                if flags is not None and flags.request == "pause" and not flags.observed:
                    flags.request = None
            return self
        self._m._start(self.id)
        return self

"""Exceptions of the jobs runtime, and the internal signals that stop a job at a safe point."""
from __future__ import annotations

from typing import Any

from core.errors import VdfsError


class JobError(VdfsError):
    """Misuse of the jobs API: unknown job name, bad arguments, wrong state for the request."""


class JobFailed(VdfsError):
    """`Job.wait()` on a job that ended in failure; `.error` holds the job's recorded error."""

    def __init__(self, job_id: str, error: str | None, status: str = "failed"):
        self.job_id, self.error, self.status = job_id, error, status
        super().__init__(f"job {job_id} {status}: {error or 'no error recorded'}")


class JobCancelled(JobFailed):
    """`Job.wait()` on a job that was cancelled."""

    def __init__(self, job_id: str, error: str | None = None):
        super().__init__(job_id, error or "cancelled by request", status="cancelled")


class TaskFailed(VdfsError):
    """A task failed on every attempt; the message names the task, its key and the last error."""

    def __init__(self, name: str, key: str, attempts: int, error: str):
        self.name, self.key, self.attempts, self.error = name, key, attempts, error
        super().__init__(f"task {name} [{key}] failed after {attempts} attempt(s): {error}")

    def __reduce__(self) -> tuple[Any, ...]:
        """Sent back whole from a worker process or a Dask worker."""
        return (type(self), (self.name, self.key, self.attempts, self.error))


class TaskTimeout(VdfsError):
    """One attempt of a task ran past its timeout_ms and was stopped (or abandoned)."""


class StopJob(BaseException):
    """Raised inside a job at a safe point to stop it for `reason` ('pause', 'cancel', 'suspend').

    A BaseException so that a job's own `except Exception` does not swallow it.
    """

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)

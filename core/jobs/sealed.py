"""What an extension's job and its tasks receive: facades over JobContext and TaskContext.

A core job (the indexer, core.*, a user's own @job) gets the JobContext itself, library and
all. A job registered by an extension gets an ExtensionJobContext: progress, checkpoints,
tasks, stop checks, its permission-checked host API (`ctx.vdfs()`), AI models and trail — and
no path to the library, its connections or the jobs manager (core.access.facade).
"""
from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Callable, Iterable, TypeVar

from core.store.facade import Backing, Facade, passthrough
from core.access.facade import ExtensionServices, extension_of
from .executor import TaskContext

if TYPE_CHECKING:  # pragma: no cover
    from core.devices import Device, DeviceQuery
    from core.extensions.context import ExtensionContext
    from core.extensions.host import ScopedVdfsApi
    from core.host import VdfsApi
    from .context import JobContext
    from .placed import Placement
    from .handle import Job


T = TypeVar("T")

_jobs: Backing["JobContext"] = Backing("job context")
_tasks: Backing[TaskContext] = Backing("task context")
_handles: Backing["Job"] = Backing("job handle")


class ExtensionJobContext(ExtensionServices):
    """Given to a job of an extension in place of its JobContext."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<ExtensionJobContext {self.name} {self.job_id[:8]}>"

    job_id = passthrough(_jobs, "job_id")
    name = passthrough(_jobs, "name")
    extension_id = passthrough(_jobs, "extension_id")
    args = passthrough(_jobs, "args")
    state = passthrough(_jobs, "state", "The last checkpoint (None on a first run).")
    parallelism = passthrough(_jobs, "parallelism")
    tasks_run = passthrough(_jobs, "tasks_run")
    tasks_replayed = passthrough(_jobs, "tasks_replayed")

    def is_cancelled(self) -> bool:
        return _jobs(self).is_cancelled()

    def progress(self, done: int, total: int | None = None, message: str | None = None,
                 phase: str | None = None) -> None:
        _jobs(self).progress(done, total, message, phase)

    def checkpoint(self, state: dict[str, Any]) -> None:
        _jobs(self).checkpoint(state)

    def run(self, task_fn: Callable[..., Any], *args: Any, key: str | None = None,
            **kwargs: Any) -> Any:
        return _jobs(self).run(task_fn, *args, key=key, **kwargs)

    def submit(self, task_fn: Callable[..., Any], *args: Any, key: str | None = None,
               **kwargs: Any) -> Future:
        return _jobs(self).submit(task_fn, *args, key=key, **kwargs)

    def map(self, task_fn: Callable[..., Any], items: Iterable[Any], *,
            keys: Iterable[str] | None = None, device: "Placement" = None) -> list[Any]:
        return _jobs(self).map(task_fn, items, keys=keys, device=device)

    def select_device(self) -> "DeviceQuery":
        """Choose a device by capability or by who has a file's bytes."""
        return _jobs(self).select_device()

    def execute_on(self, device: "Device | DeviceQuery", task_fn: Callable[..., T], *args: Any,
                   key: str | None = None) -> T:
        return _jobs(self).execute_on(device, task_fn, *args, key=key)

    def vdfs(self) -> VdfsApi | ScopedVdfsApi:
        """The extension's permission-checked host API."""
        return _jobs(self).vdfs()

    def extension(self) -> ExtensionContext:
        """The extension's ExtensionContext (config, memory, prompts, …)."""
        return extension_of(_jobs(self))


class ExtensionTaskContext(ExtensionServices):
    """Given to a task of an extension's job when its first parameter is `ctx`. A copy sent to
    a worker process (isolation="process") keeps its ids and stop flag, not the library."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<ExtensionTaskContext {self.key} attempt {self.attempt}>"

    job_id = passthrough(_tasks, "job_id")
    key = passthrough(_tasks, "key")
    attempt = passthrough(_tasks, "attempt")
    extension_id = passthrough(_tasks, "extension_id")

    @property
    def _cancelled(self) -> threading.Event:
        """Set by the task runner when this attempt timed out."""
        return _tasks(self)._cancelled

    def is_cancelled(self) -> bool:
        return _tasks(self).is_cancelled()

    def vdfs(self) -> VdfsApi | ScopedVdfsApi:
        return _tasks(self).vdfs()

    def extension(self) -> ExtensionContext:
        inner = _tasks(self)
        if inner.lib is None:
            inner.vdfs()   # raises: a process-isolated task has no library handle
        return extension_of(inner)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuilt_task, (_tasks(self).__getstate__(),))


def _rebuilt_task(state: dict[str, Any]) -> ExtensionTaskContext:
    inner = TaskContext.__new__(TaskContext)
    inner.__setstate__(state)
    return sealed_task(inner)


class ExtensionJob(Facade):
    """The handle an extension gets for a job it dispatched: wait for it, follow or stop it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<ExtensionJob {self.id[:8]}>"

    id = passthrough(_handles, "id")
    name = passthrough(_handles, "name")
    status = passthrough(_handles, "status")

    def info(self) -> dict[str, Any]:
        return _handles(self).info()

    def wait(self, timeout: float | None = None) -> Any:
        return _handles(self).wait(timeout)

    def pause(self) -> "ExtensionJob":
        _handles(self).pause()
        return self

    def cancel(self) -> "ExtensionJob":
        _handles(self).cancel()
        return self

    def resume(self) -> "ExtensionJob":
        _handles(self).resume()
        return self


def sealed_job(ctx: "JobContext") -> ExtensionJobContext:
    return _jobs.bind(ExtensionJobContext(), ctx)


def sealed_task(ctx: TaskContext) -> ExtensionTaskContext:
    return _tasks.bind(ExtensionTaskContext(), ctx)


def sealed_handle(job: "Job") -> ExtensionJob:
    return _handles.bind(ExtensionJob(), job)

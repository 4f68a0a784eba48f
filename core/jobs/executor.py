"""Running one task: attempts, exponential backoff, and timeouts.

Timeouts. A Python thread cannot be killed, so how a timed-out attempt is stopped depends on
where it runs:
- async tasks run under `asyncio.wait_for`, which really cancels the coroutine;
- sync tasks with isolation="thread" run on a reusable runner thread (core/jobs/threads.py)
  that is *abandoned* on timeout: the job goes on at once, the attempt counts as a failure, and the task's
  TaskContext.is_cancelled() turns true so a cooperative task stops soon. A task that ignores it
  keeps its thread until it returns, and whatever it returns is thrown away;
- isolation="process" runs the attempt in a worker process that is SIGKILLed on timeout: the
  only way to *stop* arbitrary code (a C extension spinning, a hung syscall). It costs a process
  hop per attempt and needs picklable, module-level functions and arguments.
Threads are the default because most tasks are I/O-bound, touch the library's connections, and
are cheap to start; choose "process" for CPU-bound or untrusted-to-terminate work.
"""
from __future__ import annotations

import asyncio
import inspect
import random
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from .errors import JobError, StopJob, TaskFailed, TaskTimeout
from .registry import TaskSpec
from .threads import timed_runner

if TYPE_CHECKING:  # pragma: no cover
    from core.extensions.host import ScopedVdfsApi
    from core.host import VdfsApi
    from core.library import Library

_CTX_NAMES = ("ctx", "task_ctx", "tctx")


@dataclass
class TaskContext:
    """What a task sees when its first parameter is named `ctx` (or annotated TaskContext)."""
    job_id: str
    key: str
    attempt: int
    lib: Library = None
    extension_id: str | None = None
    _cancelled: threading.Event = field(default_factory=threading.Event, repr=False)
    _job_cancelled: Callable[[], bool] | None = field(default=None, repr=False)

    def is_cancelled(self) -> bool:
        """True once this attempt timed out or its job was asked to stop."""
        if self._cancelled.is_set():
            return True
        return bool(self._job_cancelled and self._job_cancelled())

    def vdfs(self) -> VdfsApi | ScopedVdfsApi:
        if self.lib is None:
            raise JobError("a process-isolated task has no library handle: pass it what "
                           "it needs as arguments")
        return host_api(self.lib, self.extension_id)

    def __getstate__(self) -> dict[str, Any]:
        """Sent to a worker process: without the library, the job callback and the lock."""
        return {"job_id": self.job_id, "key": self.key, "attempt": self.attempt,
                "extension_id": self.extension_id, "cancelled": self._cancelled.is_set()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.job_id, self.key, self.attempt = state["job_id"], state["key"], state["attempt"]
        self.extension_id = state["extension_id"]
        self.lib, self._job_cancelled = None, None
        self._cancelled = threading.Event()
        if state["cancelled"]:
            self._cancelled.set()


def host_api(lib: Library, extension_id: str | None) -> VdfsApi | ScopedVdfsApi:
    """The host API a job, task or action runs with: an extension's is checked against its
    grants (lib.extensions loads it, and refuses one that is not installed)."""
    if extension_id:
        return lib.extensions.host_for(extension_id)
    return lib.vdfs()


_wants_ctx_cache: dict[Any, bool] = {}


def wants_ctx(fn: Callable[..., Any]) -> bool:
    try:
        return _wants_ctx_cache[fn]
    except (KeyError, TypeError):
        pass
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    ok = bool(params) and (params[0].name in _CTX_NAMES or "TaskContext" in str(params[0].annotation))
    try:
        _wants_ctx_cache[fn] = ok
    except TypeError:
        pass
    return ok


def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
          timeout: float | None) -> Any:
    if inspect.iscoroutinefunction(fn):
        async def runner() -> Any:
            return await asyncio.wait_for(fn(*args, **kwargs), timeout)
        try:
            return asyncio.run(runner())
        except asyncio.TimeoutError as exc:
            raise TaskTimeout(f"timed out after {timeout * 1000:.0f} ms (cancelled)") from exc
    return fn(*args, **kwargs)


def attempt_once(spec: TaskSpec, fn: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any], tctx: TaskContext | None) -> Any:
    """Run one attempt in the calling thread, or under a timeout as the module doc says."""
    call_args = (tctx, *args) if tctx is not None else args
    timeout = spec.timeout_ms / 1000 if spec.timeout_ms else None
    if spec.isolation == "process":
        from .procpool import run_in_process
        return run_in_process(fn, call_args, kwargs, timeout)
    if timeout is None or inspect.iscoroutinefunction(fn):
        return _call(fn, call_args, kwargs, timeout)
    finished, result = timed_runner.call(fn, call_args, kwargs, timeout)
    if not finished:
        if tctx is not None:
            tctx._cancelled.set()
        raise TaskTimeout(f"timed out after {spec.timeout_ms} ms (attempt abandoned)")
    return result


def run_with_retries(spec: TaskSpec, fn: Callable[..., Any], args: tuple[Any, ...],
                     kwargs: dict[str, Any], *, key: str, make_ctx: Callable[[int], Any],
                     check_stop: Callable[[], None]) -> tuple[Any, int]:
    """Run up to 1 + retries attempts; return (result, attempts) or raise TaskFailed.

    Backoff between attempts: backoff_ms · 2^(n-1), ±25 % jitter, capped at 5 s.
    """
    attempts = spec.retries + 1
    last: BaseException | None = None
    for n in range(1, attempts + 1):
        try:
            return attempt_once(spec, fn, args, kwargs, make_ctx(n)), n
        except StopJob:
            raise
        except Exception as exc:  # every failure of an attempt is retried
            last = exc
        if n < attempts:
            delay = min(5.0, spec.backoff_ms / 1000 * 2 ** (n - 1)) * random.uniform(0.75, 1.25)
            time.sleep(delay)
            check_stop()
    assert last is not None
    raise TaskFailed(spec.name, key, attempts, f"{type(last).__name__}: {last}") from last

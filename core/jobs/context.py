"""JobContext: what a running job sees — its args, last checkpoint, progress, tasks, stop checks.

Durability rule: a task is keyed deterministically (its name, a digest of its arguments and how
many times the job already called it with them, or an explicit key=), and its result is stored
in the tasks table when it completes. A resumed job re-runs its function from the top; every
`ctx.run` of a completed key returns the stored result without running the task again.
"""
from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Callable, Iterable, TypeVar

from core.store.events import Event
from . import codec
from .errors import JobError, StopJob, TaskFailed
from .executor import TaskContext, host_api, run_with_retries, wants_ctx
from .registry import JobSpec, all_job_specs, task_spec
from .sealed import sealed_job, sealed_task
from .placed import device_query, run_placed

if TYPE_CHECKING:  # pragma: no cover
    from core.devices import Device, DeviceQuery
    from core.extensions.host import ScopedVdfsApi
    from core.host import VdfsApi
    from .manager import JobManager
    from .placed import Placement
    from .sealed import ExtensionJobContext, ExtensionTaskContext

T = TypeVar("T")

PROGRESS_INTERVAL = 0.1   # seconds between stored progress updates (the last one always lands)
CONTROL_POLL = 0.05       # seconds between reads of another process's pause/cancel request


class RunFlags:
    """Stop requests for one running job, set in-process without touching jobs.db."""

    def __init__(self) -> None:
        self.request: str | None = None      # 'pause' | 'cancel' | 'suspend'
        self.observed = False                # the job saw the request (so it may have cut short)
        self.done = threading.Event()


class JobContext:
    def __init__(self, manager: "JobManager", spec: JobSpec, row: dict[str, Any], owner: str,
                 flags: RunFlags):
        self._m = manager
        self._spec = spec
        self._owner = owner
        self._flags = flags
        self.job_id: str = row["id"]
        self.name: str = row["name"]
        # whose job it is comes from the registry, not from what the submitter wrote
        self.extension_id: str | None = job_owner(spec) or row.get("extension_id") or None
        self.lib = manager.lib
        self.args: dict[str, Any] = codec.loads(row["args"]) or {}
        self.state: dict[str, Any] | None = codec.loads(row.get("checkpoint"))
        self.parallelism: int = int(row.get("parallelism") or spec.parallelism)
        # A first run has no stored tasks to replay; a resumed run looks each key up (indexed),
        # so a job with millions of tasks never holds their results in memory.
        self._resumed = int(row.get("attempts") or 1) > 1
        self._occurrences: dict[str, int] = {}
        self._key_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.parallelism)   # tasks at once
        self._async_slots: asyncio.Semaphore | None = None
        self._last_poll = 0.0
        self._last_progress = 0.0
        self._pending_progress: tuple[int, int | None, str | None, str | None] | None = None
        self._phase: str | None = row.get("phase")
        self.tasks_run = 0       # tasks executed in this run (not replayed)
        self.tasks_replayed = 0  # tasks whose stored result was returned

    # ---- stop requests -------------------------------------------------------------------
    def _poll_control(self, force: bool = False) -> str | None:
        if self._flags.request:
            return self._flags.request
        now = time.monotonic()
        if force or now - self._last_poll >= CONTROL_POLL:
            self._last_poll = now
            req = self._m.store.control(self.job_id)
            if req and not self._flags.request:
                self._flags.request = req
        return self._flags.request

    def is_cancelled(self) -> bool:
        """True when the job was asked to stop (cancel, pause, or the library is closing).

        A job that sees True should return (or raise) soon; it will be marked cancelled or
        paused — not completed — and a paused job resumes from its last checkpoint.
        """
        if self._poll_control():
            self._flags.observed = True
            return True
        return False

    def _check_stop(self) -> None:
        req = self._poll_control()
        if req:
            self._flags.observed = True
            raise StopJob(req)

    # ---- progress and checkpoints --------------------------------------------------------
    def progress(self, done: int, total: int | None = None, message: str | None = None,
                 phase: str | None = None) -> None:
        """Report progress; stored and published at most every 0.1 s (and on phase change)."""
        self._pending_progress = (int(done), total, message, phase)
        now = time.monotonic()
        changed = phase is not None and phase != self._phase
        if changed or now - self._last_progress >= PROGRESS_INTERVAL or (
                total is not None and done >= total):
            self._flush_progress()

    def _flush_progress(self) -> None:
        if self._pending_progress is None:
            return
        done, total, message, phase = self._pending_progress
        self._pending_progress = None
        self._last_progress = time.monotonic()
        if phase is not None:
            self._phase = phase
        req = self._m.store.progress(self.job_id, self._owner, done, total, message, phase)
        if req and not self._flags.request:
            self._flags.request = req
        self._m.publish(Event("job.progress", {
            "job_id": self.job_id, "name": self.name, "extension_id": self.extension_id,
            "done": done, "total": total, "message": message, "phase": self._phase}))

    def checkpoint(self, state: dict[str, Any]) -> None:
        """Save `state` durably; a resumed run starts with `ctx.state` equal to it.

        A checkpoint is also a safe point: a pending pause or cancel stops the job here.
        """
        text = codec.dumps(state, what="checkpoint state")
        self._flush_progress()
        req = self._m.store.checkpoint(self.job_id, self._owner, text)
        self.state = codec.loads(text)
        if req and not self._flags.request:
            self._flags.request = req
        self._check_stop()

    # ---- tasks ---------------------------------------------------------------------------
    def _key(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
             key: str | None) -> str:
        name = task_spec(fn).name
        base = f"{name}:{key}" if key is not None else f"{name}:{codec.args_digest(args, kwargs)}"
        with self._key_lock:
            n = self._occurrences.get(base, 0)
            self._occurrences[base] = n + 1
        return base if (key is not None and n == 0) else f"{base}#{n}"

    def _execute(self, key: str, fn: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> Any:
        if self._resumed:
            found, text = self._m.store.completed_task(self.job_id, key)
            if found:
                self.tasks_replayed += 1
                return codec.load_result(text)
        self._check_stop()
        spec = task_spec(fn)
        if self._spec.executor == "process" and spec.isolation == "thread":
            spec = dataclasses.replace(spec, isolation="process")
        takes_ctx = wants_ctx(fn)

        flags = self._flags

        def make_ctx(attempt: int) -> TaskContext | ExtensionTaskContext | None:
            if not takes_ctx:
                return None
            tctx = TaskContext(self.job_id, key, attempt, self.lib, self.extension_id,
                               _job_cancelled=lambda: bool(flags.request))
            return sealed_task(tctx) if self.extension_id else tctx

        store = self._m.store
        try:
            result, attempts = run_with_retries(spec, fn, args, kwargs, key=key,
                                                make_ctx=make_ctx, check_stop=self._check_stop)
        except TaskFailed as exc:
            store.record_task(self.job_id, key, spec.name, "failed", exc.attempts, error=exc.error)
            raise
        text = codec.dump_result(result)
        store.record_task(self.job_id, key, spec.name, "completed", attempts, result=text)
        self.tasks_run += 1
        return result

    def run(self, task_fn: Callable[..., Any], *args: Any, key: str | None = None,
            **kwargs: Any) -> Any:
        """Run a task (retries, timeout, durability) and return its result.

        In an async job this returns an awaitable, so `await asyncio.gather(ctx.run(t, a),
        ctx.run(t, b))` overlaps up to `parallelism` tasks.
        """
        k = self._key(task_fn, args, kwargs, key)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            return self._arun(loop, k, task_fn, args, kwargs)
        return self._execute(k, task_fn, args, kwargs)

    async def _arun(self, loop: asyncio.AbstractEventLoop, key: str, fn: Callable[..., Any],
                    args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self._async_slots is None:
            self._async_slots = asyncio.Semaphore(self.parallelism)
        async with self._async_slots:
            return await loop.run_in_executor(self._m.task_pool.executor(), self._execute,
                                              key, fn, args, kwargs)

    def submit(self, task_fn: Callable[..., Any], *args: Any, key: str | None = None,
               **kwargs: Any) -> Future:
        """Start a task on the library's task threads once fewer than `parallelism` of this
        job's tasks are running (blocks until then); returns a Future."""
        k = self._key(task_fn, args, kwargs, key)
        return self._m.task_pool.submit(self._slots, self._execute, k, task_fn, args, kwargs)

    def map(self, task_fn: Callable[..., Any], items: Iterable[Any], *,
            keys: Iterable[str] | None = None, device: "Placement" = None) -> list[Any]:
        """`task_fn(item)` for every item, up to `parallelism` at once; results in item order.

        The first failure cancels the tasks not yet started and is raised after the running
        ones end. `device` places the tasks (core/jobs/placed.py): a Device, a
        `select_device()` query, or a function of the item returning either.
        """
        items = list(items)
        key_list = list(keys) if keys is not None else [None] * len(items)
        if len(key_list) != len(items):
            raise ValueError(f"map: {len(key_list)} keys for {len(items)} items")
        if device is not None:
            from .placed import run_placed
            return run_placed(self, task_fn, [(item,) for item in items], device, key_list,
                              lambda: self.map(task_fn, items, keys=key_list))
        futures = [self.submit(task_fn, item, key=k) for item, k in zip(items, key_list)]
        results, first_error = [], None
        for fut in futures:
            if first_error is not None:
                fut.cancel()
                continue
            try:
                results.append(fut.result())
            except BaseException as exc:
                first_error = exc
        if first_error is not None:
            for fut in futures:
                if not fut.cancelled():
                    try:
                        fut.result()
                    except BaseException:
                        pass
            raise first_error
        return results

    def select_device(self) -> "DeviceQuery":
        """A DeviceQuery over the devices online now: `.with_capability("gpu")`,
        `.prefer_local()`, `.owner_of(entry)`, then `.select()`."""
        return device_query(self)

    def execute_on(self, device: "Device | DeviceQuery", task_fn: Callable[..., T], *args: Any,
                   key: str | None = None) -> T:
        """Run a task on `device` (a Device or a select_device() query) and return its
        result, with the durability of `ctx.run`."""
        return run_placed(self, task_fn, [args], device, [key],
                          lambda: [self.run(task_fn, *args, key=key)])[0]

    def vdfs(self) -> VdfsApi | ScopedVdfsApi:
        """The host API (lib.vdfs()); an extension's job gets its permission-checked view."""
        return host_api(self.lib, self.extension_id)

    def for_code(self) -> JobContext | ExtensionJobContext:
        """What the job's function receives: this context for a core job, the sealed
        ExtensionJobContext for a job of an extension."""
        return sealed_job(self) if self.extension_id else self

    def close(self) -> None:
        self._flush_progress()


def job_owner(spec: JobSpec) -> str | None:
    """The extension a job belongs to, as registered. An extension's job function is also
    registered under its bare @job name; that registration has the same owner."""
    if spec.extension_id:
        return spec.extension_id
    owners = {s.extension_id for s in all_job_specs() if s.fn is spec.fn and s.extension_id}
    if len(owners) > 1:
        raise JobError(f"job {spec.name} is registered by several extensions: {sorted(owners)}")
    return owners.pop() if owners else None

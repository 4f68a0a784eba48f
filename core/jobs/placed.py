"""Tasks placed on devices: `ctx.select_device()`, `ctx.execute_on()`, `ctx.map(..., device=)`.

With the Local executor a placed task runs exactly like `ctx.run` / `ctx.map` (after checking
this device qualifies). With a remote executor (Dask) each task is sent to a worker that meets
its requirements, and the coordinator keeps the durability rule of core/jobs: a task's result
is recorded in jobs.db the moment it arrives, under the same deterministic key `ctx.run`
would use, so a job resumed after the coordinator died replays finished tasks from jobs.db
and sends only the others. A worker holds no library: a task that takes `ctx` gets a
TaskContext without one, as with isolation="process".
"""
from __future__ import annotations

import functools
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING, Any, Callable, Sequence

from core.devices import Device, DeviceQuery, executor_for
from core.devices.capabilities import device_resource
from core.devices.selection import no_device
from . import codec
from .errors import TaskFailed
from .executor import TaskContext, run_with_retries, wants_ctx
from .registry import TaskSpec, task_spec
from .sealed import ExtensionTaskContext, sealed_task

if TYPE_CHECKING:  # pragma: no cover
    from .context import JobContext

Where = Device | DeviceQuery | None
# where a placed map puts its tasks: one Where for all, or a function of a task's arguments
Placement = Where | Callable[..., Where]


def device_query(ctx: "JobContext") -> DeviceQuery:
    executor = executor_for(ctx.lib)
    return DeviceQuery(executor.devices, ctx.lib.device_uuid, lambda: ctx.lib.conn)


def requirements(where: Where) -> dict[str, float]:
    if where is None:
        return {}
    if isinstance(where, Device):
        return {device_resource(where.uuid): 1}
    if isinstance(where, DeviceQuery):
        return where.requirements
    raise TypeError(f"a task's device is a Device, a select_device() query or None, "
                    f"not {type(where).__name__}")


def describe(where: Where) -> str:
    if isinstance(where, Device):
        return f"the device {where.name!r} online"
    return where.describe() if isinstance(where, DeviceQuery) else "a worker"


def remote_attempts(spec: TaskSpec, fn: Callable[..., Any], args: tuple[Any, ...],
                    key: str, job_id: str, extension_id: str | None,
                    takes_ctx: bool) -> tuple[Any, int]:
    """Run on a worker: the task's attempts, retries and timeouts, as on the coordinator."""
    def make_ctx(attempt: int) -> TaskContext | ExtensionTaskContext | None:
        if not takes_ctx:
            return None
        tctx = TaskContext(job_id, key, attempt, None, extension_id)
        return sealed_task(tctx) if extension_id else tctx
    try:
        return run_with_retries(spec, fn, args, {}, key=key, make_ctx=make_ctx,
                                check_stop=lambda: None)
    except TaskFailed as exc:
        failure = TaskFailed(exc.name, exc.key, exc.attempts, exc.error)
    # raised without its chain (outside the handler): a cause's own context may not pickle —
    # a WASM error's holds wasmtime's ctypes pointers — and Dask would then send back a bare
    # Exception, which the coordinator could not record as this task's failure
    raise failure


def run_placed(ctx: "JobContext", fn: Callable[..., Any], calls: Sequence[tuple[Any, ...]],
               where: Placement, keys: Sequence[str | None],
               local: Callable[[], list[Any]]) -> list[Any]:
    """`fn(*args)` for every args tuple, each on the device `where` names (or returns for
    those args); results in order. `local` runs them all when the executor is Local."""
    executor = executor_for(ctx.lib)
    choose = where if callable(where) and not isinstance(where, (Device, DeviceQuery)) \
        else (lambda *_args: where)
    wheres = [choose(*args) for args in calls]
    reqs = [requirements(w) for w in wheres]
    online = executor.devices()
    for w, r in zip(wheres, reqs):
        if not any(d.satisfies(r) for d in online):
            raise no_device(describe(w), online)
    if not executor.remote:
        return local()
    store, spec = ctx._m.store, task_spec(fn)
    takes_ctx = wants_ctx(fn)
    results: list[Any] = [None] * len(calls)
    running: dict[Future, tuple[int, str]] = {}
    try:
        for i, (args, k) in enumerate(zip(calls, keys)):
            key = ctx._key(fn, args, {}, k)
            if ctx._resumed:
                found, text = store.completed_task(ctx.job_id, key)
                if found:
                    results[i] = codec.load_result(text)
                    ctx.tasks_replayed += 1
                    continue
            call = functools.partial(remote_attempts, spec, fn, args, key, ctx.job_id,
                                     ctx.extension_id, takes_ctx)
            running[executor.submit(call, reqs[i])] = (i, key)
        while running:
            ctx._check_stop()
            done, _ = wait(list(running), timeout=0.2, return_when=FIRST_COMPLETED)
            for fut in done:
                i, key = running.pop(fut)
                try:
                    value, attempts = fut.result()
                except TaskFailed as exc:
                    store.record_task(ctx.job_id, key, spec.name, "failed", exc.attempts,
                                      error=exc.error)
                    raise
                store.record_task(ctx.job_id, key, spec.name, "completed", attempts,
                                  result=codec.dump_result(value))
                results[i] = value
                ctx.tasks_run += 1
    finally:
        for fut in running:
            fut.cancel()
    return results

"""The `@job` and `@task` decorators and the process-wide registry of job definitions.

A job is registered under a name ("core.index", "com.example.photos.analyze_photos"); jobs.db
stores the name and the function's "module:qualname", so a process that resumes a job it never
registered imports that module, whose decorators register it again.
"""
from __future__ import annotations

import asyncio
import importlib
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import JobError

TRIGGERS = ("user_initiated", "on_event", "on_schedule", "on_startup", "on_location_added")
EVENT_KINDS = ("entry.created", "entry.modified", "entry.deleted", "index.finished")
ISOLATIONS = ("thread", "process")


@dataclass(frozen=True)
class TaskSpec:
    """How a task runs: attempts = 1 + retries, each stopped after timeout_ms (None: no limit)."""
    name: str
    retries: int = 0
    timeout_ms: int | None = None
    backoff_ms: int = 50
    isolation: str = "thread"

    def __post_init__(self) -> None:
        if not isinstance(self.retries, int) or self.retries < 0:
            raise ValueError(f"task {self.name}: retries must be an int >= 0, got {self.retries!r}")
        if self.timeout_ms is not None and (not isinstance(self.timeout_ms, int)
                                            or self.timeout_ms <= 0):
            raise ValueError(f"task {self.name}: timeout_ms must be a positive int or None, "
                             f"got {self.timeout_ms!r}")
        if self.isolation not in ISOLATIONS:
            raise ValueError(f"task {self.name}: isolation must be one of {ISOLATIONS}, "
                             f"got {self.isolation!r}")


@dataclass(frozen=True)
class JobSpec:
    name: str
    fn: Callable[..., Any]
    extension_id: str | None = None
    parallelism: int = 1
    trigger: str = "user_initiated"
    events: tuple[str, ...] = ()
    executor: str = "thread"           # "process": ctx.map runs tasks in worker processes
    schedule: str | None = None        # trigger="on_schedule": a cron expression (UTC)
    entrypoint: str | None = None
    is_async: bool = field(default=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"job name must be a non-empty string, got {self.name!r}")
        if not callable(self.fn):
            raise TypeError(f"job {self.name}: fn must be callable")
        if not isinstance(self.parallelism, int) or self.parallelism < 1:
            raise ValueError(f"job {self.name}: parallelism must be an int >= 1, "
                             f"got {self.parallelism!r}")
        if self.trigger not in TRIGGERS:
            raise ValueError(f"job {self.name}: trigger must be one of {TRIGGERS}, "
                             f"got {self.trigger!r}")
        bad = [k for k in self.events if k not in EVENT_KINDS]
        if bad:
            raise ValueError(f"job {self.name}: unknown event kind(s) {bad}; known: {EVENT_KINDS}")
        if self.trigger == "on_event" and not self.events:
            raise ValueError(f"job {self.name}: trigger='on_event' needs events=[...] "
                             f"(any of {EVENT_KINDS})")
        if (self.trigger == "on_schedule") != (self.schedule is not None):
            raise ValueError(f"job {self.name}: schedule=... goes with trigger='on_schedule' "
                             "and only with it (a cron expression like '0 3 * * *')")
        if self.schedule is not None:
            from .cron import Cron
            Cron(self.schedule)
        if self.executor not in ISOLATIONS:
            raise ValueError(f"job {self.name}: executor must be one of {ISOLATIONS}, "
                             f"got {self.executor!r}")


_lock = threading.Lock()
_jobs: dict[str, JobSpec] = {}
_on_event_hooks: list[Callable[[], None]] = []   # told when the first on_event job appears


def when_on_event_jobs(hook: Callable[[], None]) -> Callable[[], None]:
    """Call `hook` now if an on_event job is registered, else once one is; returns a remover."""
    with _lock:
        present = any(s.trigger == "on_event" for s in _jobs.values())
        if not present:
            _on_event_hooks.append(hook)
    if present:
        hook()

    def remove() -> None:
        with _lock:
            if hook in _on_event_hooks:
                _on_event_hooks.remove(hook)
    return remove


def _entrypoint(fn: Callable[..., Any]) -> str | None:
    module = getattr(fn, "__module__", None)
    qual = getattr(fn, "__qualname__", None)
    if not module or not qual or "<locals>" in qual:
        return None
    return f"{module}:{qual}"


def register_job(name: str, fn: Callable[..., Any], *, extension_id: str | None = None,
                 parallelism: int = 1, trigger: str = "user_initiated",
                 events: list[str] | tuple[str, ...] | None = None,
                 executor: str = "thread", schedule: str | None = None) -> JobSpec:
    """Register `fn(ctx, **args)` as job `name`; registering the same name again replaces it."""
    target = getattr(fn, "__wrapped_job__", fn)
    spec = JobSpec(name=name, fn=target, extension_id=extension_id, parallelism=parallelism,
                   trigger=trigger, events=tuple(events or ()), executor=executor,
                   schedule=schedule, entrypoint=_entrypoint(target),
                   is_async=asyncio.iscoroutinefunction(target))
    with _lock:
        _jobs[name] = spec
        hooks = list(_on_event_hooks) if trigger == "on_event" else []
        if hooks:
            _on_event_hooks.clear()
    for hook in hooks:
        hook()
    return spec


def unregister_job(name: str) -> bool:
    """Forget job `name` (its rows in jobs.db stay); True if it was registered."""
    with _lock:
        return _jobs.pop(name, None) is not None


def job(name: str | None = None, *, parallelism: int = 1, trigger: str = "user_initiated",
        events: list[str] | None = None, extension_id: str | None = None,
        executor: str = "thread", schedule: str | None = None
        ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: `@job(parallelism=4, trigger="user_initiated")` on a sync or async function.

    Triggers: "user_initiated" (submitted by someone), "on_event" (with events=[...]),
    "on_schedule" (with schedule="0 3 * * *": cron, UTC; one missed while the library was
    closed runs once when it opens), "on_startup" (each time the library opens) and
    "on_location_added" (called with location=<the new folder>).

    The name defaults to "<module>.<function name>". The function is returned unchanged, with
    `__vdfs_job__` set to its JobSpec, so it can be passed to `lib.jobs.submit` directly.
    """
    if callable(name):  # bare @job
        fn, name = name, None
        return job()(fn)

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        spec = register_job(name or f"{fn.__module__}.{fn.__name__}", fn,
                            extension_id=extension_id, parallelism=parallelism,
                            trigger=trigger, events=events, executor=executor,
                            schedule=schedule)
        fn.__vdfs_job__ = spec  # type: ignore[attr-defined]
        return fn
    return deco


def task(name: str | None = None, *, retries: int = 0, timeout_ms: int | None = None,
         backoff_ms: int = 50, isolation: str = "thread"
         ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: `@task(retries=3, timeout_ms=30000)` on a sync or async function.

    isolation="thread" (default) runs a timed attempt in its own thread and abandons it on
    timeout; isolation="process" runs it in a worker process that is killed on timeout.
    """
    if callable(name):  # bare @task
        fn, name = name, None
        return task()(fn)

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.__vdfs_task__ = TaskSpec(  # type: ignore[attr-defined]
            name=name or f"{fn.__module__}.{fn.__qualname__}", retries=retries,
            timeout_ms=timeout_ms, backoff_ms=backoff_ms, isolation=isolation)
        return fn
    return deco


def task_spec(fn: Callable[..., Any]) -> TaskSpec:
    spec = getattr(fn, "__vdfs_task__", None)
    if spec is None:
        spec = TaskSpec(name=f"{getattr(fn, '__module__', '?')}."
                             f"{getattr(fn, '__qualname__', repr(fn))}")
    return spec


def get_job_spec(name: str, entrypoint: str | None = None) -> JobSpec:
    """The registered job `name`, importing `entrypoint`'s module first if it is not known yet."""
    with _lock:
        spec = _jobs.get(name)
    if spec is None and entrypoint:
        module = entrypoint.split(":", 1)[0]
        if module != "__main__":
            try:
                importlib.import_module(module)
            except ImportError as exc:
                raise JobError(f"job {name!r}: cannot import {module!r} to run it: {exc}") from exc
        with _lock:
            spec = _jobs.get(name)
    if spec is None:
        with _lock:
            known = sorted(_jobs)
        raise JobError(f"no job registered as {name!r} (known: {', '.join(known) or 'none'}); "
                       "register it with register_job() or @job")
    return spec


def all_job_specs() -> list[JobSpec]:
    with _lock:
        return list(_jobs.values())

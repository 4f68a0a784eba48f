"""Where tasks run: an executor adapter with a Local backend (the default) and a Dask one.

The adapter is deliberately narrow, so that another engine (Ray) is one more class:
- `remote`: False for Local — the jobs runtime then runs tasks on its own thread / process
  pools as it always did; True for an engine whose tasks run in other processes or machines;
- `devices()`: the devices online now, with their capabilities;
- `submit(call, requirements)`: run a picklable no-argument callable on a worker that has
  `requirements` (resources, see capabilities.resources) and return a concurrent Future;
  cancelling the Future cancels the task;
- `publish(name, value)`: make a value every worker fetches by name (worker.shared_value) —
  once per worker process, instead of inside every task that needs it (a WASM module's bytes);
- `close()`.
Durability is not the executor's business: the job that submits records each result in
jobs.db as it arrives (core/jobs), so an engine only has to run things and say how they ended.
"""
from __future__ import annotations

import os
import weakref
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Callable, Protocol

from core.store.device import current_device
from .capabilities import Device, probe, record
from .selection import no_device
from .dask_backend import DaskExecutor
from .worker import publish_here

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

    from core.library import Library


class Executor(Protocol):
    remote: bool

    def devices(self) -> list[Device]: ...

    def submit(self, call: Callable[[], Any], requirements: dict[str, float]) -> Future: ...

    def publish(self, name: str, value: object) -> None: ...

    def close(self) -> None: ...


class LocalExecutor:
    """This device only. Tasks run in the jobs runtime's own pools (`remote` is False), so
    `submit` is for callers outside a job: it runs the call on a thread."""

    remote = False

    def __init__(self) -> None:
        device_uuid, name = current_device()
        self._device = Device(device_uuid, name, probe(), online=True)

    def devices(self) -> list[Device]:
        return [self._device]

    def submit(self, call: Callable[[], Any], requirements: dict[str, float]) -> Future:
        if not self._device.satisfies(requirements):
            raise no_device(", ".join(sorted(requirements)), [self._device])
        from threading import Thread
        fut: Future = Future()

        def run() -> None:
            if fut.set_running_or_notify_cancel():
                try:
                    fut.set_result(call())
                except BaseException as exc:
                    fut.set_exception(exc)
        Thread(target=run, daemon=True, name="vdfs-local-task").start()
        return fut

    def publish(self, name: str, value: object) -> None:
        publish_here(name, value)

    def close(self) -> None:
        pass


_attached: "weakref.WeakKeyDictionary[Any, Executor]" = weakref.WeakKeyDictionary()


def attach(lib: "Library", executor: Executor) -> Executor:
    """Make `executor` the one this library's jobs place tasks with (replacing any other)."""
    old = _attached.get(lib)
    _attached[lib] = executor
    if old is not None and old is not executor:
        old.close()
    weakref.finalize(lib, executor.close)   # a forgotten library does not keep a Dask client
    return executor


def use_dask(lib: "Library", scheduler: "str | Client", **options: float) -> Executor:
    """Attach a Dask executor: `scheduler` is an address (tcp://HOST:PORT) or a Client."""
    return attach(lib, DaskExecutor(scheduler, lib=lib, **options))


def detach(lib: "Library") -> None:
    old = _attached.pop(lib, None)
    if old is not None:
        old.close()


def executor_for(lib: "Library") -> Executor:
    """The attached executor; else Dask when VDFS_SCHEDULER names a scheduler; else Local."""
    found = _attached.get(lib)
    if found is None:
        address = os.environ.get("VDFS_SCHEDULER")
        found = use_dask(lib, address) if address else attach(lib, LocalExecutor())
        if not found.remote:
            dev = found.devices()[0]
            record(lib.conn, dev.uuid, dev.name, dev.capabilities)
    return found

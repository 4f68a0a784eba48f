"""A Dask worker that is a vdfs device: `vdfs worker --scheduler tcp://HOST:PORT`.

The worker advertises this device's capabilities as Dask resources (capabilities.resources),
so the scheduler itself keeps a GPU task off a machine without a GPU and a task that reads a
file's bytes on the machine that has them. It runs without a nanny: a worker that dies stays
dead, and the scheduler hands its tasks to another eligible worker.
"""
from __future__ import annotations

import asyncio
import os
import uuid
from typing import TYPE_CHECKING, Any

from core.errors import VdfsError
from core.store.device import current_device
from .capabilities import probe, resources

if TYPE_CHECKING:  # pragma: no cover
    from distributed import LocalCluster

_identity: dict[str, Any] = {}
_published: dict[str, Any] = {}


def publish_here(name: str, value: object) -> None:
    """What the Local executor publishes: its tasks run in this process."""
    _published[name] = value


def shared_value(name: str) -> object:
    """A value the coordinator published under `name` (Executor.publish): this process's own,
    or, on a Dask worker, fetched from the scheduler. The caller keeps what it derives."""
    if name in _published:
        return _published[name]
    try:
        from distributed import get_client
        return get_client().get_dataset(name)
    except (ImportError, ValueError, KeyError) as exc:
        raise VdfsError(f"nothing was published as {name!r} for this worker "
                        f"({type(exc).__name__}: {exc})") from None


def identity() -> dict[str, Any]:
    """Who this process is as a device (run on each worker by the coordinator). A worker not
    started by `vdfs worker` (say `vdfs cluster`'s) probes its own machine."""
    if not _identity:
        device_uuid, name = current_device()
        _identity.update(uuid=str(device_uuid), name=name, capabilities=probe())
    return dict(_identity)


def run_worker(scheduler: str, *, nthreads: int = 1, name: str | None = None,
               timeout: float = 30.0) -> None:
    """Serve tasks until the scheduler goes away or the process is stopped."""
    from distributed import Worker
    me = identity()
    res = resources(uuid.UUID(me["uuid"]), me["capabilities"])

    async def serve() -> None:
        worker = Worker(scheduler, nthreads=nthreads, resources=res, timeout=timeout,
                        dashboard=False,
                        name=name or f"{me['name']}-{os.getpid()}")
        try:   # a Worker alone keeps retrying an unreachable scheduler without a word
            await asyncio.wait_for(worker.start(), timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            await worker.close(timeout=1)
            raise VdfsError(f"cannot reach the Dask scheduler {scheduler} within "
                            f"{timeout:g} s ({str(exc) or 'timed out'})") from None
        print(f"vdfs worker {worker.name} ({me['uuid']}) serving {scheduler}", flush=True)
        await worker.finished()

    asyncio.run(serve())


def start_cluster(n_workers: int = 2, *, threads_per_worker: int = 1,
                  port: int = 0) -> "LocalCluster":
    """A local Dask cluster of worker processes, each registered as this device."""
    from distributed import LocalCluster
    me = identity()
    return LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                        processes=True, scheduler_port=port, dashboard_address=None,
                        resources=resources(uuid.UUID(me["uuid"]), me["capabilities"]))

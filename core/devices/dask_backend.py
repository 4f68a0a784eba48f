"""The Dask executor: tasks placed on workers by resources, watched for eligible workers.

Placement is Dask's own: each `vdfs worker` advertises its device's capabilities as resources
and a task asks for the resources its device query needs. Dask re-runs the tasks of a worker
that died on another eligible worker, at most `distributed.scheduler.allowed-failures` times
(then KilledWorker, reported as TaskLostError). What Dask does not do is give up on a task
no worker can take: it would wait forever. A watchdog fails such a task with NoDeviceError
once no online device has satisfied its requirements for `grace` seconds.
"""
from __future__ import annotations

import threading
import time
import uuid
import weakref
from concurrent.futures import Future, InvalidStateError
from typing import TYPE_CHECKING, Any, Callable

from core.errors import VdfsError
from .capabilities import Device, record
from .selection import no_device
from .worker import identity

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

    from core.library import Library


class TaskLostError(VdfsError):
    """A task's workers kept dying: Dask gave up after its bounded number of re-runs."""


class DaskExecutor:
    remote = True

    def __init__(self, scheduler: "str | Client", *, lib: "Library | None" = None, grace: float = 5.0,
                 connect_timeout: float = 30.0, poll: float = 0.25):
        from distributed import Client
        if isinstance(scheduler, Client):
            self.client, self._owns_client = scheduler, False
        else:
            try:
                self.client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise VdfsError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
            self._owns_client = True
        # weakly: the library's executor table and finalizer must not keep the library alive
        self._lib = weakref.ref(lib) if lib is not None else None
        self.grace, self._poll = grace, poll
        self._known: dict[str, Device] = {}       # worker address -> its device
        self._lock = threading.Lock()
        self._pending: dict[Future, list[Any]] = {}   # future -> [dask future, reqs, since]
        self._closed = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._published: set[str] = set()

    # ---- devices -----------------------------------------------------------------------
    def devices(self) -> list[Device]:
        """One Device per device uuid among the workers connected now (a device may run
        several workers). New workers are asked who they are, and recorded in the library."""
        workers = self.client.scheduler_info(n_workers=-1)["workers"]
        new = [a for a in workers if a not in self._known]
        if new:
            found = self.client.run(identity, workers=new, on_error="return")
            for addr, ident in found.items():
                if isinstance(ident, dict):
                    dev = Device(uuid.UUID(ident["uuid"]), ident["name"],
                                 ident["capabilities"], online=True)
                    self._known[addr] = dev
                    lib = self._lib() if self._lib is not None else None
                    if lib is not None:
                        record(lib.conn, dev.uuid, dev.name, dev.capabilities)
        by_uuid: dict[uuid.UUID, Device] = {}
        for addr in workers:
            if addr in self._known:
                by_uuid.setdefault(self._known[addr].uuid, self._known[addr])
        return list(by_uuid.values())

    # ---- tasks -------------------------------------------------------------------------
    def submit(self, call: Callable[[], Any], requirements: dict[str, float]) -> Future:
        out: Future = Future()
        fut = self.client.submit(call, resources=dict(requirements) or None, pure=False)
        with self._lock:
            self._pending[out] = [fut, dict(requirements), None]
        out.add_done_callback(lambda f: f.cancelled() and fut.cancel())
        fut.add_done_callback(lambda f: self._arrived(out, f))
        self._start_watchdog()
        return out

    def publish(self, name: str, value: object) -> None:
        """Kept by the scheduler under `name` (a Dask dataset) for workers to fetch once; a
        name is published once per executor, so a name must stand for one value."""
        with self._lock:
            if name in self._published:
                return
        self.client.publish_dataset(override=True, **{name: value})
        with self._lock:
            self._published.add(name)

    def _arrived(self, out: Future, fut: Any) -> None:
        with self._lock:
            self._pending.pop(out, None)
        try:
            if fut.status == "finished":
                value = fut.result()
                _settle(out, value=value)
            elif fut.status == "cancelled":
                _settle(out, error=TaskLostError("the task was cancelled by the scheduler"))
            else:
                _settle(out, error=_translated(fut.exception()))
        except BaseException as exc:   # a result that cannot be fetched is the task's failure
            _settle(out, error=_translated(exc))

    def _start_watchdog(self) -> None:
        with self._lock:
            if self._watchdog is None:
                self._watchdog = threading.Thread(target=self._watch, daemon=True,
                                                  name="vdfs-dask-watchdog")
                self._watchdog.start()

    def _watch(self) -> None:
        while not self._closed.wait(self._poll):
            with self._lock:
                pending = list(self._pending.items())
            if not pending:
                continue
            try:
                online = self.devices()
            except Exception:   # the scheduler is briefly unreachable: look again next tick
                continue
            now = time.monotonic()
            for out, slot in pending:
                fut, reqs, since = slot
                if any(d.satisfies(reqs) for d in online):
                    slot[2] = None
                elif since is None:
                    slot[2] = now
                elif now - since >= self.grace:
                    with self._lock:
                        self._pending.pop(out, None)
                    # settled before the cancel, whose callback would call it "cancelled"
                    _settle(out, error=no_device(", ".join(sorted(reqs)) or "a worker", online))
                    fut.cancel()

    def close(self) -> None:
        self._closed.set()
        if self._owns_client:
            try:
                self.client.close()
            except Exception:  # closing a client whose scheduler is gone is not an error
                pass


def _settle(out: Future, *, value: Any = None, error: BaseException | None = None) -> None:
    try:
        if error is not None:
            out.set_exception(error)
        else:
            out.set_result(value)
    except InvalidStateError:   # already cancelled or failed by the watchdog
        pass


def _translated(exc: BaseException | None) -> BaseException:
    from distributed.scheduler import KilledWorker
    if isinstance(exc, KilledWorker):
        return TaskLostError(f"a task's workers died too often: {exc}")
    return exc if exc is not None else TaskLostError("the task ended without a result")

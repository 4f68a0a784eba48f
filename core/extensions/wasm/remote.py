"""A WASM task placed on a device (a Dask worker), and the host it gets there.

A worker holds no library, so a placed task cannot reach the extension's scoped host API.
It carries what its call needs instead: the module's digest (its bytes are published to the
cluster once and fetched and compiled once per worker process, so a job of 1,000 tasks sends
and compiles the module once per worker), the extension's limits and settings, the item, and a *read ticket*: the entries the item names that the coordinator,
checking the extension's grants in core, allowed it to read, each with its path on the device
that owns it (core/extensions/wasm/placement.py makes it). The task's host offers only what
needs no library:

    log, settings.get, device.current    as everywhere (log goes to the running process's log)
    entry.read                           the ticket's entries, on the device that has them
    any other operation                  PermissionDenied: "not available on a remote device"

The Local executor runs the same task in this process with the same host, so a job that places
its tasks behaves alike on one machine and on a cluster.
"""
from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import blake3

from core.access.permissions import PermissionDenied
from core.jobs.registry import TaskSpec
from core.devices.worker import shared_value
from core.store.device import current_device
from .hostops import OPERATIONS, _arg, op_device_current, op_log, op_settings, read_range
from .errors import WasmError
from .limits import Limits
from .sandbox import WasmProgram

if TYPE_CHECKING:  # pragma: no cover
    from core.devices.executor import Executor
    from .sandbox import Call

# an entry uuid (as text) -> {"path", "device", "device_name"} when the grant allows reading it,
# {"denied": [permission, scope, detail]} when it does not, {"missing": message} when no such entry
Ticket = dict[str, dict[str, Any]]

_PROGRAMS: dict[tuple[str, Limits], WasmProgram] = {}
_compile = threading.Lock()


def uuid_text(value: Any) -> str:
    """The text a uuid is known by in a ticket or a placement (any spelling of it agrees)."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(value)


@dataclass(frozen=True)
class PlacedItem:
    """What one placed task is called with: the guest's item and its read ticket."""

    index: int
    item: Any
    ticket: Ticket = field(default_factory=dict)


class RemoteWasmTask:
    """The task function of a step that placed its tasks; pickled to the worker whole."""

    def __init__(self, extension_id: str, export: str, wasm: bytes, limits: Limits,
                 settings: dict[str, Any], spec: TaskSpec):
        self.extension_id = extension_id
        self.export = export
        self.wasm: bytes | None = wasm      # None once published: workers fetch it by digest
        self.digest = blake3.blake3(wasm).hexdigest()
        self.limits = limits
        self.settings = settings
        self.__vdfs_task__ = spec

    def __call__(self, placed: PlacedItem) -> Any:
        host = RemoteHost(self.extension_id, self.settings, placed.ticket)
        return self.program().call(self.export, placed.item, host)

    @property
    def shared_name(self) -> str:
        return f"vdfs-wasm-{self.digest}"

    def program(self) -> WasmProgram:
        key = (self.digest, self.limits)
        with _compile:
            found = _PROGRAMS.get(key)
            if found is None:
                wasm = self.wasm if self.wasm is not None else shared_value(self.shared_name)
                if not isinstance(wasm, bytes) or blake3.blake3(wasm).hexdigest() != self.digest:
                    raise WasmError(f"{self.extension_id}: the module fetched as "
                                    f"{self.shared_name} has other bytes")
                found = _PROGRAMS[key] = WasmProgram(wasm, name=self.extension_id,
                                                     limits=self.limits)
        return found

    def publish(self, executor: Executor) -> "RemoteWasmTask":
        """On a remote executor the module goes to the cluster once (Executor.publish) and
        each task carries only its digest: 1,000 tasks of a 1 MB module send 1 MB, not 1 GB."""
        if executor.remote:
            executor.publish(self.shared_name, self.wasm)
            self.wasm = None
        return self

    def share(self, program: WasmProgram) -> "RemoteWasmTask":
        """Let this process reuse the program it already compiled from the same bytes."""
        with _compile:
            _PROGRAMS.setdefault((self.digest, self.limits), program)
        return self


@dataclass
class RemoteHost:
    """The host a placed task's calls are bound to (the fields op_log and op_settings read)."""

    extension_id: str
    settings: dict[str, Any]
    ticket: Ticket
    trace: Callable[..., None] | None = None

    def __call__(self, op: str, request: Any, call: Any) -> Any:
        fn = REMOTE_OPERATIONS.get(op)
        if fn is None:
            if op in OPERATIONS:
                raise PermissionDenied(
                    self.extension_id, op, None,
                    "not available on a remote device: a task placed on a device has no library "
                    f"there (it may use {', '.join(sorted(REMOTE_OPERATIONS))}); return what it "
                    "found and let the job's next step write it")
            raise LookupError(f"no host operation {op!r} (ABI 1 has: "
                              f"{', '.join(sorted(OPERATIONS))})")
        if not isinstance(request, dict):
            raise ValueError(f"the request to {op!r} must be a JSON object")
        return fn(self, request, call)


def op_ticket_read(h: RemoteHost, req: dict[str, Any], call: "Call") -> bytes:
    """`entry.read` by read ticket: the coordinator already checked the grant; here only the
    ticket's entries are served, and only on the device that has their bytes."""
    key = uuid_text(_arg(req, "entry"))
    found = h.ticket.get(key)
    if found is None:
        raise PermissionDenied(h.extension_id, "entry.read", None,
                               f"entry {key} is not in this remote task's read ticket: a task "
                               "placed on a device reads only the entries its item names "
                               "(\"entry\": uuid or \"entries\": [uuid, ...])")
    if "denied" in found:
        permission, scope, detail = found["denied"]
        raise PermissionDenied(h.extension_id, permission, scope, detail)
    if "missing" in found:
        raise LookupError(found["missing"])
    here, name = current_device()
    if str(here) != found["device"]:
        raise LookupError(f"entry {key} is on device {found['device_name']!r}; this task runs "
                          f"on {name!r} (place it with \"owner_of\")")
    return read_range(found["path"], req, call)


REMOTE_OPERATIONS: dict[str, Callable[[Any, dict[str, Any], Any], Any]] = {
    "log": op_log, "settings.get": op_settings, "device.current": op_device_current,
    "entry.read": op_ticket_read,
}

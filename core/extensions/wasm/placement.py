"""Where a WASM job step's tasks run, and what they may read there: the coordinator's half of
placed WASM tasks (core/extensions/wasm/remote.py is the worker's).

A step asks for placement with `"device"` next to its `"tasks"`: one object for every task, or
a list with one per task (the WASM form of Python's `ctx.map(task, items, device=...)`):

    {"capabilities": ["gpu"], "minimums": {"cpus": 4}, "prefer_local": true}   a query
    {"owner_of": "<entry uuid>"}                   the device that has the entry's bytes
    {"uuid": "<device uuid>"}                      that device (say, from devices.select)
    {}                                             any device

Permission checks stay here, in core, where the library is: `owner_of` and each entry a task's
item names are checked by the extension's scoped host API (`entry_path`), and what it allowed
travels with the task as a read ticket.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from core.access.permissions import PermissionDenied
from core.devices.selection import no_device
from core.errors import VdfsError
from .errors import WasmPayloadError
from .remote import PlacedItem, Ticket, uuid_text

if TYPE_CHECKING:  # pragma: no cover
    import uuid

    from core.devices import Device, DeviceQuery
    from core.extensions.host import ScopedVdfsApi
    from core.jobs.context import JobContext
    from core.jobs.sealed import ExtensionJobContext

PLACEMENT_KEYS = frozenset({"capabilities", "minimums", "prefer_local", "owner_of", "uuid"})
Owner = Callable[[str], "tuple[uuid.UUID, str, int]"]


def placement(jctx: JobContext | ExtensionJobContext, api: ScopedVdfsApi, spec: object,
              n_tasks: int, job: str) -> Device | DeviceQuery | list[Device | DeviceQuery]:
    """The step's `"device"` as what `ctx.map(device=...)` takes (a list: one per task)."""
    if isinstance(spec, list):
        if len(spec) != n_tasks:
            raise WasmPayloadError(f"job {job}: 'device' lists {len(spec)} placements for "
                                   f"{n_tasks} tasks")
        return [_one(jctx, api, s, job) for s in spec]
    return _one(jctx, api, spec, job)


def _one(jctx: JobContext | ExtensionJobContext, api: ScopedVdfsApi, spec: Any,
         job: str) -> Device | DeviceQuery:
    if not isinstance(spec, dict) or set(spec) - PLACEMENT_KEYS:
        raise WasmPayloadError(f"job {job}: a task's device is an object with "
                               f"{', '.join(sorted(PLACEMENT_KEYS))}, not {spec!r}")
    caps, minimums = spec.get("capabilities", []), spec.get("minimums", {})
    if not isinstance(caps, list) or not isinstance(minimums, dict):
        raise WasmPayloadError(f"job {job}: 'capabilities' is a list and 'minimums' an object")
    if "uuid" in spec:
        online = jctx.select_device().candidates()
        for device in online:
            if str(device.uuid) == uuid_text(spec["uuid"]):
                return device
        raise no_device(f"the device {spec['uuid']} online", online)
    query = jctx.select_device().with_capability(*caps, **minimums)
    if "owner_of" in spec:
        api.entry_path(str(spec["owner_of"]))   # only the owner of an entry it may read
        query.owner_of(uuid_text(spec["owner_of"]))
    if spec.get("prefer_local"):
        query.prefer_local()
    return query


def named_entries(item: Any) -> list[str]:
    """The entries a task's item names: its `"entry"` and the uuids in its `"entries"`."""
    if not isinstance(item, dict):
        return []
    named = [item["entry"]] if isinstance(item.get("entry"), str) else []
    if isinstance(item.get("entries"), list):
        named += [e for e in item["entries"] if isinstance(e, str)]
    return [uuid_text(e) for e in named]


def read_ticket(api: ScopedVdfsApi, owner: Owner, item: Any) -> Ticket:
    """What the task may read where it runs: each named entry the grant allows, with its path
    and owner device; a refused or unknown entry carries its refusal, said on the worker."""
    ticket: Ticket = {}
    for key in named_entries(item):
        try:
            path = api.entry_path(key)                 # the grant check, in core
            device, name, _ = owner(key)
        except PermissionDenied as exc:
            ticket[key] = {"denied": [exc.permission, exc.scope, exc.detail]}
        except (VdfsError, LookupError, ValueError) as exc:
            ticket[key] = {"missing": str(exc)}
        else:
            ticket[key] = {"path": path, "device": str(device), "device_name": name}
    return ticket


def placed_items(api: ScopedVdfsApi, owner: Owner, tasks: list[Any]) -> list[PlacedItem]:
    return [PlacedItem(i, item, read_ticket(api, owner, item)) for i, item in enumerate(tasks)]

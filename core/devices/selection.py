"""`ctx.select_device()`: choose the device a task runs on, by capability and by who has the bytes.

    dev = ctx.select_device().with_capability("gpu").prefer_local().select()
    ctx.execute_on(dev, embed, path)

A query turns into *requirements* — Dask-style resources (`{"gpu": 1}`, `{"device-<uuid>": 1}`)
— that both pick a device now (`select()`) and, handed to a distributed executor unselected,
let the engine place each task on any eligible worker. A query no online device satisfies
fails at once with NoDeviceError ("no device has gpu"), never by waiting for one to appear.
"""
from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

from core.errors import VdfsError
from core.store.facade import Backing, Facade
from .capabilities import Device, device_resource


# an entry id, its uuid, its path, or a row (a dict, or an object with `.id`) of an entries query
EntryLike = int | str | uuid.UUID | Mapping[str, Any]


class NoDeviceError(VdfsError):
    """No online device can run a task with these requirements."""


def entry_owner(conn: sqlite3.Connection, entry: EntryLike) -> tuple[uuid.UUID, str, int]:
    """(device uuid, device name, entry id) of the device whose location holds an entry; the
    entry is an id, a row or result dict with an `id`, an object with `.id`, a uuid, or a path."""
    key = entry.get("id") if isinstance(entry, dict) else getattr(entry, "id", entry)
    if isinstance(key, uuid.UUID) or (isinstance(key, str) and _is_uuid(key)):
        sql, param = "e.uuid = ?", uuid.UUID(str(key)).bytes
    elif isinstance(key, str) and not key.isdigit():
        sql, param = "e.path = ?", key
    else:
        try:
            sql, param = "e.id = ?", int(key)
        except (TypeError, ValueError):
            raise NoDeviceError(f"owner_of: {entry!r} is not an entry (want an id or a path)") \
                from None
    row = conn.execute("SELECT d.uuid, d.name, e.id FROM entries e JOIN locations l ON "
                       f"l.id = e.location_id JOIN devices d ON d.id = l.device_id WHERE {sql} "
                       "LIMIT 1", (param,)).fetchone()
    if row is None:
        raise NoDeviceError(f"owner_of: no entry {entry!r} in this library")
    return uuid.UUID(bytes=row[0]), row[1], int(row[2])


def _is_uuid(text: str) -> bool:
    """An entry's uuid, not a path: a path is absolute, a uuid never starts with a slash."""
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


@dataclass
class _Query:
    online: Callable[[], list[Device]]
    local: uuid.UUID
    conn: Callable[[], sqlite3.Connection]
    reqs: dict[str, float] = field(default_factory=dict)
    said: list[str] = field(default_factory=list)
    prefer_local: bool = False


_queries: Backing[_Query] = Backing("device query")


class DeviceQuery(Facade):
    """A builder over the devices online now; every method but `select()` returns the query.
    A sealed facade (core.store.facade): an extension's job gets one too, and it holds no
    attribute path to the library it reads owners from."""

    __slots__ = ()

    def __init__(self, online: Callable[[], list[Device]], local: uuid.UUID,
                 conn: Callable[[], sqlite3.Connection]):
        _queries.bind(self, _Query(online, local, conn))

    def __repr__(self) -> str:
        return f"<DeviceQuery {self.describe()}>"

    def with_capability(self, *names: str, **minimums: float) -> "DeviceQuery":
        """`"gpu"`, `"model:<name>"`, `"os:linux"`, any true capability; `cpus=4`,
        `memory=8e9` ask for at least that much."""
        q = _queries(self)
        for name in names:
            if not isinstance(name, str) or not name:
                raise NoDeviceError(f"with_capability: a capability is a name, got {name!r}")
            q.reqs[name] = max(q.reqs.get(name, 0), 1)
            q.said.append(name)
        for name, value in minimums.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise NoDeviceError(f"with_capability: {name} must be a positive number")
            q.reqs[name] = max(q.reqs.get(name, 0), float(value))
            q.said.append(f"{name} >= {value:g}")
        return self

    def owner_of(self, entry: EntryLike) -> "DeviceQuery":
        """Only the device that has the entry's bytes (its location is on that device)."""
        q = _queries(self)
        owner, name, entry_id = entry_owner(q.conn(), entry)
        q.reqs[device_resource(owner)] = 1
        q.said.append(f"the bytes of entry {entry_id} (device {name!r})")
        return self

    def prefer_local(self) -> "DeviceQuery":
        """When this device qualifies, choose it over the others."""
        _queries(self).prefer_local = True
        return self

    @property
    def requirements(self) -> dict[str, float]:
        return dict(_queries(self).reqs)

    def describe(self) -> str:
        return " and ".join(_queries(self).said) or "any device"

    def candidates(self) -> list[Device]:
        """Online devices that qualify, the preferred first."""
        q = _queries(self)
        found = [d for d in q.online() if d.satisfies(q.reqs)]
        if q.prefer_local:
            found.sort(key=lambda d: d.uuid != q.local)
        return found

    def select(self) -> Device:
        """One qualifying device, or NoDeviceError naming what is missing and who is online."""
        found = self.candidates()
        if found:
            return found[0]
        raise no_device(self.describe(), _queries(self).online())


def no_device(what: str, online: list[Device]) -> NoDeviceError:
    shown = ", ".join(f"{d.name} ({_summary(d)})" for d in online) or "none"
    return NoDeviceError(f"no device has {what}; online: {shown}")


def _summary(d: Device) -> str:
    caps = d.capabilities
    parts = [f"{caps.get('cpus', '?')} cpus", "gpu" if caps.get("gpu") else "no gpu"]
    if caps.get("models"):
        parts.append(f"{len(caps['models'])} models")
    return ", ".join(parts)

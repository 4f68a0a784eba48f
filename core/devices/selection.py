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
from typing import Any, Callable

from core.errors import VdfsError
from .capabilities import Device, device_resource


class NoDeviceError(VdfsError):
    """No online device can run a task with these requirements."""


def entry_owner(conn: sqlite3.Connection, entry: Any) -> tuple[uuid.UUID, str, int]:
    """(device uuid, device name, entry id) of the device whose location holds an entry; the
    entry is an id, a row or result dict with an `id`, an object with `.id`, or a path."""
    key = entry.get("id") if isinstance(entry, dict) else getattr(entry, "id", entry)
    if isinstance(key, str) and not key.isdigit():
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


class DeviceQuery:
    """A builder over the devices online now; every method but `select()` returns the query."""

    def __init__(self, online: Callable[[], list[Device]], local: uuid.UUID,
                 conn: Callable[[], sqlite3.Connection]):
        self._online = online
        self._local = local
        self._conn = conn
        self._reqs: dict[str, float] = {}
        self._said: list[str] = []
        self._prefer_local = False

    def __repr__(self) -> str:
        return f"<DeviceQuery {self.describe()}>"

    def with_capability(self, *names: str, **minimums: float) -> "DeviceQuery":
        """`"gpu"`, `"model:<name>"`, `"os:linux"`, any true capability; `cpus=4`,
        `memory=8e9` ask for at least that much."""
        for name in names:
            if not isinstance(name, str) or not name:
                raise NoDeviceError(f"with_capability: a capability is a name, got {name!r}")
            self._reqs[name] = max(self._reqs.get(name, 0), 1)
            self._said.append(name)
        for name, value in minimums.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise NoDeviceError(f"with_capability: {name} must be a positive number")
            self._reqs[name] = max(self._reqs.get(name, 0), float(value))
            self._said.append(f"{name} >= {value:g}")
        return self

    def owner_of(self, entry: Any) -> "DeviceQuery":
        """Only the device that has the entry's bytes (its location is on that device)."""
        owner, name, entry_id = entry_owner(self._conn(), entry)
        self._reqs[device_resource(owner)] = 1
        self._said.append(f"the bytes of entry {entry_id} (device {name!r})")
        return self

    def prefer_local(self) -> "DeviceQuery":
        """When this device qualifies, choose it over the others."""
        self._prefer_local = True
        return self

    @property
    def requirements(self) -> dict[str, float]:
        return dict(self._reqs)

    def describe(self) -> str:
        return " and ".join(self._said) or "any device"

    def candidates(self) -> list[Device]:
        """Online devices that qualify, the preferred first."""
        found = [d for d in self._online() if d.satisfies(self._reqs)]
        if self._prefer_local:
            found.sort(key=lambda d: d.uuid != self._local)
        return found

    def select(self) -> Device:
        """One qualifying device, or NoDeviceError naming what is missing and who is online."""
        found = self.candidates()
        if found:
            return found[0]
        raise no_device(self.describe(), self._online())


def no_device(what: str, online: list[Device]) -> NoDeviceError:
    shown = ", ".join(f"{d.name} ({_summary(d)})" for d in online) or "none"
    return NoDeviceError(f"no device has {what}; online: {shown}")


def _summary(d: Device) -> str:
    caps = d.capabilities
    parts = [f"{caps.get('cpus', '?')} cpus", "gpu" if caps.get("gpu") else "no gpu"]
    if caps.get("models"):
        parts.append(f"{len(caps['models'])} models")
    return ", ".join(parts)

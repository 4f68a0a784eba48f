"""What a device has: CPUs, memory, a GPU, installed AI models, its OS and vdfs version.

A device describes itself (`probe()`); the description is stored on its row of the library's
`devices` table (`record()`), so a coordinator can choose where a task runs before it starts,
and a Dask worker started by `vdfs worker` advertises the same facts as worker resources.
VDFS_CAPABILITIES (a JSON object) overrides probed values: a test or a demo can make one
machine look like two different devices ("gpu": true on one of them).
"""
from __future__ import annotations

import json
import os
import platform
import sqlite3
import uuid
from dataclasses import dataclass, field
from typing import Any

from core.errors import VdfsError
from core.store.clock import now_iso
from core.store.paths import models_dir
from core.version import __version__

# onnxruntime execution providers that mean "this device has a GPU"
GPU_PROVIDERS = frozenset({"CUDAExecutionProvider", "ROCMExecutionProvider",
                           "TensorrtExecutionProvider", "DmlExecutionProvider",
                           "CoreMLExecutionProvider", "MIGraphXExecutionProvider"})


class CapabilityError(VdfsError):
    """A capability description that cannot be read (a bad VDFS_CAPABILITIES, say)."""


def _memory_bytes() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0


def _providers() -> list[str]:
    try:
        import onnxruntime  # an optional dependency: without it, no GPU is claimed
    except ImportError:
        return []
    try:
        return list(onnxruntime.get_available_providers())
    except Exception:  # a broken runtime install is "no providers", not a crash
        return []


def _models() -> list[str]:
    """`category:name` of every model in this device's registry ($VDFS_HOME/models)."""
    try:
        data = json.loads((models_dir() / "registry.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return sorted(data) if isinstance(data, dict) else []


def overrides() -> dict[str, Any]:
    text = os.environ.get("VDFS_CAPABILITIES")
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CapabilityError(f"VDFS_CAPABILITIES is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CapabilityError("VDFS_CAPABILITIES must be a JSON object")
    return data


def probe() -> dict[str, Any]:
    """This device's capabilities, probed now (plus VDFS_CAPABILITIES)."""
    providers = _providers()
    caps: dict[str, Any] = {
        "cpus": os.cpu_count() or 1,
        "memory": _memory_bytes(),
        "gpu": bool(GPU_PROVIDERS.intersection(providers)),
        "providers": providers,
        "models": _models(),
        "os": platform.system().lower(),
        "vdfs": __version__,
    }
    caps.update(overrides())
    return caps


PLENTY = 1_000_000   # a capability every task may use at once (unlike a GPU, counted 1 per GPU)


def device_resource(device_uuid: uuid.UUID) -> str:
    return f"device-{device_uuid.hex}"


def resources(device_uuid: uuid.UUID, caps: dict[str, Any]) -> dict[str, float]:
    """Capabilities as Dask worker resources: a task asks for `{"gpu": 1}`, `{"model:clip":
    1}`, `{"cpus": 4}` or `{"device-<uuid>": 1}` and runs only where the worker has that much."""
    out: dict[str, float] = {device_resource(device_uuid): PLENTY}
    for key, value in caps.items():
        if key == "gpu":
            if value:
                out["gpu"] = float(caps.get("gpus", 1))
        elif value is True:
            out[key] = PLENTY
        elif key in ("cpus", "memory") and isinstance(value, (int, float)):
            out[key] = float(value)
    for model in caps.get("models", ()):
        out[f"model:{model}"] = PLENTY
        out[f"model:{model.split(':', 1)[-1]}"] = PLENTY
    if caps.get("os"):
        out[f"os:{str(caps['os']).lower()}"] = PLENTY
    return out


@dataclass(frozen=True)
class Device:
    """A device as the library knows it. `online` is true for this device and for a device
    that currently runs a worker of the attached executor."""
    uuid: uuid.UUID
    name: str
    capabilities: dict[str, Any] = field(default_factory=dict, compare=False)
    online: bool = field(default=False, compare=False)
    last_seen_at: str | None = field(default=None, compare=False)

    @property
    def resources(self) -> dict[str, float]:
        return resources(self.uuid, self.capabilities)

    def satisfies(self, requirements: dict[str, float]) -> bool:
        """The one placement rule, the same one Dask applies to worker resources."""
        have = self.resources
        return all(have.get(k, 0) >= v for k, v in requirements.items())

    def to_dict(self) -> dict[str, Any]:
        return {"uuid": str(self.uuid), "name": self.name, "online": self.online,
                "last_seen_at": self.last_seen_at, "capabilities": dict(self.capabilities)}


def record(conn: sqlite3.Connection, device_uuid: uuid.UUID, name: str,
           caps: dict[str, Any]) -> None:
    """Store a device's capabilities on its row (made if the library has not seen it)."""
    now = now_iso()
    conn.execute(
        "INSERT INTO devices (uuid, name, os, created_at, last_seen_at, capabilities) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(uuid) DO UPDATE SET "
        "capabilities = excluded.capabilities, last_seen_at = excluded.last_seen_at",
        (device_uuid.bytes, name, caps.get("os"), now, now, json.dumps(caps, sort_keys=True)))


"""This machine's identity as a vdfs device, kept in $VDFS_HOME/device.json.

A device id belongs to the machine, not to a library, so every library opened here agrees on
which entries are "on this device". VDFS_DEVICE_NAME overrides the name (tests use it).
"""
from __future__ import annotations

import json
import os
import socket
import uuid

from .paths import vdfs_home


def current_device() -> tuple[uuid.UUID, str]:
    home = vdfs_home()
    path = home / "device.json"
    name = os.environ.get("VDFS_DEVICE_NAME") or socket.gethostname()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return uuid.UUID(data["uuid"]), os.environ.get("VDFS_DEVICE_NAME") or data["name"]
    except (OSError, ValueError, KeyError):
        pass
    device_uuid = uuid.uuid4()
    home.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"uuid": str(device_uuid), "name": name}), encoding="utf-8")
    try:
        os.link(tmp, path)  # first writer wins when two processes race
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    data = json.loads(path.read_text(encoding="utf-8"))
    return uuid.UUID(data["uuid"]), os.environ.get("VDFS_DEVICE_NAME") or data["name"]

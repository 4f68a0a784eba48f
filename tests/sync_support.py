"""Libraries that act as separate devices in one test process, and helpers to exchange."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import core
from core.domain.models import blob_data, model


@model(version="1.0.0", scope="standalone", extension_id="com.test.sync")
@dataclass
class Album:
    """A shared standalone model with a blob."""
    title: str
    cover: np.ndarray = blob_data(compression="zstd", lazy=True)
    id: uuid.UUID | None = None


@model(version="1.0.0", scope="content", extension_id="com.test.sync")
@dataclass
class Caption:
    """A shared content-scoped model: one per content, merged across devices."""
    text: str


@model(version="1.0.0", scope="entry", extension_id="com.test.sync")
@dataclass
class LocalScore:
    """A device-owned entry-scoped model: its owner's word, read-only elsewhere."""
    score: int


@model(version="1.0.0", scope="content", sync_strategy="device_owned", extension_id="com.test.sync")
@dataclass
class Thumbnail:
    """A device-owned content-scoped model: stays on its device."""
    path: str


def device_library(root: Path, name: str, monkeypatch) -> "core.Library":
    """A new library on its own device: the device identity is read from VDFS_HOME when the
    library opens, so each gets a home of its own."""
    monkeypatch.setenv("VDFS_HOME", str(root / f"{name}-home"))
    monkeypatch.setenv("VDFS_DEVICE_NAME", name)
    return core.Library.create(root / f"{name}.vdfs")


def indexed_folder(lib: "core.Library", folder: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    lib.add_location(folder)
    lib.index(folder).wait()


def exchange(a: "core.Library", b: "core.Library", tmp: Path, *, join: bool = False) -> None:
    """a -> b, then b -> a, through bundle files addressed to the peer when it is known."""
    for src, dst in ((a, b), (b, a)):
        path = tmp / f"{src.device_name}-to-{dst.device_name}.vdfsbundle"
        peer = str(dst.device_uuid) if _knows(src, dst) else None
        src.sync.export(path, peer=peer)
        dst.sync.import_(path, join=join)


def _knows(src: "core.Library", dst: "core.Library") -> bool:
    return src.conn.execute("SELECT 1 FROM sync_peers WHERE device_uuid = ?",
                            (dst.device_uuid.bytes,)).fetchone() is not None


def content_uuid_of(lib: "core.Library", name: str) -> str:
    return lib.query(f'files where name = "{name}"').rows()[0]["content_uuid"]

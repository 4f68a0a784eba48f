"""Sidecar files: derived data (thumbnails, EXIF dumps, OCR text) kept beside the library and
addressed by content, so every copy of the same bytes shares one set and a re-index never
recomputes them: `<library>/sidecars/<uuid[:2]>/<uuid>/<kind>.<ext>`."""
from __future__ import annotations

import json
import os
import re
import tempfile
import uuid
from pathlib import Path
from typing import Any

from core.errors import VdfsError

_KIND = re.compile(r"^[a-z][a-z0-9_]*$")
_EXT = re.compile(r"^[a-z0-9]+$")


class SidecarError(VdfsError, ValueError):
    """A bad sidecar kind or a missing sidecar."""


def sidecar_data(data: object) -> bytes | bytearray | memoryview:
    """`data` if it is bytes-like: every way of writing a sidecar refuses anything else alike."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise SidecarError(f"sidecar data must be bytes, not {type(data).__name__}")
    return data


class Sidecars:
    def __init__(self, library_path: str | os.PathLike[str]):
        self.root = Path(library_path) / "sidecars"

    def path(self, content_uuid: uuid.UUID, kind: str, ext: str) -> Path:
        if not isinstance(kind, str) or not _KIND.fullmatch(kind):
            raise SidecarError(f"sidecar kind must match {_KIND.pattern}, got {kind!r}")
        if not isinstance(ext, str) or not _EXT.fullmatch(ext):
            raise SidecarError(f"sidecar extension must match {_EXT.pattern}, got {ext!r}")
        hexid = uuid.UUID(str(content_uuid)).hex
        return self.root / hexid[:2] / hexid / f"{kind}.{ext}"

    def write_bytes(self, content_uuid: uuid.UUID, kind: str, ext: str, data: bytes) -> Path:
        """Write atomically (temp file + rename): a crash never leaves half a sidecar."""
        data = sidecar_data(data)
        target = self.path(content_uuid, kind, ext)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{kind}.", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return target

    def write_json(self, content_uuid: uuid.UUID, kind: str, value: Any) -> Path:
        data = json.dumps(value, sort_keys=True, default=str).encode()
        return self.write_bytes(content_uuid, kind, "json", data)

    def read_json(self, content_uuid: uuid.UUID, kind: str) -> Any:
        path = self.path(content_uuid, kind, "json")
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SidecarError(f"no {kind} sidecar for content {content_uuid}") from None

    def kinds(self, content_uuid: uuid.UUID) -> list[str]:
        folder = self.path(content_uuid, "x", "json").parent
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.iterdir() if not p.name.startswith("."))

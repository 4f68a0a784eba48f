"""The AI model registry: `category:name` → a verified file under $VDFS_HOME/models/ or an endpoint.

Model files live outside every library and are never synced (docs/architecture.md §2). Each
file is written to a temporary name while its sha256 is computed and only renamed into place
when it matches, so a bad or interrupted download leaves nothing behind. `registry.json` is
the index.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx

from core.store.clock import now_iso
from core.store.faults import storage_error
from core.store.paths import models_dir
from .sources import ModelError, ModelIntegrityError, ModelSource

# Names and categories become a folder and a file name: letters, digits, _ . - only, not
# starting with a dot (so no "." or ".." segment, no hidden file), and short enough that the
# stored name stays far below the file system's 255-byte limit.
MAX_NAME = 128
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
CHUNK = 1 << 16


@dataclass(frozen=True)
class RegisteredModel:
    category: str
    name: str
    source: dict[str, Any]
    file: str | None          # relative to the models folder; None for served models
    sha256: str | None
    extension_id: str | None
    registered_at: str

    @property
    def ref(self) -> str:
        return f"{self.category}:{self.name}"

    @property
    def cloud(self) -> bool:
        return bool(self.source.get("cloud"))


class ModelRegistry:
    """Register, look up and remove models; one registry per $VDFS_HOME."""

    def __init__(self, root: Path | None = None, *, extension_id: str | None = None,
                 timeout: float = 60.0):
        self.root = Path(root) if root else models_dir()
        self.extension_id = extension_id
        self.timeout = timeout

    # ---- index --------------------------------------------------------------------------
    @property
    def index_path(self) -> Path:
        return self.root / "registry.json"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock = open(self.root / ".lock", "a+")
        except OSError as exc:
            raise ModelError(f"cannot update the model registry: "
                             f"{storage_error(exc, self.root) or exc}") from exc
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self._read()
            yield data
            tmp = self.index_path.with_suffix(".json.tmp")
            try:
                tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
                os.replace(tmp, self.index_path)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                raise ModelError(f"cannot update the model registry: "
                                 f"{storage_error(exc, self.root) or exc}") from exc

    def _read(self) -> dict[str, Any]:
        try:
            return json.loads(self.index_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def list(self) -> list[RegisteredModel]:
        return [RegisteredModel(**v) for _, v in sorted(self._read().items())]

    def get(self, ref: str) -> RegisteredModel:
        """`category:name`, or a bare name when only one category has it."""
        data = self._read()
        if ref in data:
            return RegisteredModel(**data[ref])
        matches = [v for k, v in data.items() if k.split(":", 1)[1] == ref]
        if len(matches) == 1:
            return RegisteredModel(**matches[0])
        if matches:
            raise ModelError(f"model name {ref!r} is ambiguous: use one of "
                             f"{sorted(m['category'] + ':' + ref for m in matches)}")
        raise ModelError(f"no registered model {ref!r} (registered: {sorted(data)})")

    def path(self, model: RegisteredModel) -> Path:
        if model.file is None:
            raise ModelError(f"model {model.ref} is served over HTTP and has no file")
        return self.root / model.file

    # ---- registration -------------------------------------------------------------------
    def register(self, name: str, category: str, source: ModelSource) -> RegisteredModel:
        """Store (and verify) the model's bytes, then record it. Re-registering the same bytes
        is a no-op; new bytes replace the old file."""
        for what, value in (("name", name), ("category", category)):
            if not isinstance(value, str) or not _NAME.fullmatch(value):
                raise ModelError(f"model {what} must match {_NAME.pattern} (letters, digits, "
                                 f"_ . -; not starting with a dot), got {value!r}")
            if len(value) > MAX_NAME:
                raise ModelError(f"model {what} must be at most {MAX_NAME} characters, got "
                                 f"{len(value)}")
        if not isinstance(source, ModelSource):
            raise ModelError(f"source must be a ModelSource, got {type(source).__name__}")
        file = digest = None
        if source.kind in ("bundled", "local", "download"):
            file, digest = self._store(category, name, source)
        model = RegisteredModel(category, name, source.describe(), file, digest,
                                self.extension_id, now_iso())
        with self._locked() as data:
            old = data.get(model.ref)
            data[model.ref] = model.__dict__.copy()
            stale = old and old.get("file") and old["file"] != file and not any(
                v.get("file") == old["file"] for v in data.values())
        if stale:
            (self.root / old["file"]).unlink(missing_ok=True)
        return model

    def unregister(self, ref: str) -> None:
        model = self.get(ref)
        with self._locked() as data:
            data.pop(model.ref, None)
            still_used = any(v.get("file") == model.file for v in data.values())
        if model.file and not still_used:
            (self.root / model.file).unlink(missing_ok=True)

    def _store(self, category: str, name: str, source: ModelSource) -> tuple[str, str]:
        """Write to a temporary file in the model's own folder (same file system, so the final
        rename is atomic); a full disk or read-only folder is a ModelError, nothing kept."""
        try:
            return self._write(category, name, source)
        except OSError as exc:
            fault = storage_error(exc, self.root)
            if fault is None:
                raise ModelError(f"cannot store model {category}:{name}: {exc}") from exc
            raise ModelError(f"cannot store model {category}:{name}: {fault}") from exc

    def _write(self, category: str, name: str, source: ModelSource) -> tuple[str, str]:
        folder = self.root / category
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
        tmp = Path(tmp_name)
        h = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in self._chunks(source):
                    h.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = h.hexdigest()
            if source.sha256 and digest != source.sha256:
                raise ModelIntegrityError(
                    f"model {category}:{name} from {source.url or source.path}: sha256 is {digest}, "
                    f"expected {source.sha256}; the file was refused and deleted")
            final = folder / f"{name}-{digest[:12]}.{source.format}"
            os.replace(tmp, final)
            return str(final.relative_to(self.root)), digest
        finally:
            tmp.unlink(missing_ok=True)

    def _chunks(self, source: ModelSource) -> Iterator[bytes]:
        if source.kind == "bundled":
            assert source.data is not None
            yield source.data
        elif source.kind == "local":
            with open(source.path, "rb") as f:  # type: ignore[arg-type]
                yield from iter(lambda: f.read(CHUNK), b"")
        else:
            try:
                with httpx.stream("GET", source.url, timeout=self.timeout,  # type: ignore[arg-type]
                                  follow_redirects=True) as resp:
                    if resp.status_code != 200:
                        raise ModelError(f"download of {source.url} failed: HTTP {resp.status_code}")
                    yield from resp.iter_bytes(CHUNK)
            except httpx.HTTPError as exc:
                raise ModelError(f"download of {source.url} failed: {exc}") from exc



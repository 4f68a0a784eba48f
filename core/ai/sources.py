"""Where a registered AI model comes from: bundled bytes, a local path, a download URL
with its sha256, or a served model (Ollama, an OpenAI-compatible endpoint)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from core.errors import VdfsError


class ModelError(VdfsError):
    """A model cannot be registered or loaded (bad source, unknown name, wrong format)."""


class ModelIntegrityError(ModelError):
    """Downloaded bytes do not have the sha256 the extension promised; nothing was kept."""


class ConsentRequired(ModelError):
    """A cloud model is used before the user recorded consent, or against their preference."""


# A file's format ends its stored name, so it comes from this fixed set (lower case).
FILE_FORMATS = frozenset({"onnx", "gguf", "ggml", "safetensors", "bin", "pt", "pth", "ckpt",
                          "tflite", "pb", "npy", "npz", "json", "txt", "model", "vocab"})
SERVED_FORMATS = {"ollama": "ollama", "openai": "openai"}   # kind -> its only format
KINDS = ("bundled", "local", "download", *SERVED_FORMATS)


def _inferred_format(suffix: str, origin: str) -> str:
    fmt = suffix.lstrip(".").lower() or "onnx"
    if fmt not in FILE_FORMATS:
        raise ModelError(f"cannot tell the model format of {origin}: format {fmt!r} is not one "
                         f"of {sorted(FILE_FORMATS)}; pass format=")
    return fmt


@dataclass(frozen=True)
class ModelSource:
    """One of: bundled(data), local(path), download(url, sha256), ollama(model), openai(model)."""

    kind: str
    data: bytes | None = field(default=None, repr=False)
    path: str | None = None
    url: str | None = None
    sha256: str | None = None
    model: str | None = None
    base_url: str | None = None
    cloud: bool = False
    api_key_env: str | None = None
    format: str = "onnx"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ModelError(f"model source kind must be one of {list(KINDS)}, got {self.kind!r}")
        allowed = {SERVED_FORMATS[self.kind]} if self.kind in SERVED_FORMATS else FILE_FORMATS
        if self.format not in allowed:
            raise ModelError(f"model format must be one of {sorted(allowed)} for a {self.kind} "
                             f"source, got {self.format!r}")

    @classmethod
    def bundled(cls, data: bytes, format: str = "onnx") -> "ModelSource":
        if not isinstance(data, (bytes, bytearray)) or not data:
            raise ModelError("a bundled model source needs non-empty bytes")
        return cls("bundled", data=bytes(data), format=format)

    @classmethod
    def local(cls, path: str | os.PathLike[str], format: str | None = None) -> "ModelSource":
        p = Path(path)
        if not p.is_file():
            raise ModelError(f"local model file {p} does not exist")
        return cls("local", path=str(p), format=format or _inferred_format(p.suffix, str(p)))

    @classmethod
    def download(cls, url: str, sha256: str, format: str | None = None) -> "ModelSource":
        if urlparse(url).scheme not in ("http", "https"):
            raise ModelError(f"a model download URL must be http(s), got {url!r}")
        if not isinstance(sha256, str) or len(sha256) != 64 or not all(
                c in "0123456789abcdef" for c in sha256.lower()):
            raise ModelError(f"sha256 must be 64 hex digits, got {sha256!r}")
        fmt = format or _inferred_format(Path(urlparse(url).path).suffix, url)
        return cls("download", url=url, sha256=sha256.lower(), format=fmt)

    @classmethod
    def ollama(cls, model: str, base_url: str = "http://127.0.0.1:11434") -> "ModelSource":
        return cls("ollama", model=model, base_url=base_url.rstrip("/"), cloud=not _loopback(base_url),
                   format="ollama")

    @classmethod
    def openai(cls, model: str, base_url: str = "https://api.openai.com/v1", *, cloud: bool = True,
               api_key_env: str = "OPENAI_API_KEY") -> "ModelSource":
        """An OpenAI-compatible chat endpoint. `cloud=False` only for a server the user runs."""
        return cls("openai", model=model, base_url=base_url.rstrip("/"), cloud=cloud,
                   api_key_env=api_key_env, format="openai")

    @classmethod
    def from_json(cls, data: dict[str, Any], package_root: Path | None = None) -> "ModelSource":
        """The `source` object of a manifest.json model entry."""
        if "bundled" in data:
            if package_root is None:
                raise ModelError("a bundled model needs its package folder")
            return cls.local(package_root / data["bundled"])
        if "path" in data:
            return cls.local(data["path"])
        if "url" in data:
            return cls.download(data["url"], data.get("sha256"))  # type: ignore[arg-type]
        if "ollama" in data:
            return cls.ollama(data["ollama"], data.get("base_url", "http://127.0.0.1:11434"))
        if "openai" in data:
            return cls.openai(data["openai"], data.get("base_url", "https://api.openai.com/v1"))
        raise ModelError(f"unknown model source {data!r}")

    def describe(self) -> dict[str, Any]:
        out = {"kind": self.kind, "format": self.format, "cloud": self.cloud}
        for k in ("path", "url", "sha256", "model", "base_url", "api_key_env"):
            if getattr(self, k):
                out[k] = getattr(self, k)
        return out


def _loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")

"""The `@model` decorator: turns an annotated class into an extension model.

See docs/architecture.md §6.

`@model(version=…, scope=…, sync_strategy=…, extension_id=…)` on a dataclass (or a plain
annotated class, which becomes one) records a `ModelSpec` as `cls.__vdfs_model__`. Fields
marked `blob_data(...)` are stored out of line in content-addressed blobs and load lazily;
every other field is inline JSON in `models.data`. A field named `id` holds the model's UUID
and is kept out of `data` (the row's uuid column is the truth).
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from core.domain.blobs import COMPRESSIONS, QUANTIZE
from core.errors import VdfsError

SCOPES = ("content", "standalone", "entry")
SYNC_STRATEGIES = {"device_owned": 0, "shared": 1}
DEFAULT_SYNC = {"content": "shared", "standalone": "shared", "entry": "device_owned"}
ID_FIELD = "id"
_VERSION_RE = re.compile(r"^\d+(\.\d+){0,2}$")


class ModelDefinitionError(VdfsError, TypeError):
    """A @model declaration that cannot work (bad scope, version, blob field…)."""


class ModelVersionError(VdfsError):
    """Stored model data has a schema version this class cannot read or migrate."""


def parse_version(version: str) -> tuple[int, int, int]:
    if not isinstance(version, str) or not _VERSION_RE.match(version):
        raise ModelDefinitionError(f"model version must look like '1.0.0', not {version!r}")
    parts = [int(p) for p in version.split(".")]
    return tuple((parts + [0, 0])[:3])  # type: ignore[return-value]


@dataclass(frozen=True)
class BlobData:
    """Marker for a field stored in metadata_blobs (the default of the field in the class)."""
    compression: str | None = "zstd"
    lazy: bool = True
    quantize: str | None = None
    default: Any = None
    default_factory: Callable[[], Any] | None = None

    def make_default(self) -> Any:
        return self.default_factory() if self.default_factory is not None else self.default


def blob_data(compression: str | None = "zstd", lazy: bool = True, *, quantize: str | None = None,
              default: Any = None, default_factory: Callable[[], Any] | None = None) -> Any:
    """Mark a field as large data: `embedding: np.ndarray = blob_data(compression="zstd")`.

    `quantize="float16"` halves float arrays, `"int8"` quarters them (one scale per row, lossy).
    zstd alone shrinks float32 embeddings by only ~8%.
    """
    if compression not in COMPRESSIONS:
        raise ModelDefinitionError(f"blob_data compression must be 'zstd' or None, not {compression!r}")
    if quantize not in QUANTIZE:
        raise ModelDefinitionError(f"blob_data quantize must be 'float16', 'int8' or None, not {quantize!r}")
    return BlobData(compression=compression, lazy=lazy, quantize=quantize, default=default,
                    default_factory=default_factory)


def migrates(from_version: str, to_version: str | None = None) -> Callable[[Callable], Any]:
    """Declare a static migration `fn(data: dict) -> dict` from an older schema version
    (to the class's version unless `to_version` says an intermediate one)."""
    parse_version(from_version)
    if to_version is not None:
        parse_version(to_version)

    def mark(fn: Any) -> Any:
        target = fn.__func__ if isinstance(fn, (staticmethod, classmethod)) else fn
        target.__vdfs_migrates__ = (from_version, to_version)
        return staticmethod(target) if not isinstance(fn, staticmethod) else fn
    return mark


@dataclass
class ModelSpec:
    """What core and vdfs_query know about a model class (read by duck typing in vdfs_query)."""
    cls: type
    model_type: str
    extension_id: str | None
    version: str
    scope: str
    sync_strategy: str
    inline_fields: list[str]
    blob_fields: list[str]
    blob_options: dict[str, BlobData] = field(default_factory=dict)
    id_field: str | None = None
    migrations: dict[str, tuple[str, Callable[[dict], dict]]] = field(default_factory=dict)
    search_fields: tuple[str, ...] = ()     # inline fields the search index reads

    @property
    def sync_code(self) -> int:
        return SYNC_STRATEGIES[self.sync_strategy]

    @property
    def stored_extension_id(self) -> str:
        """models.extension_id is NOT NULL: models without an extension are stored under ''."""
        return self.extension_id or ""

    def upgrade(self, data: dict, stored_version: str | None) -> dict:
        """Run the declared migrations from `stored_version` up to this class's version."""
        if stored_version is None or stored_version == self.version:
            return data
        current = parse_version(self.version)
        seen = []
        version = stored_version
        while parse_version(version) != current:
            if parse_version(version) > current:
                raise ModelVersionError(
                    f"{self.model_type} data was written by version {version}, newer than this "
                    f"class (version {self.version}): upgrade the extension that defines it")
            step = self.migrations.get(version)
            if step is None:
                known = ", ".join(sorted(self.migrations)) or "none"
                raise ModelVersionError(
                    f"{self.model_type} data has schema version {version} but the class is "
                    f"version {self.version} and declares no migration from {version} "
                    f"(migrations from: {known}); add @migrates(from_version={version!r})")
            to_version, fn = step
            data = fn(dict(data))
            if not isinstance(data, dict):
                raise ModelVersionError(f"{self.model_type} migration from {version} must return "
                                        f"a dict, not {type(data).__name__}")
            seen.append(version)
            version = to_version
        return data


_REGISTRY: dict[tuple[str, str], type] = {}


def registered_model_types() -> list[str]:
    """model_type of every @model class declared in this process (sorted, no duplicates)."""
    return sorted({t for _ext, t in list(_REGISTRY)})


def find_model(name: str, extension_id: str | None = None) -> type:
    """A declared model class by model_type (and extension id when names collide)."""
    hits = [c for (ext, t), c in _REGISTRY.items()
            if t == name and (extension_id is None or ext == (extension_id or ""))]
    if not hits:
        raise LookupError(f"no @model class named {name!r} has been declared")
    if len(hits) > 1:
        raise LookupError(f"several models are named {name!r}: pass extension_id")
    return hits[-1]

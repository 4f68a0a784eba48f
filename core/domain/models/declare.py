"""`@model`: declaring an extension model class.

It joins the two halves of a model — its spec (spec.py: fields, scope, versions, migrations) and
the accessors instances get (instances.py: lazy blob fields) — so neither half imports the other.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

from .instances import install_accessors
from .spec import (_REGISTRY, DEFAULT_SYNC, ID_FIELD, SCOPES, SYNC_STRATEGIES, BlobData,
                   ModelDefinitionError, ModelSpec, parse_version)


def model(_cls: type | None = None, *, version: str = "1.0.0", scope: str = "standalone",
          sync_strategy: str | None = None, extension_id: str | None = None,
          name: str | None = None, search: tuple[str, ...] | list[str] = ()) -> Any:
    """Declare an extension model. Usable bare (`@model`) or with arguments. `search` names
    inline text fields whose values `search "…"` / `matches "…"` find (for the model's entry
    or content)."""
    if scope not in SCOPES:
        raise ModelDefinitionError(f"model scope must be one of {SCOPES}, not {scope!r}")
    strategy = sync_strategy or DEFAULT_SYNC[scope]
    if strategy not in SYNC_STRATEGIES:
        raise ModelDefinitionError(
            f"sync_strategy must be 'shared' or 'device_owned', not {sync_strategy!r}")
    parse_version(version)

    def wrap(cls: type) -> type:
        blob_markers = _blob_markers(cls)
        if not dataclasses.is_dataclass(cls):
            cls = dataclass(cls)
        if "__slots__" in cls.__dict__:
            raise ModelDefinitionError(f"{cls.__name__}: models cannot use __slots__ "
                                       "(lazy blob fields need an instance __dict__)")
        names = [f.name for f in dataclasses.fields(cls)]
        for f in dataclasses.fields(cls):
            marker = f.metadata.get("vdfs_blob") if f.metadata else None
            if isinstance(f.default, BlobData):
                marker = f.default
            if marker is not None:
                blob_markers[f.name] = marker
        if ID_FIELD in blob_markers:
            raise ModelDefinitionError(f"{cls.__name__}.id is the model's UUID; it cannot be a blob")
        spec = ModelSpec(
            cls=cls, model_type=name or cls.__name__, extension_id=extension_id, version=version,
            scope=scope, sync_strategy=strategy,
            inline_fields=[n for n in names if n not in blob_markers and n != ID_FIELD],
            blob_fields=[n for n in names if n in blob_markers],
            blob_options={n: blob_markers[n] for n in names if n in blob_markers},
            id_field=ID_FIELD if ID_FIELD in names else None,
            migrations=_collect_migrations(cls, version), search_fields=tuple(search))
        unknown = [f for f in spec.search_fields if f not in spec.inline_fields]
        if unknown:
            raise ModelDefinitionError(f"{cls.__name__}: search names {unknown}, which are not "
                                       f"inline fields ({', '.join(spec.inline_fields)})")
        cls.__vdfs_model__ = spec  # type: ignore[attr-defined]
        install_accessors(cls, spec)
        _REGISTRY[(spec.stored_extension_id, spec.model_type)] = cls
        return cls

    return wrap(_cls) if _cls is not None else wrap


def _blob_markers(cls: type) -> dict[str, BlobData]:
    annotations = cls.__dict__.get("__annotations__", {})
    return {n: v for n, v in cls.__dict__.items() if isinstance(v, BlobData) and n in annotations}


def _collect_migrations(cls: type, version: str) -> dict[str, tuple[str, Callable[[dict], dict]]]:
    found: dict[str, tuple[str, Callable[[dict], dict]]] = {}
    declared = getattr(cls, "migrations", None)
    if isinstance(declared, dict):
        for from_v, step in declared.items():
            to_v, fn = step if isinstance(step, tuple) else (version, step)
            found[from_v] = (to_v, fn)
    for value in vars(cls).values():
        fn = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
        mark = getattr(fn, "__vdfs_migrates__", None)
        if mark:
            from_v, to_v = mark
            found[from_v] = (to_v or version, fn)
    for from_v, (to_v, fn) in found.items():
        if parse_version(to_v) <= parse_version(from_v):
            raise ModelDefinitionError(f"{cls.__name__}: a migration from {from_v} must go to a "
                                       f"newer version, not {to_v}")
        if parse_version(to_v) > parse_version(version):
            raise ModelDefinitionError(f"{cls.__name__}: a migration goes to {to_v}, beyond the "
                                       f"class version {version}")
        if not callable(fn):
            raise ModelDefinitionError(f"{cls.__name__}: migration from {from_v} is not callable")
    return found

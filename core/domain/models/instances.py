"""Model instances: building them from `models` rows, and their lazily loaded blob fields.

An instance carries a small `ModelState` (uuid, scope, which blobs are still on disk) in its
`__dict__`. Blob fields are descriptors: the first attribute access reads the blob (counted in
`core.domain.lib.blob_stats`), later accesses return the cached value. Rows built with
`inline_only=True` read neither blobs nor their links until a blob field is touched.
"""
from __future__ import annotations

import dataclasses
import json
import uuid
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from core.domain import blobs
from core.store.facade import Backing, Facade
from .codec import from_json, to_json, type_hints
from .spec import BlobData, ModelDefinitionError, ModelSpec

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library
    from core.store.ids import UuidLike

STATE = "__vdfs__"
_UNKNOWN = object()   # a blob field whose link has not been looked up yet


@dataclass(slots=True)
class ModelState:
    """Where a stored instance came from. Its library is kept on core's side (core.access.facade): the
    instance holds an opaque handle, so one an extension got from its checked API does not
    lead to the library."""

    uuid: uuid.UUID
    lib: dataclasses.InitVar[Any] = None
    scope: str | None = None
    target: uuid.UUID | None = None     # entry or content uuid for scoped models
    metadata_id: int | None = None
    hlc: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    pending: dict[str, Any] = field(default_factory=dict)  # field -> blob id or _UNKNOWN
    source: "_Source | None" = field(default=None, repr=False)

    def __post_init__(self, lib: Library) -> None:
        if lib is not None:
            self.source = _source_of(lib)


class _Source(Facade):
    """The opaque handle of one library, shared by all instances read from it."""

    __slots__ = ()


_libraries: Backing[Any] = Backing("model instance")
_sources: "weakref.WeakKeyDictionary[Any, _Source]" = weakref.WeakKeyDictionary()


_last: tuple[Any, _Source] = (lambda: None, _Source())   # (weakref to a library, its handle)


def _source_of(lib: Library) -> _Source:
    global _last
    ref, found = _last
    if ref() is lib:            # rows come in batches from one library: skip the lookup
        return found
    found = _sources.get(lib) or _sources.setdefault(lib, _libraries.bind(_Source(), lib))
    _last = (weakref.ref(lib), found)
    return found


def _library(st: ModelState) -> Any:
    return None if st.source is None else _libraries.get(st.source)


def spec_of(obj_or_cls: Any) -> ModelSpec:
    spec = getattr(obj_or_cls, "__vdfs_model__", None)
    if not isinstance(spec, ModelSpec):
        name = getattr(obj_or_cls, "__name__", type(obj_or_cls).__name__)
        raise ModelDefinitionError(f"{name} is not a model: decorate its class with @model(...)")
    return spec


def state_of(obj: Any) -> ModelState | None:
    return obj.__dict__.get(STATE)


def model_uuid(obj: Any) -> uuid.UUID | None:
    """The stored uuid of a model instance (None before it is created)."""
    st = state_of(obj)
    if st is not None:
        return st.uuid
    spec = spec_of(obj)
    value = getattr(obj, spec.id_field, None) if spec.id_field else None
    return value if isinstance(value, uuid.UUID) else None


def describe(spec: ModelSpec, model_id: UuidLike, name: str) -> str:
    return f"model {spec.model_type} {model_id} field {name!r}"


class BlobAttribute:
    """Descriptor for a blob field: loads the stored value on first access."""

    def __init__(self, name: str, marker: BlobData):
        self.name = name
        self.marker = marker

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self.marker  # what dataclasses sees as the field's default
        d = obj.__dict__
        if self.name in d:
            return d[self.name]
        st = d.get(STATE)
        if st is not None and self.name in st.pending:
            d[self.name] = _load_blob(obj, st, self.name)
            st.pending.pop(self.name, None)
            return d[self.name]
        return self.marker.make_default()

    def __set__(self, obj: Any, value: Any) -> None:
        if isinstance(value, BlobData):
            value = value.make_default()
        obj.__dict__[self.name] = value
        st = obj.__dict__.get(STATE)
        if st is not None:
            st.pending.pop(self.name, None)


def is_loaded(obj: Any, name: str) -> bool:
    """Whether a blob field's value is in memory (set or already read)."""
    return name in obj.__dict__


def _load_blob(obj: Any, st: ModelState, name: str) -> Any:
    spec = spec_of(obj)
    lib = _library(st)
    if lib is None:
        raise ModelDefinitionError(f"{describe(spec, st.uuid, name)} cannot load: the instance "
                                   "is detached from its library")
    conn = lib.conn
    blob_id = st.pending.get(name)
    if blob_id is _UNKNOWN:
        row = conn.execute("SELECT blob_id FROM model_blobs WHERE model_uuid = ? AND blob_key = ?",
                           (st.uuid.bytes, name)).fetchone()
        if row is None:
            return spec.blob_options[name].make_default()
        blob_id = row[0]
    value = blobs.read_blob(conn, blob_id, what=describe(spec, st.uuid, name),
                            counters=lib.blob_stats)
    return _typed_blob(spec, name, value)


def _typed_blob(spec: ModelSpec, name: str, value: Any) -> Any:
    hint = type_hints(spec.cls).get(name, Any)
    return value if blobs.is_array(value) else from_json(value, hint)


def install_accessors(cls: type, spec: ModelSpec) -> None:
    for name in spec.blob_fields:
        setattr(cls, name, BlobAttribute(name, spec.blob_options[name]))
    repr_fn = cls.__dict__.get("__repr__")
    if repr_fn is not None and hasattr(repr_fn, "__wrapped__"):  # the dataclass-made one
        cls.__repr__ = _model_repr  # type: ignore[method-assign]


def _model_repr(self: Any) -> str:
    """Like the dataclass repr, but never loads a blob just to print it."""
    spec = spec_of(self)
    parts = []
    for f in dataclasses.fields(self):
        if not f.repr:
            continue
        if f.name in spec.blob_options and not is_loaded(self, f.name):
            parts.append(f"{f.name}=<blob>")
        else:
            parts.append(f"{f.name}={getattr(self, f.name)!r}")
    return f"{type(self).__qualname__}({', '.join(parts)})"


def inline_data(obj: Any) -> dict[str, Any]:
    """The lightweight JSON document of an instance (its inline fields)."""
    spec = spec_of(obj)
    return {n: to_json(getattr(obj, n), f"{spec.model_type}.{n}") for n in spec.inline_fields}


# ---- rows -> instances --------------------------------------------------------------------
_ROW_KEYS = ("uuid", "data", "schema_version", "entry_uuid", "content_identity_uuid",
             "standalone", "metadata_id", "hlc_timestamp", "created_at", "updated_at")


def _as_uuid(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return uuid.UUID(bytes=bytes(value))
    return uuid.UUID(str(value))


def _normalise(row: Any) -> dict[str, Any]:
    if isinstance(row, dict):
        return row      # read only (never mutated), so no copy
    if isinstance(row, Mapping):
        return dict(row)
    if hasattr(row, "keys"):  # sqlite3.Row
        return {k: row[k] for k in row.keys()}
    return dict(zip(_ROW_KEYS, row))


def instances_from_rows(model_cls: type, rows: Iterable[Any], lib: Library,
                        inline_only: bool = False) -> list[Any]:
    """Model instances from `models` rows (mappings with at least `uuid` and `data`).

    Older data is migrated with the class's declared migrations. With `inline_only=True`
    nothing about blobs is read; otherwise non-lazy blob fields are loaded in one batch and
    lazy ones on first access.
    """
    spec = spec_of(model_cls)
    rows = [_normalise(r) for r in rows]
    if not rows:
        return []
    if any("uuid" not in r or "data" not in r for r in rows):
        raise ValueError("model rows need at least 'uuid' and 'data' columns")
    uuids = [_as_uuid(r["uuid"]) for r in rows]
    stored: dict[uuid.UUID, str | None] = {}
    if any("schema_version" not in r for r in rows):
        stored = _stored_versions(lib, uuids)
    plan = _plan(spec)
    new = spec.cls.__new__
    pending = {n: _UNKNOWN for n in spec.blob_fields}
    out = []
    for r, u in zip(rows, uuids):
        data = r["data"]
        data = json.loads(data) if isinstance(data, (str, bytes)) else dict(data or {})
        version = r["schema_version"] if "schema_version" in r else stored.get(u)
        if version != spec.version:
            data = spec.upgrade(data, version)
        obj = new(spec.cls)
        d = obj.__dict__
        for name, decode, default in plan:
            value = data.get(name, _MISSING)
            if value is _MISSING:
                d[name] = default()
            else:
                d[name] = value if decode is None or value is None else decode(value)
        if spec.id_field:
            d[spec.id_field] = u
        entry_u, content_u = _as_uuid(r.get("entry_uuid")), _as_uuid(r.get("content_identity_uuid"))
        obj.__dict__[STATE] = ModelState(
            uuid=u, lib=lib,
            scope="entry" if entry_u else "content" if content_u else "standalone",
            target=entry_u or content_u, metadata_id=r.get("metadata_id"),
            hlc=r.get("hlc_timestamp"), created_at=r.get("created_at"),
            updated_at=r.get("updated_at"),
            pending=pending.copy())
        out.append(obj)
    if spec.blob_fields and not inline_only:
        _attach_blobs(spec, out, lib)
    return out


_MISSING = object()
_PLANS: dict[type, list[tuple[str, Any, Any]]] = {}
_PLAIN = (str, int, bool, Any, dict, list)


def _plan(spec: ModelSpec) -> list[tuple[str, Any, Any]]:
    """Per inline field: (name, decoder or None for JSON-native types, default maker)."""
    plan = _PLANS.get(spec.cls)
    if plan is None:
        hints = type_hints(spec.cls)
        plan = []
        for f in dataclasses.fields(spec.cls):
            if f.name in spec.blob_options or f.name == spec.id_field:
                continue
            hint = hints.get(f.name, Any)
            decode = None if hint in _PLAIN else (lambda v, h=hint: from_json(v, h))
            if f.default is not dataclasses.MISSING:
                default = (lambda v=f.default: v)
            elif f.default_factory is not dataclasses.MISSING:
                default = f.default_factory
            else:
                default = (lambda: None)
            plan.append((f.name, decode, default))
        _PLANS[spec.cls] = plan
    return plan


def _stored_versions(lib: Library, uuids: list[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    found: dict[uuid.UUID, str | None] = {}
    for start in range(0, len(uuids), 500):
        chunk = [u.bytes for u in uuids[start:start + 500]]
        marks = ",".join("?" * len(chunk))
        for raw, version in lib.conn.execute(
                f"SELECT uuid, schema_version FROM models WHERE uuid IN ({marks})", chunk):
            found[uuid.UUID(bytes=raw)] = version
    return found


def load_blobs(objs: list[Any], fields: Iterable[str] | None = None) -> None:
    """Read the blob fields of many instances in a few batched queries (instead of one read
    per attribute access), e.g. before computing over every embedding."""
    objs = [o for o in objs if state_of(o) is not None]
    if not objs:
        return
    spec = spec_of(objs[0])
    _attach_blobs(spec, objs, _library(state_of(objs[0])),
                  load=set(spec.blob_fields if fields is None else fields))


def _attach_blobs(spec: ModelSpec, objs: list[Any], lib: Library, load: set[str] | None = None) -> None:
    """Resolve blob links in batch; read the non-lazy fields' blobs (or those in `load`) now."""
    if load is None:
        load = {n for n, o in spec.blob_options.items() if not o.lazy}
    by_uuid = {state_of(o).uuid.bytes: o for o in objs}
    eager: dict[int, str] = {}
    wanted: list[tuple[Any, str, int]] = []
    keys = list(by_uuid)
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for raw, key, blob_id in lib.conn.execute(
                f"SELECT model_uuid, blob_key, blob_id FROM model_blobs WHERE model_uuid IN ({marks})",
                chunk):
            obj = by_uuid[raw]
            st = state_of(obj)
            if key not in spec.blob_options or key not in st.pending:
                continue
            st.pending[key] = blob_id
            if key in load:
                eager[blob_id] = describe(spec, st.uuid, key)
                wanted.append((obj, key, blob_id))
    for obj in objs:  # fields without a link hold their default
        st = state_of(obj)
        for name in [n for n, v in st.pending.items() if v is _UNKNOWN]:
            obj.__dict__[name] = spec.blob_options[name].make_default()
            del st.pending[name]
    if eager:
        values = blobs.read_blobs(lib.conn, eager, counters=lib.blob_stats)
        for obj, key, blob_id in wanted:
            obj.__dict__[key] = _typed_blob(spec, key, values[blob_id])
            state_of(obj).pending.pop(key, None)

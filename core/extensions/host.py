"""The host API an extension receives: `VdfsApi` bound to the extension's grants.

Every method checks before it delegates, and acts as the extension (`actor`/`applied_by` is its
id). Anything not listed here is refused by `__getattr__`, so a new VdfsApi method stays closed
to extensions until someone decides which permission guards it.
"""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

from core.errors import ArgumentError
from core.store.facade import Backing
from core.domain.metadata import NotFoundError, as_uuid, blob_key
from core.content.safeopen import UnsafeFileError, write_below
from core.domain.sidecars import Sidecars, sidecar_data
from core.domain.tags import canonical_name
from core.access.guard import Guard
from core.access.permissions import GrantSet, PermissionDenied
from .scope_query import scoped_entries, scoped_models, ScopedExecutor, apply_scope
from core.query.service import explain_query

if TYPE_CHECKING:  # pragma: no cover
    from core.domain.collection import Collection, CollectionRef
    from core.domain.metadata import UserMetadata
    from core.domain.tags import Tag
    from core.host import VdfsApi
    from core.query.engine import QueryLike
    from core.query.explain import Explain
    from core.query.result import Result
    from core.store.ids import UuidLike
    from vdfs_query.builder import EntryQuery, ModelQuery

NAMESPACE_SEPARATORS = (":", ".")


class ScopedVdfsApi:
    """The unscoped API and the guard are held on core's side (core.access.facade), not in any
    attribute or slot of this object (`api._api`, `api._grants`, `api.lib` are refused) and the
    grants are immutable. Python cannot make this airtight — code running in the same process
    can always import its way to them; the real sandbox is running extensions as WASM."""

    __slots__ = ("__weakref__",)

    def __init__(self, api: VdfsApi, grants: GrantSet):
        _held.bind(self, (api, Guard(api.lib, grants)))

    def __setattr__(self, name: str, value: Any) -> None:
        raise PermissionDenied(self.extension_id, name, None, "the host API cannot be altered")

    @property
    def extension_id(self) -> str:
        return _guard(self).extension_id

    def __repr__(self) -> str:
        return f"<ScopedVdfsApi {self.extension_id}>"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise PermissionDenied(self.extension_id, name, None,
                               f"the host API does not expose {name!r} to extensions")

    # ---- queries --------------------------------------------------------------------------
    def query_entries(self) -> EntryQuery:
        """Entries inside the read scope only: the scope is compiled into the query."""
        return scoped_entries(_api(self), _guard(self).grants)

    def query_models(self, model_cls: type | str) -> ModelQuery:
        _guard(self).own_class(model_cls)
        return scoped_models(_api(self), _guard(self).grants, model_cls)

    def query(self, query: QueryLike, **params: Any) -> Result:
        """Run DSL text (or a builder) with the scope compiled in: `api.query("entries …")`."""
        return ScopedExecutor(_api(self).lib, _guard(self).grants).run(query, params)

    def explain(self, query: QueryLike, **params: Any) -> Explain:
        lib = _api(self).lib
        return explain_query(lib, apply_scope(query, _guard(self).grants, lib), params)

    def read_entry(self, entry_uuid: UuidLike) -> bytes:
        """The bytes of a file the extension may read (never through a symlink)."""
        return _guard(self).read_entry(entry_uuid)

    def entry_path(self, entry_uuid: UuidLike) -> str:
        return _guard(self).visible_entry(entry_uuid)

    # ---- models ---------------------------------------------------------------------------
    def create_model(self, m: Any) -> uuid.UUID:
        _guard(self).own_class(m)
        return _api(self).create_model(m, actor=self.extension_id)

    def create_model_for_content(self, content_uuid: UuidLike, m: Any) -> uuid.UUID:
        _guard(self).own_class(m)
        _guard(self).visible_content(content_uuid)
        return _api(self).create_model_for_content(content_uuid, m, actor=self.extension_id)

    def create_model_for_entry(self, entry_uuid: UuidLike, m: Any) -> uuid.UUID:
        _guard(self).own_class(m)
        _guard(self).visible_entry(entry_uuid)
        return _api(self).create_model_for_entry(entry_uuid, m, actor=self.extension_id)

    def get_model(self, model_cls: type, model_id: UuidLike, *, inline_only: bool = False) -> Any:
        """One of the extension's models, refused (like get_model_by_content) when it is
        attached to an entry or content outside the grant."""
        _guard(self).own_class(model_cls)
        found = _api(self).get_model(model_cls, model_id, inline_only=inline_only)
        if found is not None:
            _guard(self).own_model(found)
        return found

    def get_model_by_content(self, model_cls: type, content_uuid: UuidLike, *,
                             inline_only: bool = False) -> Any:
        _guard(self).own_class(model_cls)
        _guard(self).visible_content(content_uuid)
        return _api(self).get_model_by_content(model_cls, content_uuid, inline_only=inline_only)

    def get_model_by_entry(self, model_cls: type, entry_uuid: UuidLike, *, inline_only: bool = False
                           ) -> Any:
        _guard(self).own_class(model_cls)
        _guard(self).visible_entry(entry_uuid)
        return _api(self).get_model_by_entry(model_cls, entry_uuid, inline_only=inline_only)

    def list_models(self, model_cls: type, *, inline_only: bool = False) -> list[Any]:
        """The extension's models of this type, except those attached outside the grant."""
        _guard(self).own_class(model_cls)
        g = _guard(self)
        return [m for m in _api(self).list_models(model_cls, inline_only=inline_only)
                if g.visible("model", m)]

    def update_model(self, m: Any) -> None:
        _guard(self).own_model(m)
        _api(self).update_model(m, actor=self.extension_id)

    def delete_model(self, m_or_uuid: Any) -> bool:
        _guard(self).own_model(m_or_uuid)
        return _api(self).delete_model(m_or_uuid, actor=self.extension_id)

    # ---- tags -----------------------------------------------------------------------------
    def add_tag_to_entry(self, entry_uuid: UuidLike, tag: str) -> bool:
        _guard(self).write_scope("WriteTags", [_guard(self).visible_entry(entry_uuid)], "entry")
        return _api(self).add_tag_to_entry(entry_uuid, tag, applied_by=self.extension_id)

    add_tag = add_tag_to_entry   # the agent examples spell it `ctx.vdfs().add_tag(photo.id, …)`

    def add_tag_to_content(self, content_uuid: UuidLike, tag: str) -> bool:
        _guard(self).write_scope("WriteTags", _guard(self).visible_content(content_uuid), "content")
        return _api(self).add_tag_to_content(content_uuid, tag, applied_by=self.extension_id)

    def add_tag_to_model(self, model: Any, tag: str) -> bool:
        _guard(self).grants.require("WriteTags")
        _guard(self).own_model(model)
        return _api(self).add_tag_to_model(model, tag, applied_by=self.extension_id)

    def remove_tag_from_entry(self, entry_uuid: UuidLike, tag: str) -> bool:
        _guard(self).write_scope("WriteTags", [_guard(self).visible_entry(entry_uuid)], "entry")
        return _api(self).remove_tag_from_entry(entry_uuid, tag, applied_by=self.extension_id)

    def remove_tag_from_content(self, content_uuid: UuidLike, tag: str) -> bool:
        _guard(self).write_scope("WriteTags", _guard(self).visible_content(content_uuid), "content")
        return _api(self).remove_tag_from_content(content_uuid, tag, applied_by=self.extension_id)

    def remove_tag_from_model(self, model: Any, tag: str) -> bool:
        _guard(self).grants.require("WriteTags")
        _guard(self).own_model(model)
        return _api(self).remove_tag_from_model(model, tag, applied_by=self.extension_id)

    def create_tag(self, name: str, *, color: str | None = None, parent: str | None = None) -> Tag:
        """Create a tag. The colour and parent of a tag that already exists are the user's:
        WriteTags lets an extension tag files inside its grant, not restyle the vocabulary."""
        _guard(self).grants.require("WriteTags")
        existing = _api(self).get_tag(name)
        if existing is not None and (
                (color is not None and color != existing.color)
                or (parent is not None and canonical_name(parent) != existing.parent)):
            raise PermissionDenied(self.extension_id, "WriteTags", None,
                                   f"tag {existing.name} exists; its colour and parent are the "
                                   "user's to change")
        return _api(self).create_tag(name, color=color, parent=parent, actor=self.extension_id)

    def get_tag(self, name: str) -> Tag | None:
        return _api(self).get_tag(name)

    def list_tags(self, namespace: str | None = None) -> list[Any]:
        return _api(self).list_tags(namespace)

    def tags_of_entry(self, entry_uuid: UuidLike) -> list[Any]:
        _guard(self).visible_entry(entry_uuid)
        return _api(self).tags_of_entry(entry_uuid)

    def tags_of_content(self, content_uuid: UuidLike) -> list[Any]:
        _guard(self).visible_content(content_uuid)
        return _api(self).tags_of_content(content_uuid)

    def tags_of_model(self, model: Any) -> list[Any]:
        _guard(self).own_model(model)
        return _api(self).tags_of_model(model)

    # ---- user metadata: custom fields by namespace ------------------------------------------
    def get_metadata(self, target: Any, *, scope: str = "entry") -> UserMetadata | None:
        _guard(self).target_paths(target, scope)
        return _api(self).get_metadata(target, scope=scope)

    def set_custom_field(self, target: Any, namespace: str, value: Any, *,
                         scope: str = "content") -> None:
        """Set one namespace of custom_data (other namespaces are left as they are)."""
        paths = _guard(self).target_paths(target, scope)
        _guard(self).custom_field(namespace, paths)
        with _api(self).batch():
            current = _api(self).get_metadata(target, scope=scope)
            data = dict(current.custom_data) if current else {}
            if value is None:
                data.pop(namespace, None)
            else:
                data[namespace] = value
            _api(self).set_custom_data(target, data, scope=scope, actor=self.extension_id)

    def set_custom_data(self, target: Any, data: dict[str, Any], *, scope: str = "entry") -> None:
        """Replace the namespaces present in `data`; each must be granted."""
        if not isinstance(data, dict):
            raise ArgumentError(f"custom data is a dict of namespaces, not {type(data).__name__}")
        for namespace, value in data.items():
            self.set_custom_field(target, namespace, value, scope=scope)

    def set_metadata_blob(self, target: Any, key: str, value: Any, *, scope: str = "content",
                          quantize: str | None = None) -> None:
        namespace = _namespace(blob_key(key))
        paths = _guard(self).target_paths(target, scope)
        _guard(self).custom_field(namespace, paths)
        _api(self).set_metadata_blob(target, key, value, scope=scope, quantize=quantize,
                                    actor=self.extension_id)

    def get_metadata_blob(self, target: Any, key: str, *, scope: str = "content") -> Any:
        _guard(self).target_paths(target, scope)
        return _api(self).get_metadata_blob(target, key, scope=scope)

    def _user_only(self, what: str) -> None:
        raise PermissionDenied(self.extension_id, what, None,
                               f"{what} is the user's own metadata; extensions write custom fields "
                               "under WriteCustomFields(namespaces=…) instead")

    def set_note(self, *a: Any, **k: Any) -> None:
        self._user_only("set_note")

    def set_favorite(self, *a: Any, **k: Any) -> None:
        self._user_only("set_favorite")

    def set_hidden(self, *a: Any, **k: Any) -> None:
        self._user_only("set_hidden")

    # ---- sidecars -------------------------------------------------------------------------
    def read_sidecar(self, content_uuid: UuidLike, kind: str, ext: str = "json") -> bytes:
        """A sidecar of readable content (never through a symlink)."""
        return _guard(self).read_sidecar(content_uuid, kind, ext)

    def write_sidecar(self, content_uuid: UuidLike, kind: str, data: bytes, ext: str = "json"
                      ) -> None:
        g = _guard(self)
        g.any_path(lambda p: g.grants.check_sidecar(kind, write=True, path=p),
                   g.visible_content(content_uuid))
        lib_path = _api(self).lib.path
        path = Sidecars(lib_path).path(as_uuid(content_uuid), kind, ext)
        try:
            write_below(str(lib_path), str(path), sidecar_data(data))   # never through a symlink
        except UnsafeFileError as exc:
            raise PermissionDenied(self.extension_id, f"WriteSidecars(kinds=[{kind!r}])", None,
                                   str(exc)) from None

    # ---- collections (organisation, guarded like tags) ------------------------------------
    def create_collection(self, name: str, description: str | None = None) -> Collection:
        _guard(self).grants.require("WriteTags")
        return _api(self).create_collection(name, description, actor=self.extension_id)

    def add_to_collection(self, collection: CollectionRef, item: Any, *,
                          kind: str | None = None, position: int | None = None) -> int:
        _guard(self).grants.require("WriteTags")
        _guard(self).target_paths(item, kind or "model")
        return _api(self).add_to_collection(collection, item, kind=kind, position=position,
                                           actor=self.extension_id)

    def collection_items(self, collection: CollectionRef) -> list[Any]:
        """The items the extension may see (a user's collection may hold files outside it)."""
        g = _guard(self)
        return [i for i in _api(self).collection_items(collection) if g.visible(i.kind, i.uuid)]

    def list_collections(self) -> list[Any]:
        return _api(self).list_collections()

    @contextmanager
    def batch(self) -> Iterator["ScopedVdfsApi"]:
        with _api(self).batch():
            yield self


_held: Backing[tuple[Any, Guard]] = Backing("host API")


def _api(host: ScopedVdfsApi) -> Any:
    return _held(host)[0]


def _guard(host: ScopedVdfsApi) -> Guard:
    return _held(host)[1]


def _namespace(key: str) -> str:
    for sep in NAMESPACE_SEPARATORS:
        if sep in key:
            return key.split(sep, 1)[0]
    return key

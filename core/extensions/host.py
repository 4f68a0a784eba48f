"""The host API an extension receives: `VdfsApi` bound to the extension's grants.

Every method checks before it delegates, and acts as the extension (`actor`/`applied_by` is its
id). Anything not listed here is refused by `__getattr__`, so a new VdfsApi method stays closed
to extensions until someone decides which permission guards it.
"""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from ..metadata import NotFoundError, as_uuid
from ..models.instances import model_uuid, spec_of
from ..safeopen import UnsafeFileError, read_below
from ..sidecars import Sidecars
from .permissions import GrantSet, PermissionDenied

NAMESPACE_SEPARATORS = (":", ".")


class ScopedVdfsApi:
    def __init__(self, api: Any, grants: GrantSet):
        self._api = api
        self._grants = grants
        self.lib = api.lib
        self.extension_id = grants.extension_id

    def __repr__(self) -> str:
        return f"<ScopedVdfsApi {self.extension_id}>"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise PermissionDenied(self.extension_id, name, None,
                               f"the host API does not expose {name!r} to extensions")

    # ---- what an extension may see --------------------------------------------------------
    def _entry(self, entry_uuid: Any) -> tuple[str, str, bytes | None, int | None]:
        """(path, location root, raw path bytes, inode) of an entry."""
        eu = as_uuid(entry_uuid, "entry uuid")
        row = self.lib.conn.execute(
            "SELECT e.path, l.path, e.raw_path, e.inode FROM entries e "
            "JOIN locations l ON l.id = e.location_id WHERE e.uuid = ?", (eu.bytes,)).fetchone()
        if row is None:
            raise NotFoundError(f"no entry {eu}")
        return row[0], row[1], row[2], row[3]

    def _visible_entry(self, entry_uuid: Any) -> str:
        path, root, _, _ = self._entry(entry_uuid)
        self._grants.check_read_entry(path, root)
        return path

    def _visible_content(self, content_uuid: Any) -> list[str]:
        """Paths of the content's entries the extension may read; refuses when there are none."""
        cu = as_uuid(content_uuid, "content uuid")
        rows = self.lib.conn.execute(
            "SELECT e.path, l.path FROM entries e JOIN locations l ON l.id = e.location_id "
            "JOIN content_identities c ON c.id = e.content_id WHERE c.uuid = ?", (cu.bytes,)).fetchall()
        grants = self._grants.require("ReadEntries")
        visible = [p for p, root in rows if self._grants.entry_allowed(p, root)]
        if not visible:
            raise PermissionDenied(self.extension_id, str(grants[0].permission), grants[0].scope,
                                   f"content {cu} has no entry inside the granted glob or scope")
        return visible

    @staticmethod
    def _any_path(check: Callable[[str | None], Any], paths: list[str] | list[None]) -> None:
        """Pass when `check` accepts one of the paths (content is reached through any of its
        visible copies); otherwise raise the last refusal."""
        last: PermissionDenied | None = None
        for p in paths:
            try:
                check(p)
                return
            except PermissionDenied as exc:
                last = exc
        assert last is not None, "no path to check"
        raise last

    def _write_scope(self, permission: str, paths: list[str], what: str) -> None:
        self._any_path(lambda p: self._grants.check_scoped(permission, p, what), paths)

    def _own_class(self, model_cls: Any) -> Any:
        spec = spec_of(model_cls)
        if spec.extension_id != self.extension_id:
            raise PermissionDenied(self.extension_id, f"Models({spec.model_type})", None,
                                   f"{spec.model_type} belongs to extension {spec.extension_id!r}")
        return spec

    def _own_model(self, m_or_uuid: Any) -> uuid.UUID:
        mu = model_uuid(m_or_uuid) if hasattr(m_or_uuid, "__vdfs_model__") else \
            as_uuid(m_or_uuid, "model uuid")
        if mu is None:
            raise NotFoundError("this model instance was never stored")
        row = self.lib.conn.execute(
            "SELECT m.extension_id, m.model_type, m.entry_uuid, m.content_identity_uuid "
            "FROM models m WHERE m.uuid = ?", (mu.bytes,)).fetchone()
        if row is None:
            raise NotFoundError(f"no model {mu}")
        if row[0] != self.extension_id:
            raise PermissionDenied(self.extension_id, f"Models({row[1]})", None,
                                   f"model {mu} belongs to extension {row[0]!r}")
        if row[2] is not None:
            self._visible_entry(uuid.UUID(bytes=row[2]))
        if row[3] is not None:
            self._visible_content(uuid.UUID(bytes=row[3]))
        return mu

    def _target_paths(self, target: Any, scope: str) -> list[str]:
        if hasattr(target, "__vdfs_model__") and not isinstance(target, type):
            self._own_model(target)
            return []
        if scope == "entry":
            return [self._visible_entry(target)]
        if scope == "content":
            return self._visible_content(target)
        if scope == "model":
            self._own_model(target)
            return []
        raise ValueError(f"scope must be 'entry', 'content' or 'model', not {scope!r}")

    # ---- queries --------------------------------------------------------------------------
    def query_entries(self) -> Any:
        """Entries inside the read scope only: the scope is compiled into the query."""
        from .scope_query import scoped_entries
        return scoped_entries(self._api, self._grants)

    def query_models(self, model_cls: Any) -> Any:
        from .scope_query import scoped_models
        self._own_class(model_cls)
        return scoped_models(self._api, self._grants, model_cls)

    def query(self, query: Any, **params: Any) -> Any:
        """Run DSL text (or a builder) with the scope compiled in: `api.query("entries …")`."""
        from .scope_query import ScopedExecutor
        return ScopedExecutor(self.lib, self._grants).run(query, params)

    def explain(self, query: Any, **params: Any) -> Any:
        from ..query_service import explain_query
        from .scope_query import apply_scope
        return explain_query(self.lib, apply_scope(query, self._grants, self.lib), params)

    def read_entry(self, entry_uuid: Any) -> bytes:
        """The bytes of a file the extension may read: opened below its location root without
        following any symlink, and only if it is still the inode that was indexed."""
        path, root, raw, inode = self._entry(entry_uuid)
        grant = self._grants.check_read_entry(path, root)
        try:
            return read_below(root, raw if raw is not None else path, inode=inode)
        except UnsafeFileError as exc:
            raise PermissionDenied(self.extension_id, str(grant.permission), grant.scope,
                                   str(exc)) from None

    def entry_path(self, entry_uuid: Any) -> str:
        return self._visible_entry(entry_uuid)

    # ---- models ---------------------------------------------------------------------------
    def create_model(self, m: Any) -> uuid.UUID:
        self._own_class(m)
        return self._api.create_model(m, actor=self.extension_id)

    def create_model_for_content(self, content_uuid: Any, m: Any) -> uuid.UUID:
        self._own_class(m)
        self._visible_content(content_uuid)
        return self._api.create_model_for_content(content_uuid, m, actor=self.extension_id)

    def create_model_for_entry(self, entry_uuid: Any, m: Any) -> uuid.UUID:
        self._own_class(m)
        self._visible_entry(entry_uuid)
        return self._api.create_model_for_entry(entry_uuid, m, actor=self.extension_id)

    def get_model(self, model_cls: Any, model_id: Any, *, inline_only: bool = False) -> Any:
        self._own_class(model_cls)
        return self._api.get_model(model_cls, model_id, inline_only=inline_only)

    def get_model_by_content(self, model_cls: Any, content_uuid: Any, *,
                             inline_only: bool = False) -> Any:
        self._own_class(model_cls)
        self._visible_content(content_uuid)
        return self._api.get_model_by_content(model_cls, content_uuid, inline_only=inline_only)

    def get_model_by_entry(self, model_cls: Any, entry_uuid: Any, *, inline_only: bool = False) -> Any:
        self._own_class(model_cls)
        self._visible_entry(entry_uuid)
        return self._api.get_model_by_entry(model_cls, entry_uuid, inline_only=inline_only)

    def list_models(self, model_cls: Any, *, inline_only: bool = False) -> list[Any]:
        self._own_class(model_cls)
        return self._api.list_models(model_cls, inline_only=inline_only)

    def update_model(self, m: Any) -> None:
        self._own_model(m)
        self._api.update_model(m, actor=self.extension_id)

    def delete_model(self, m_or_uuid: Any) -> bool:
        self._own_model(m_or_uuid)
        return self._api.delete_model(m_or_uuid, actor=self.extension_id)

    # ---- tags -----------------------------------------------------------------------------
    def add_tag_to_entry(self, entry_uuid: Any, tag: str) -> bool:
        self._write_scope("WriteTags", [self._visible_entry(entry_uuid)], "entry")
        return self._api.add_tag_to_entry(entry_uuid, tag, applied_by=self.extension_id)

    add_tag = add_tag_to_entry   # SPEC §4 spells it `ctx.vdfs().add_tag(photo.id, …)`

    def add_tag_to_content(self, content_uuid: Any, tag: str) -> bool:
        self._write_scope("WriteTags", self._visible_content(content_uuid), "content")
        return self._api.add_tag_to_content(content_uuid, tag, applied_by=self.extension_id)

    def add_tag_to_model(self, model: Any, tag: str) -> bool:
        self._grants.require("WriteTags")
        self._own_model(model)
        return self._api.add_tag_to_model(model, tag, applied_by=self.extension_id)

    def remove_tag_from_entry(self, entry_uuid: Any, tag: str) -> bool:
        self._write_scope("WriteTags", [self._visible_entry(entry_uuid)], "entry")
        return self._api.remove_tag_from_entry(entry_uuid, tag, applied_by=self.extension_id)

    def remove_tag_from_content(self, content_uuid: Any, tag: str) -> bool:
        self._write_scope("WriteTags", self._visible_content(content_uuid), "content")
        return self._api.remove_tag_from_content(content_uuid, tag, applied_by=self.extension_id)

    def remove_tag_from_model(self, model: Any, tag: str) -> bool:
        self._grants.require("WriteTags")
        self._own_model(model)
        return self._api.remove_tag_from_model(model, tag, applied_by=self.extension_id)

    def create_tag(self, name: str, *, color: str | None = None, parent: str | None = None) -> Any:
        self._grants.require("WriteTags")
        return self._api.create_tag(name, color=color, parent=parent, actor=self.extension_id)

    def get_tag(self, name: str) -> Any:
        return self._api.get_tag(name)

    def list_tags(self, namespace: str | None = None) -> list[Any]:
        return self._api.list_tags(namespace)

    def tags_of_entry(self, entry_uuid: Any) -> list[Any]:
        self._visible_entry(entry_uuid)
        return self._api.tags_of_entry(entry_uuid)

    def tags_of_content(self, content_uuid: Any) -> list[Any]:
        self._visible_content(content_uuid)
        return self._api.tags_of_content(content_uuid)

    def tags_of_model(self, model: Any) -> list[Any]:
        self._own_model(model)
        return self._api.tags_of_model(model)

    # ---- user metadata: custom fields by namespace ------------------------------------------
    def get_metadata(self, target: Any, *, scope: str = "entry") -> Any:
        self._target_paths(target, scope)
        return self._api.get_metadata(target, scope=scope)

    def set_custom_field(self, target: Any, namespace: str, value: Any, *,
                         scope: str = "content") -> None:
        """Set one namespace of custom_data (other namespaces are left as they are)."""
        paths = self._target_paths(target, scope)
        self._any_path(lambda p: self._grants.check_custom_field(namespace, p), paths or [None])
        with self._api.batch():
            current = self._api.get_metadata(target, scope=scope)
            data = dict(current.custom_data) if current else {}
            if value is None:
                data.pop(namespace, None)
            else:
                data[namespace] = value
            self._api.set_custom_data(target, data, scope=scope, actor=self.extension_id)

    def set_custom_data(self, target: Any, data: dict[str, Any], *, scope: str = "entry") -> None:
        """Replace the namespaces present in `data`; each must be granted."""
        for namespace, value in data.items():
            self.set_custom_field(target, namespace, value, scope=scope)

    def set_metadata_blob(self, target: Any, key: str, value: Any, *, scope: str = "content",
                          quantize: str | None = None) -> None:
        namespace = _namespace(key)
        paths = self._target_paths(target, scope)
        self._any_path(lambda p: self._grants.check_custom_field(namespace, p), paths or [None])
        self._api.set_metadata_blob(target, key, value, scope=scope, quantize=quantize,
                                    actor=self.extension_id)

    def get_metadata_blob(self, target: Any, key: str, *, scope: str = "content") -> Any:
        self._target_paths(target, scope)
        return self._api.get_metadata_blob(target, key, scope=scope)

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
    def read_sidecar(self, content_uuid: Any, kind: str, ext: str = "json") -> bytes:
        paths = self._visible_content(content_uuid)
        self._any_path(lambda p: self._grants.check_sidecar(kind, write=False, path=p), paths)
        path = Sidecars(self.lib.path).path(as_uuid(content_uuid), kind, ext)
        try:
            return read_below(str(self.lib.path), str(path))
        except NotFoundError:
            raise NotFoundError(f"no {kind} sidecar for content {content_uuid}") from None
        except UnsafeFileError as exc:
            raise PermissionDenied(self.extension_id, "ReadSidecars", None, str(exc)) from None

    def write_sidecar(self, content_uuid: Any, kind: str, data: bytes, ext: str = "json") -> None:
        paths = self._visible_content(content_uuid)
        self._any_path(lambda p: self._grants.check_sidecar(kind, write=True, path=p), paths)
        Sidecars(self.lib.path).write_bytes(as_uuid(content_uuid), kind, ext, data)

    # ---- collections (organisation, guarded like tags) ------------------------------------
    def create_collection(self, name: str, description: str | None = None) -> Any:
        self._grants.require("WriteTags")
        return self._api.create_collection(name, description, actor=self.extension_id)

    def add_to_collection(self, collection: Any, item: Any, *, kind: str | None = None,
                          position: int | None = None) -> int:
        self._grants.require("WriteTags")
        self._target_paths(item, kind or "model")
        return self._api.add_to_collection(collection, item, kind=kind, position=position,
                                           actor=self.extension_id)

    def collection_items(self, collection: Any) -> list[Any]:
        return self._api.collection_items(collection)

    def list_collections(self) -> list[Any]:
        return self._api.list_collections()

    @contextmanager
    def batch(self) -> Iterator["ScopedVdfsApi"]:
        with self._api.batch():
            yield self


def _namespace(key: str) -> str:
    for sep in NAMESPACE_SEPARATORS:
        if sep in key:
            return key.split(sep, 1)[0]
    return key

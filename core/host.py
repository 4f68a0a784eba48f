"""`VdfsApi`: the host API that notebooks, jobs and extensions call (`lib.vdfs()`).

See docs/architecture.md §6.

Every mutation is a method here, takes the `actor` (user or extension id) it acts for, runs in
one transaction, writes a sync_log row where the record syncs, and publishes its event on
`lib.events` after commit. The extension host wraps this class with permission checks, so no
write may bypass it.
"""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

from .store import changelog
from .domain import collection as cols, metadata as meta, tags as tagmod
from .errors import ArgumentError
from .domain.metadata import NotFoundError, as_uuid
from .domain.models import find_model, store
from .domain.models.instances import model_uuid, spec_of
from .store.txn import after_commit, transaction
from .store.events import Event
from .domain import blobs
from .query.executor import executor_for

if TYPE_CHECKING:  # pragma: no cover
    import sqlite3
    from core.domain.collection import CollectionRef
    from core.library import Library
    from core.store.ids import UuidLike
    from vdfs_query.builder import EntryQuery, ModelQuery

USER = "user"


class VdfsApi:
    """Host API bound to one library (and, through the extension host, to one actor)."""

    def __init__(self, lib: Library):
        self.lib = lib

    @property
    def conn(self) -> sqlite3.Connection:
        return self.lib.conn

    @contextmanager
    def batch(self) -> Iterator["VdfsApi"]:
        """Group many mutations into one transaction (events fire after it commits)."""
        with transaction(self.conn):
            yield self

    def _publish(self, kind: str, payload: dict[str, Any]) -> None:
        after_commit(self.conn, lambda: self.lib.events.publish(Event(kind, payload)))

    # ---- queries (the query language; core/query/service.py executes) ---------------------
    def query_entries(self) -> EntryQuery:
        import vdfs_query
        return vdfs_query.query_entries(executor=executor_for(self.lib))

    def query_models(self, model_cls: type | str) -> ModelQuery:
        """A builder over one model type; a name ('Person', 'ext.id.Person') of a declared
        class yields instances too, an unknown name plain records."""
        import vdfs_query
        if isinstance(model_cls, str):
            ext, _, name = model_cls.rpartition(".")
            try:
                model_cls = find_model(name, ext or None)
            except LookupError:
                pass
        return vdfs_query.query_models(model_cls, executor=executor_for(self.lib))

    # ---- models ---------------------------------------------------------------------------
    def create_model(self, m: Any, *, actor: str = USER) -> uuid.UUID:
        """Store a standalone model; returns its uuid."""
        return self._create(m, "standalone", None, actor)

    def create_model_for_content(self, content_uuid: UuidLike, m: Any, *, actor: str = USER
                                 ) -> uuid.UUID:
        """Attach a content-scoped model to a content identity (one per type and content)."""
        return self._create(m, "content", as_uuid(content_uuid, "content uuid"), actor)

    def create_model_for_entry(self, entry_uuid: UuidLike, m: Any, *, actor: str = USER
                               ) -> uuid.UUID:
        return self._create(m, "entry", as_uuid(entry_uuid, "entry uuid"), actor)

    def _create(self, m: Any, scope: str, target: uuid.UUID | None, actor: str) -> uuid.UUID:
        spec = spec_of(m)
        with transaction(self.conn) as conn:
            mu = store.insert(self.lib, conn, m, scope, target)
        self._publish("model.created", {
            "uuid": str(mu), "model_type": spec.model_type, "extension_id": spec.extension_id,
            "scope": scope, "target": str(target) if target else None, "actor": actor})
        return mu

    def get_model(self, model_cls: type, model_id: UuidLike, *, inline_only: bool = False
                  ) -> Any | None:
        return store.get(self.lib, model_cls, model_id, inline_only=inline_only)

    def get_model_by_content(self, model_cls: type, content_uuid: UuidLike, *,
                             inline_only: bool = False) -> Any | None:
        """The content's model of this type, or None (blob fields load on access)."""
        return store.get_by_target(self.lib, model_cls, "content", content_uuid,
                                   inline_only=inline_only)

    def get_model_by_entry(self, model_cls: type, entry_uuid: UuidLike, *,
                           inline_only: bool = False) -> Any | None:
        return store.get_by_target(self.lib, model_cls, "entry", entry_uuid,
                                   inline_only=inline_only)

    def list_models(self, model_cls: type, *, inline_only: bool = False) -> list[Any]:
        """Every stored model of a type, in creation order (no filtering: use query_models)."""
        return store.load(self.lib, model_cls, "", (), inline_only=inline_only)

    def update_model(self, m: Any, *, actor: str = USER) -> None:
        with transaction(self.conn) as conn:
            store.update(self.lib, conn, m)
        self._publish("model.updated", {"uuid": str(model_uuid(m)),
                                        "model_type": spec_of(m).model_type, "actor": actor})

    def delete_model(self, m_or_uuid: Any, *, actor: str = USER) -> bool:
        mu = model_uuid(m_or_uuid) if hasattr(m_or_uuid, "__vdfs_model__") else \
            as_uuid(m_or_uuid, "model uuid")
        if mu is None:
            raise NotFoundError("this model instance was never stored")
        with transaction(self.conn) as conn:
            gone = store.delete(self.lib, conn, mu)
        if gone:
            self._publish("model.deleted", {"uuid": str(mu), "actor": actor})
        return gone

    # ---- tags -----------------------------------------------------------------------------
    def add_tag_to_entry(self, entry_uuid: UuidLike, tag: str, applied_by: str = USER) -> bool:
        """Tag one path. True if newly applied, False if it already had the tag."""
        return self._tag("entry", entry_uuid, tag, applied_by)

    def add_tag_to_content(self, content_uuid: UuidLike, tag: str, applied_by: str = USER) -> bool:
        """Tag content: every copy, on every device, shows the tag."""
        return self._tag("content", content_uuid, tag, applied_by)

    def add_tag_to_model(self, model: Any, tag: str, applied_by: str = USER) -> bool:
        return self._tag("model", _model_target(model), tag, applied_by)

    def remove_tag_from_entry(self, entry_uuid: UuidLike, tag: str, applied_by: str = USER) -> bool:
        return self._untag("entry", entry_uuid, tag, applied_by)

    def remove_tag_from_content(self, content_uuid: UuidLike, tag: str, applied_by: str = USER
                                ) -> bool:
        return self._untag("content", content_uuid, tag, applied_by)

    def remove_tag_from_model(self, model: Any, tag: str, applied_by: str = USER) -> bool:
        return self._untag("model", _model_target(model), tag, applied_by)

    def _tag(self, scope: str, target: Any, name: str, applied_by: str) -> bool:
        target = as_uuid(target, f"{scope} uuid")
        with transaction(self.conn) as conn:
            mid = meta.metadata_id(conn, scope, target)
            tag, added = tagmod.link(conn, mid, name, applied_by)
            if added:
                changelog.record(self.lib, conn, "tag_links", _meta_uuid(conn, mid), "insert",
                                 {"tag": tag.name, "scope": scope, "target": str(target),
                                  "applied_by": applied_by})
        if added:
            self._publish("tag.added", {"tag": tag.name, "scope": scope, "target": str(target),
                                        "applied_by": applied_by})
        return added

    def _untag(self, scope: str, target: Any, name: str, applied_by: str) -> bool:
        target = as_uuid(target, f"{scope} uuid")
        with transaction(self.conn) as conn:
            mid = meta.metadata_id(conn, scope, target, create=False)
            removed = tagmod.unlink(conn, mid, name)
            if removed:
                changelog.record(self.lib, conn, "tag_links", _meta_uuid(conn, mid), "delete",
                                 {"tag": tagmod.canonical_name(name), "scope": scope,
                                  "target": str(target), "removed_by": applied_by})
        if removed:
            self._publish("tag.removed", {"tag": tagmod.canonical_name(name), "scope": scope,
                                          "target": str(target), "applied_by": applied_by})
        return removed

    def create_tag(self, name: str, *, color: str | None = None, parent: str | None = None,
                   actor: str = USER) -> tagmod.Tag:
        """Create (or recolour / re-parent) a tag without applying it to anything."""
        with transaction(self.conn) as conn:
            tag, _ = tagmod.ensure_tag(conn, name, color=color, parent=parent)
            changelog.record(self.lib, conn, "tags", tag.uuid, "insert",
                             {"name": tag.name, "color": tag.color, "parent": tag.parent,
                              "actor": actor})
        return tag

    def get_tag(self, name: str) -> tagmod.Tag | None:
        return tagmod.get_tag(self.conn, name)

    def list_tags(self, namespace: str | None = None) -> list[tagmod.Tag]:
        return tagmod.list_tags(self.conn, namespace)

    def tags_of_entry(self, entry_uuid: UuidLike) -> list[tagmod.TagLink]:
        """An entry's own tags plus those of its content (shown on every copy)."""
        return tagmod.tags_of_entry(self.conn, entry_uuid)

    def tags_of_content(self, content_uuid: UuidLike) -> list[tagmod.TagLink]:
        return tagmod.links_of(self.conn, meta.metadata_id(self.conn, "content", content_uuid,
                                                           create=False), "content")

    def tags_of_model(self, model: Any) -> list[tagmod.TagLink]:
        return tagmod.links_of(self.conn, meta.metadata_id(self.conn, "model",
                                                           _model_target(model)), "model")

    # ---- notes, favourites, custom data ---------------------------------------------------
    def get_metadata(self, target: Any, *, scope: str = "entry") -> meta.UserMetadata | None:
        scope, target = _scoped(target, scope)
        return meta.get(self.conn, scope, target)

    def set_note(self, target: Any, note: str | None, *, scope: str = "entry",
                 actor: str = USER) -> None:
        self._set_meta(target, scope, actor, notes=note)

    def set_favorite(self, target: Any, favorite: bool = True, *, scope: str = "entry",
                     actor: str = USER) -> None:
        self._set_meta(target, scope, actor, favorite=favorite)

    def set_hidden(self, target: Any, hidden: bool = True, *, scope: str = "entry",
                   actor: str = USER) -> None:
        self._set_meta(target, scope, actor, hidden=hidden)

    def set_custom_data(self, target: Any, data: dict[str, Any], *, scope: str = "entry",
                        actor: str = USER) -> None:
        self._set_meta(target, scope, actor, custom_data=data)

    def _set_meta(self, target: Any, scope: str, actor: str, **changes: Any) -> None:
        scope, target = _scoped(target, scope)
        with transaction(self.conn) as conn:
            mid, stored = meta.update(conn, scope, target, **changes)
            changelog.record(self.lib, conn, "user_metadata", _meta_uuid(conn, mid), "update",
                             {"scope": scope, "target": str(target), "changes": stored,
                              "actor": actor})

    def set_metadata_blob(self, target: Any, key: str, value: Any, *, scope: str = "entry",
                          quantize: str | None = None, actor: str = USER) -> None:
        """Attach a large value (array, bytes…) to an entry or content (None removes it)."""
        scope, target = _scoped(target, scope)
        with transaction(self.conn) as conn:
            mid = meta.metadata_id(conn, scope, target)
            meta.set_blob(conn, mid, key, value, quantize=quantize, counters=self.lib.blob_stats)

    def get_metadata_blob(self, target: Any, key: str, *, scope: str = "entry") -> Any:
        scope, target = _scoped(target, scope)
        mid = meta.metadata_id(self.conn, scope, target, create=False)
        if mid is None:
            return None
        return meta.get_blob(self.conn, mid, key, what=f"{scope} {target}",
                             counters=self.lib.blob_stats)

    # ---- collections ----------------------------------------------------------------------
    def create_collection(self, name: str, description: str | None = None, *,
                          actor: str = USER) -> cols.Collection:
        with transaction(self.conn) as conn:
            col = cols.create(conn, name, description)
            changelog.record(self.lib, conn, "collections", col.uuid, "insert",
                             {"name": col.name, "description": description, "actor": actor})
        return col

    def add_to_collection(self, collection: CollectionRef, item: Any, *,
                          kind: str | None = None, position: int | None = None,
                          actor: str = USER) -> int:
        """Add an entry, content identity or model (instance, or uuid with `kind`); returns
        its position."""
        kind, target = _item(item, kind)
        with transaction(self.conn) as conn:
            pos = cols.add(conn, collection, kind, target, position)
            col = cols.get(conn, collection)
            changelog.record(self.lib, conn, "collection_items", col.uuid, "insert",
                             {"kind": kind, "item": str(target), "position": pos, "actor": actor})
        return pos

    def remove_from_collection(self, collection: CollectionRef, item: Any, *,
                               kind: str | None = None, actor: str = USER) -> bool:
        kind, target = _item(item, kind)
        with transaction(self.conn) as conn:
            gone = cols.remove(conn, collection, kind, target)
            if gone:
                changelog.record(self.lib, conn, "collection_items", cols.get(conn, collection).uuid,
                                 "delete", {"kind": kind, "item": str(target), "actor": actor})
        return gone

    def move_in_collection(self, collection: CollectionRef, item: Any, position: int, *,
                           kind: str | None = None, actor: str = USER) -> int:
        kind, target = _item(item, kind)
        with transaction(self.conn) as conn:
            pos = cols.move(conn, collection, kind, target, position)
            changelog.record(self.lib, conn, "collection_items", cols.get(conn, collection).uuid,
                             "update", {"kind": kind, "item": str(target), "position": pos,
                                        "actor": actor})
        return pos

    def collection_items(self, collection: CollectionRef) -> list[cols.CollectionItem]:
        return cols.items(self.conn, collection)

    def list_collections(self) -> list[cols.Collection]:
        return cols.list_all(self.conn)

    def delete_collection(self, collection: CollectionRef, *, actor: str = USER) -> None:
        with transaction(self.conn) as conn:
            col = cols.get(conn, collection)
            cols.delete(conn, col)
            changelog.record(self.lib, conn, "collections", col.uuid, "delete", {"actor": actor})


def _model_target(model: Any) -> uuid.UUID:
    if hasattr(model, "__vdfs_model__") and not isinstance(model, type):
        mu = model_uuid(model)
        if mu is None:
            raise NotFoundError(f"this {spec_of(model).model_type} was never stored: "
                                "create it before tagging or collecting it")
        return mu
    return as_uuid(model, "model uuid")


def _scoped(target: Any, scope: str) -> tuple[str, uuid.UUID]:
    if hasattr(target, "__vdfs_model__") and not isinstance(target, type):
        return "model", _model_target(target)
    if scope not in meta.SCOPES:
        raise ArgumentError(f"scope must be one of {meta.SCOPES}, not {scope!r}")
    return scope, as_uuid(target, f"{scope} uuid")


def _item(item: Any, kind: str | None) -> tuple[str, uuid.UUID]:
    if hasattr(item, "__vdfs_model__") and not isinstance(item, type):
        return "model", _model_target(item)
    if kind is None:
        raise ArgumentError("pass kind='entry', 'content' or 'model' with a uuid")
    return kind, as_uuid(item, f"{kind} uuid")


def _meta_uuid(conn: Any, metadata_id: int) -> uuid.UUID:
    return uuid.UUID(bytes=conn.execute("SELECT uuid FROM user_metadata WHERE id = ?",
                                        (metadata_id,)).fetchone()[0])

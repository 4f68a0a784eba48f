"""What an extension may see and change, decided in one place.

`Guard` answers every scope question about one extension: is this entry, this content, this
model visible to it; may it write there; may an action it proposes make these changes. The
scoped host API asks it before each call, the agent runtime before each event, and
core.actions before every preview and commit of the extension's actions — so the answer is the
same whichever door (widget, CLI, plain Python) the request came through.
"""
from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from core.errors import ArgumentError
from core.domain.metadata import NotFoundError, as_uuid
from core.domain.models.instances import model_uuid, spec_of
from core.content.safeopen import UnsafeFileError, read_below
from core.domain.sidecars import Sidecars
from .permissions import GrantSet, PermissionDenied

if TYPE_CHECKING:  # pragma: no cover
    from core.domain.models.spec import ModelSpec
    from core.library import Library
    from core.store.ids import UuidLike


class EntryRow(NamedTuple):
    path: str
    root: str               # its location's root
    raw: bytes | None       # the exact path bytes when the name is not UTF-8
    inode: int | None
    device_id: int


def locate_entry(lib: Library, entry_uuid: UuidLike) -> EntryRow:
    """Where an entry is (its path, location root, inode, device); no permission check."""
    eu = as_uuid(entry_uuid, "entry uuid")
    row = lib.conn.execute(
        "SELECT e.path, l.path, e.raw_path, e.inode, l.device_id FROM entries e "
        "JOIN locations l ON l.id = e.location_id WHERE e.uuid = ?", (eu.bytes,)).fetchone()
    if row is None:
        raise NotFoundError(f"no entry {eu}")
    return EntryRow(*row)


def read_located(lib: Library, e: EntryRow) -> bytes:
    """The bytes of a located entry of this device: opened below its location root without
    following any symlink, and only if it is still the inode that was indexed."""
    if e.device_id != lib.device_id:
        raise NotFoundError(f"{e.path} is on another device: read it there")
    return read_below(e.root, e.raw if e.raw is not None else e.path, inode=e.inode)


class Guard:
    __slots__ = ("lib", "grants", "extension_id")

    def __init__(self, lib: Library, grants: GrantSet):
        self.lib, self.grants, self.extension_id = lib, grants, grants.extension_id

    def entry(self, entry_uuid: UuidLike) -> EntryRow:
        return locate_entry(self.lib, entry_uuid)

    def visible_entry(self, entry_uuid: UuidLike) -> str:
        e = self.entry(entry_uuid)
        self.grants.check_read_entry(e.path, e.root)
        return e.path

    def read_entry(self, entry_uuid: UuidLike) -> bytes:
        """The bytes of a readable entry (read_located); an unsafe path is a refusal."""
        e = self.entry(entry_uuid)
        grant = self.grants.check_read_entry(e.path, e.root)
        try:
            return read_located(self.lib, e)
        except UnsafeFileError as exc:
            raise PermissionDenied(self.extension_id, str(grant.permission), grant.scope,
                                   str(exc)) from None

    def read_sidecar(self, content_uuid: UuidLike, kind: str, ext: str) -> bytes:
        """A sidecar of content the extension may read, under a granted kind; opened below the
        library folder without following symlinks."""
        cu = as_uuid(content_uuid, "content uuid")
        self.any_path(lambda p: self.grants.check_sidecar(kind, write=False, path=p),
                      self.visible_content(cu))
        path = Sidecars(self.lib.path).path(cu, kind, ext)
        try:
            return read_below(str(self.lib.path), str(path))
        except NotFoundError:
            raise NotFoundError(f"no {kind} sidecar for content {cu}") from None
        except UnsafeFileError as exc:
            raise PermissionDenied(self.extension_id, f"ReadSidecars(kinds=[{kind!r}])", None,
                                   str(exc)) from None

    def visible_content(self, content_uuid: UuidLike) -> list[str]:
        """Paths of the content's entries the extension may read; refuses when there are none."""
        cu = as_uuid(content_uuid, "content uuid")
        rows = self.lib.conn.execute(
            "SELECT e.path, l.path FROM entries e JOIN locations l ON l.id = e.location_id "
            "JOIN content_identities c ON c.id = e.content_id WHERE c.uuid = ?", (cu.bytes,)).fetchall()
        grants = self.grants.require("ReadEntries")
        visible = [p for p, root in rows if self.grants.entry_allowed(p, root)]
        if not visible:
            raise PermissionDenied(self.extension_id, str(grants[0].permission), grants[0].scope,
                                   f"content {cu} has no entry inside the granted glob or scope")
        return visible

    @staticmethod
    def any_path(check: Callable[[str | None], Any], paths: list[str] | list[None]) -> None:
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

    def write_scope(self, permission: str, paths: list[str], what: str) -> None:
        self.any_path(lambda p: self.grants.check_scoped(permission, p, what), paths)

    def custom_field(self, namespace: str, paths: list[str]) -> None:
        """The namespace is granted, inside the scope for one of `paths` ([] = not a path)."""
        self.any_path(lambda p: self.grants.check_custom_field(namespace, p), paths or [None])

    def visible(self, scope: str, target: Any) -> bool:
        """May the extension see this entry, content or (its own) model?"""
        try:
            self.target_paths(target, scope)
        except (PermissionDenied, LookupError, ValueError):
            return False
        return True

    def own_class(self, model_cls: type) -> ModelSpec:
        spec = spec_of(model_cls)
        if spec.extension_id != self.extension_id:
            raise PermissionDenied(self.extension_id, f"Models({spec.model_type})", None,
                                   f"{spec.model_type} belongs to extension {spec.extension_id!r}")
        return spec

    def own_model(self, m_or_uuid: Any) -> uuid.UUID:
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
            self.visible_entry(uuid.UUID(bytes=row[2]))
        if row[3] is not None:
            self.visible_content(uuid.UUID(bytes=row[3]))
        return mu

    def target_paths(self, target: Any, scope: str) -> list[str]:
        if hasattr(target, "__vdfs_model__") and not isinstance(target, type):
            self.own_model(target)
            return []
        if scope == "entry":
            return [self.visible_entry(target)]
        if scope == "content":
            return self.visible_content(target)
        if scope == "model":
            self.own_model(target)
            return []
        raise ArgumentError(f"scope must be 'entry', 'content' or 'model', not {scope!r}")

    # ---- actions ---------------------------------------------------------------------------
    def check_changes(self, changes: list[Any]) -> None:
        """Refuse an action change the grants do not cover (file moves and deletes are not
        covered by any permission an extension can hold)."""
        for c in changes:
            if c.kind in ("add_tag", "remove_tag"):
                paths = self.target_paths(c.target_uuid, c.scope)
                if c.scope == "model":
                    self.grants.require("WriteTags")
                else:
                    self.write_scope("WriteTags", paths, c.scope)
            elif c.kind == "delete_model":
                self.own_model(c.target_uuid)
            elif c.kind == "create_model":
                after = c.after or {}
                if after.get("extension_id") != self.extension_id:
                    raise PermissionDenied(self.extension_id, f"Models({after.get('model_type')})",
                                           None, f"{after.get('model_type')} belongs to extension "
                                           f"{after.get('extension_id')!r}")
                if after.get("scope") in ("content", "entry"):
                    self.target_paths(after["scope_target"], after["scope"])
            else:
                raise PermissionDenied(self.extension_id, f"Action({c.kind})", None,
                                       f"extensions cannot {c.describe()}")

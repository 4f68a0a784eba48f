"""Permissions an extension requests, the subset a user grants, and the checks that enforce them.

An extension declares `permissions=[Permission.ReadEntries(glob="**/*.jpg"), Permission.WriteTags]`.
The user grants some of them, each optionally scoped to locations or path prefixes
(`Permission.ReadEntries(glob="**/*.jpg").scoped_to("/My Photos")`). `GrantSet` answers every
check the host API makes and raises `PermissionDenied` naming the permission and its scope.
A granted glob is intersected with the requested one: a user can narrow, never widen.
"""
from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from core.errors import ArgumentError, VdfsError
from .globs import compile_glob, glob_match, glob_to_regex
from core.domain.locations import find_location_root, is_within

if TYPE_CHECKING:  # pragma: no cover
    from core.domain.locations import Location
    from core.library import Library

PREFERENCES = ("local", "cloud")


class PermissionDenied(VdfsError, PermissionError):
    """An extension asked for something its grants do not allow; says which grant and scope."""

    def __init__(self, extension_id: str, permission: str, scope: Sequence[str] | None,
                 detail: str):
        self.extension_id = extension_id
        self.permission = permission
        self.scope = None if scope is None else list(scope)
        self.detail = detail
        if self.scope is None:
            where = ""
        else:
            where = f" (scope {self.scope})" if self.scope else " (scope: everywhere)"
        super().__init__(f"extension {extension_id!r}: permission {permission}{where} "
                         f"refused: {detail}")


@dataclass(frozen=True)
class PermissionSpec:
    """One permission with its parameters; `scoped_to(...)` turns it into a user's `Grant`."""

    name: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def args(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.params}

    def __call__(self) -> "PermissionSpec":
        """`Permission.WriteTags` and `Permission.WriteTags()` are the same thing."""
        return self

    def scoped_to(self, *scope: str | uuid.UUID | os.PathLike[str] | Location) -> "Grant":
        return Grant(self, tuple(_scope_item(s) for s in scope))

    def to_json(self) -> dict[str, Any]:
        return {"permission": self.name, "params": self.args}

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{self.name}({inner})" if inner else self.name

    __repr__ = __str__


def _spec(name: str, **params: Any) -> PermissionSpec:
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, (list, tuple, set, frozenset)) else v)
                          for k, v in params.items()))
    return PermissionSpec(name, frozen)


def _names(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    items = tuple(value or ())
    if not items or not all(isinstance(v, str) and v for v in items):
        raise ArgumentError(f"{what} must be a non-empty list of names, got {value!r}")
    return tuple(sorted(set(items)))


class Permission:
    """The permission vocabulary (docs/permissions.md): `Permission.X(...)`."""

    @staticmethod
    def ReadEntries(glob: str = "**") -> PermissionSpec:  # noqa: N802 - mirrors the SDK spelling
        compile_glob(glob)
        return _spec("ReadEntries", glob=glob)

    @staticmethod
    def ReadSidecars(kinds: Iterable[str]) -> PermissionSpec:  # noqa: N802
        return _spec("ReadSidecars", kinds=_names(kinds, "ReadSidecars kinds"))

    @staticmethod
    def WriteSidecars(kinds: Iterable[str]) -> PermissionSpec:  # noqa: N802
        return _spec("WriteSidecars", kinds=_names(kinds, "WriteSidecars kinds"))

    WriteTags = _spec("WriteTags")
    DispatchJobs = _spec("DispatchJobs")

    @staticmethod
    def WriteCustomFields(namespaces: Iterable[str]) -> PermissionSpec:  # noqa: N802
        return _spec("WriteCustomFields", namespaces=_names(namespaces, "WriteCustomFields namespaces"))

    @staticmethod
    def UseModel(category: str, preference: str = "local") -> PermissionSpec:  # noqa: N802
        if not isinstance(category, str) or not category:
            raise ArgumentError(f"UseModel category must be a non-empty string, got {category!r}")
        if preference not in PREFERENCES:
            raise ArgumentError(f"UseModel preference must be one of {PREFERENCES}, got {preference!r}")
        return _spec("UseModel", category=category, preference=preference)

    @staticmethod
    def from_json(data: dict[str, Any]) -> PermissionSpec:
        name = data.get("permission")
        params = data.get("params") or {}
        factory = getattr(Permission, str(name), None)
        if name not in KNOWN or factory is None:
            raise ArgumentError(f"unknown permission {name!r}; known: {sorted(KNOWN)}")
        if isinstance(factory, PermissionSpec):
            if params:
                raise ArgumentError(f"permission {name} takes no parameters, got {params}")
            return factory
        return factory(**params)


def manifest_permissions(manifest: dict[str, Any]) -> list[PermissionSpec]:
    """What a manifest requests: a package's manifest.json, or the one recorded at install."""
    return [Permission.from_json(p) for p in manifest.get("permissions", [])]


KNOWN = ("ReadEntries", "ReadSidecars", "WriteSidecars", "WriteTags", "WriteCustomFields",
         "DispatchJobs", "UseModel")


@dataclass(frozen=True)
class Grant:
    """A permission as the user granted it, limited to locations / path prefixes (() = all)."""

    permission: PermissionSpec
    scope: tuple[str, ...] = ()

    def to_row(self) -> tuple[str, str, str]:
        return (self.permission.name, json.dumps(self.permission.args, sort_keys=True),
                json.dumps(list(self.scope)))

    @classmethod
    def from_row(cls, name: str, params: str, scope: str) -> "Grant":
        spec = Permission.from_json({"permission": name, "params": json.loads(params or "{}")})
        return cls(spec, tuple(json.loads(scope or "[]")))


def _scope_item(item: Any) -> str:
    if isinstance(item, uuid.UUID):
        return str(item)
    if isinstance(item, os.PathLike):
        return os.fspath(item)
    path = getattr(item, "path", None)   # a location object
    if path is not None and not isinstance(item, str):
        return os.fspath(path)
    if not isinstance(item, str) or not item:
        raise ArgumentError(f"a scope is a location (name, uuid) or an absolute path prefix, got {item!r}")
    return item


def as_grant(item: Grant | PermissionSpec | dict[str, Any], default_scope: Sequence[Any] = ()
             ) -> Grant:
    if isinstance(item, Grant):
        return item
    if isinstance(item, PermissionSpec):
        return item.scoped_to(*default_scope)
    if isinstance(item, dict):
        return Permission.from_json(item).scoped_to(*item.get("scope", default_scope))
    raise ArgumentError(f"a grant is a Permission or Permission.X(...).scoped_to(...), got {item!r}")


def validate_grants(extension_id: str, requested: Sequence[PermissionSpec],
                    grants: Sequence[Grant]) -> None:
    """Refuse a grant that is not a subset of what the extension requested."""
    by_name: dict[str, list[PermissionSpec]] = {}
    for p in requested:
        by_name.setdefault(p.name, []).append(p)
    for g in grants:
        asked = by_name.get(g.permission.name)
        if not asked:
            raise PermissionDenied(extension_id, str(g.permission), g.scope,
                                   "the extension did not request this permission")
        args = g.permission.args
        for key in ("kinds", "namespaces"):
            if key in args:
                allowed = {x for p in asked for x in p.args[key]}
                extra = sorted(set(args[key]) - allowed)
                if extra:
                    raise PermissionDenied(extension_id, str(g.permission), g.scope,
                                           f"{key} {extra} were not requested (requested {sorted(allowed)})")
        if "category" in args and args["category"] not in {p.args["category"] for p in asked}:
            raise PermissionDenied(extension_id, str(g.permission), g.scope,
                                   f"model category {args['category']!r} was not requested")


@dataclass
class Root:
    """One resolved scope element: an absolute path prefix (and its location if known)."""

    prefix: str
    label: str


@dataclass(frozen=True, eq=False)
class GrantSet:
    """The grants of one installed extension, resolved against the library's locations.
    Immutable (tuples, frozen): a new grant is a new install, recorded by the manager."""

    extension_id: str
    requested: tuple[PermissionSpec, ...]
    grants: tuple[Grant, ...]
    lib: Library = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "requested", tuple(self.requested))
        object.__setattr__(self, "grants", tuple(self.grants))

    # ---- lookup ----------------------------------------------------------------------------
    def granted(self, name: str) -> list[Grant]:
        return [g for g in self.grants if g.permission.name == name]

    def _missing(self, perm: str, detail: str, scope: Sequence[str] | None = None) -> PermissionDenied:
        return PermissionDenied(self.extension_id, perm, scope, detail)

    def require(self, name: str) -> list[Grant]:
        found = self.granted(name)
        if not found:
            raise self._missing(name, f"{name} was not granted")
        return found

    # ---- scope -----------------------------------------------------------------------------
    def roots(self, grant: Grant) -> list[Root]:
        """Absolute path prefixes the grant's scope covers ([] means: everywhere)."""
        roots = []
        for item in grant.scope:
            if item.startswith("/"):
                roots.append(Root(_norm(item), item))
                continue
            loc = self._location(item)
            if loc is None:
                # An unknown location name grants nothing rather than everything.
                roots.append(Root("\0unresolved:" + item, item))
            else:
                roots.append(Root(_norm(loc), item))
        return roots

    def _location(self, ref: str) -> str | None:
        return None if self.lib is None else find_location_root(self.lib, ref)

    def in_scope(self, grant: Grant, path: str) -> bool:
        roots = self.roots(grant)
        return not roots or any(is_within(path, r.prefix) for r in roots)

    # ---- checks ----------------------------------------------------------------------------
    def entry_allowed(self, path: str, location_root: str | None) -> bool:
        return self._entry_grant(path, location_root) is not None

    def _entry_grant(self, path: str, location_root: str | None) -> Grant | None:
        rel = _relative(path, location_root)
        for g in self.granted("ReadEntries"):
            if not self.in_scope(g, path):
                continue
            if not glob_match(g.permission.args["glob"], rel):
                continue
            if all(not glob_match(p.args["glob"], rel) for p in self.requested
                   if p.name == "ReadEntries"):
                continue
            return g
        return None

    def check_read_entry(self, path: str, location_root: str | None) -> Grant:
        """The grant that lets the extension read `path`, or refuse."""
        grants = self.require("ReadEntries")
        found = self._entry_grant(path, location_root)
        if found is None:
            g = grants[0]
            raise self._missing(str(g.permission), f"entry {path} is outside the granted glob or scope",
                                g.scope)
        return found

    def check_scoped(self, name: str, path: str | None, what: str) -> Grant:
        """`name` must be granted and, for a path, the path inside that grant's scope."""
        grants = self.require(name)
        for g in grants:
            if path is None or self.in_scope(g, path):
                return g
        raise self._missing(name, f"{what} {path} is outside the granted scope", grants[0].scope)

    def check_sidecar(self, kind: str, *, write: bool, path: str | None = None) -> None:
        name = "WriteSidecars" if write else "ReadSidecars"
        grants = self.require(name)
        ok = [g for g in grants if kind in g.permission.args["kinds"]]
        if not ok:
            granted = sorted({k for g in grants for k in g.permission.args["kinds"]})
            raise self._missing(str(grants[0].permission),
                                f"sidecar kind {kind!r} is not among the granted kinds {granted}",
                                grants[0].scope)
        if path is not None and not any(self.in_scope(g, path) for g in ok):
            raise self._missing(str(ok[0].permission), f"sidecar of {path} is outside the granted scope",
                                ok[0].scope)

    def check_custom_field(self, namespace: str, path: str | None = None) -> None:
        grants = self.require("WriteCustomFields")
        ok = [g for g in grants if namespace in g.permission.args["namespaces"]]
        if not ok:
            raise self._missing(str(grants[0].permission),
                                f"custom field namespace {namespace!r} was not granted", grants[0].scope)
        if path is not None and not any(self.in_scope(g, path) for g in ok):
            raise self._missing(str(ok[0].permission), f"{path} is outside the granted scope", ok[0].scope)

    def model_preference(self, category: str) -> str:
        """The preference (local/cloud) the user granted for a model category, or refuse."""
        grants = self.granted("UseModel")
        for g in grants:
            if g.permission.args["category"] == category:
                return g.permission.args["preference"]
        granted = sorted(g.permission.args["category"] for g in grants)
        raise self._missing(f"UseModel(category={category!r})",
                            f"model category {category!r} was not granted (granted: {granted})")

    # ---- for queries -----------------------------------------------------------------------
    def entry_scope(self) -> list["ScopeClause"] | None:
        """The read scope as data a query compiler can turn into SQL: an entry is visible when
        it satisfies any clause. None when ReadEntries was not granted (nothing is visible)."""
        grants = self.granted("ReadEntries")
        if not grants:
            return None
        requested = [p.args["glob"] for p in self.requested if p.name == "ReadEntries"]
        req_re = "|".join(f"(?:{glob_to_regex(g)})" for g in requested) or "[^\\s\\S]"
        return [ScopeClause(f"(?is)^(?:{glob_to_regex(g.permission.args['glob'])})$",
                            f"(?is)^(?:{req_re})$", [r.prefix for r in self.roots(g)])
                for g in grants]


@dataclass(frozen=True)
class ScopeClause:
    """One granted read scope: the granted and the requested glob (both must match the path
    relative to its location root; RE2 has no lookahead to fuse them) and the path prefixes
    the entry must lie under ([] = anywhere)."""

    granted_regex: str
    requested_regex: str
    prefixes: list[str]


def _norm(path: str) -> str:
    path = path.rstrip("/")
    return path or "/"


def _relative(path: str, root: str | None) -> str:
    if root and is_within(path, root):
        return path[len(root.rstrip("/")):].lstrip("/")
    return path.lstrip("/")

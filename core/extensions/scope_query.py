"""Compile an extension's read scope into its queries (the hook between grants and vdfs_query).

An extension's query is lowered to vdfs_query's IR as usual; before SQL is generated,
`apply_scope` ANDs the scope onto it as ordinary IR filters — one clause per granted
ReadEntries: `path` must match the granted glob and the requested glob (as regexes anchored at
each location root) and lie under a granted prefix. The database never returns a row outside
the scope, so counts, aggregates and limits are right too. `models` queries are pinned to the
extension's own models; every other source is refused. vdfs_query needs no change for this.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import vdfs_query
from vdfs_query import ast as vast, ir
from vdfs_query.lower import Lowerer

from core.access.entries import EntryRowHooks
from core.access.globs import compile_glob, glob_to_regex
from core.access.permissions import GrantSet, PermissionDenied
from core.domain.locations import is_within, location_roots
from core.store.facade import Backing, Facade
from core.access.entries import GuardedEntries
from core.access.guard import Guard
from core.query.executor import executor_for

if TYPE_CHECKING:  # pragma: no cover
    from core.host import VdfsApi
    from core.library import Library
    from core.query.engine import QueryLike
    from core.query.result import Result
    from vdfs_query.builder import EntryQuery, ModelQuery
    from .host import ScopedVdfsApi

_PATH = ir.Ref("path", "text")
_NOTHING = ir.Null(_PATH)        # entries.path is NOT NULL: matches no row
_SPECIAL = set("\\.^$|?*+()[]{}")


def _literal(text: str) -> str:
    return "".join("\\" + c if c in _SPECIAL else c for c in text)


def _anchored(base: str, globs: list[str]) -> str:
    """A regex over absolute paths: below `base`, relative part matching any of `globs`. The
    location root itself (relative path "") is included when a glob matches "" (e.g. `**`).
    Only the globs are case-insensitive: the root is compared exactly, as the per-file check
    does, so a grant on `.../photos` never reaches a location `.../PHOTOS`."""
    body = "|".join(f"(?:{glob_to_regex(g)})" for g in globs)
    if any(compile_glob(g).fullmatch("") for g in globs):
        return f"(?s)^{base}(?i:/(?:{body}))?$"
    return f"(?s)^{base}(?i:/(?:{body}))$"


def scope_filter(grants: GrantSet, lib: Library) -> ir.Node:
    """The IR filter selecting exactly the entries `grants` lets the extension read."""
    clauses = grants.entry_scope()
    if not clauses:
        return _NOTHING
    requested = [p.args["glob"] for p in grants.requested if p.name == "ReadEntries"]
    roots = location_roots(lib.conn)
    granted_globs = [g.permission.args["glob"] for g in grants.granted("ReadEntries")]
    ors = []
    for clause, glob in zip(clauses, granted_globs):
        for root in roots:
            base = _literal(root.rstrip("/"))
            tests = [ir.Match(_PATH, "regex", ir.Lit(_anchored(base, [glob]))),
                     ir.Match(_PATH, "regex", ir.Lit(_anchored(base, requested)))]
            if not clause.prefixes:
                ors.append(ir.And(tuple(tests)))
                continue
            for prefix in clause.prefixes:
                if is_within(root, prefix):
                    ors.append(ir.And(tuple(tests)))
                elif is_within(prefix, root):
                    inside = ir.Or((ir.Under(ir.Lit(prefix), "prefix"),
                                    ir.Cmp(_PATH, "=", ir.Lit(prefix))))
                    ors.append(ir.And((*tests, inside)))
    if not ors:
        return _NOTHING
    return ors[0] if len(ors) == 1 else ir.Or(tuple(ors))


def models_filter(grants: GrantSet, lib: Library, model_type: str | None) -> ir.Node:
    """The extension's models it may see: standalone ones, and those attached to an entry or a
    content it may read (as the per-model check of the host API decides). The visible entries
    are found by the scoped entries query, so the lists come from SQL, not a Python walk."""
    seen = ir.Query("entries", where=scope_filter(grants, lib),
                    select=(ir.Out(ir.Ref("uuid", "uuid"), "uuid"),
                            ir.Out(ir.Ref("content_uuid", "uuid"), "content_uuid")))
    rows = executor_for(lib).run(seen, {}).rows()
    lw = Lowerer("models", model_type)
    entries = tuple(vast.Lit(str(r["uuid"])) for r in rows)
    contents = tuple(vast.Lit(str(c)) for c in sorted({str(r["content_uuid"]) for r in rows
                                                       if r["content_uuid"]}))
    parts = [ir.Truthy(ir.Ref("standalone", "bool"))]
    if entries:
        parts.append(lw.compare(lw.ref("entry_uuid"), "in", entries))
    if contents:
        parts.append(lw.compare(lw.ref("content_uuid"), "in", contents))
    return ir.Or(tuple(parts))


def apply_scope(query: QueryLike, grants: GrantSet, lib: Library) -> ir.Query:
    """The IR of `query` (text, builder or IR) restricted to what the extension may see."""
    q, _ = vdfs_query.to_ir(query)
    if q.source in ("entries", "files", "folders", "search"):    # views of entries
        where = _own_models_only(q.where, grants.extension_id)
        return replace(q, where=ir.and_all([where, scope_filter(grants, lib)]))
    if q.source == "models":
        if q.extension_id not in (None, grants.extension_id):
            raise _foreign(grants.extension_id, q.model_type, q.extension_id)
        return replace(q, extension_id=grants.extension_id,
                       where=ir.and_all([q.where, models_filter(grants, lib, q.model_type)]))
    raise PermissionDenied(grants.extension_id, f"Query({q.source})", None,
                           f"extensions may query entries and their own models, not {q.source!r}")


def _foreign(extension_id: str, model_type: Any, owner: Any) -> PermissionDenied:
    return PermissionDenied(extension_id, f"Models({model_type})", None,
                            f"models of extension {owner!r} are not readable")


def _own_models_only(node: Any, extension_id: str) -> Any:
    """`has T` means the extension's own T: another extension's models are not its to see,
    not even as which files carry them."""
    if isinstance(node, (ir.And, ir.Or)):
        return type(node)(tuple(_own_models_only(i, extension_id) for i in node.items))
    if isinstance(node, ir.Not):
        return ir.Not(_own_models_only(node.item, extension_id))
    if isinstance(node, ir.Has):
        if node.extension_id not in (None, extension_id):
            raise _foreign(extension_id, node.model_type, node.extension_id)
        return replace(node, extension_id=extension_id)
    return node


class ScopedExecutor(EntryRowHooks, Facade):
    """vdfs_query's executor protocol for an extension: every query gets the scope first.
    A query builder the extension holds keeps this executor, so its library, grants and
    unscoped executor stay on core's side (core.access.facade)."""

    __slots__ = ()

    def __init__(self, lib: Library, grants: GrantSet):
        _executors.bind(self, (lib, grants, executor_for(lib)))

    def run(self, query: QueryLike, params: dict[str, Any] | None = None) -> Result:
        lib, grants, inner = _executors(self)
        return inner.run(apply_scope(query, grants, lib), params)

    def to_models(self, model_cls: type, rows: list[dict], *, inline_only: bool = False) -> list:
        return _executors(self)[2].to_models(model_cls, rows, inline_only=inline_only)

    # an entries row's read(), exif and location(): through the extension's Guard only
    def _entries(self) -> Any:
        lib, grants, _ = _executors(self)
        return GuardedEntries(Guard(lib, grants))


_executors: Backing[tuple[Any, GrantSet, Any]] = Backing("scoped query executor")


def scoped_entries(api: VdfsApi | ScopedVdfsApi, grants: GrantSet) -> EntryQuery:
    return vdfs_query.query_entries(executor=ScopedExecutor(api.lib, grants))


def scoped_models(api: VdfsApi | ScopedVdfsApi, grants: GrantSet, model_cls: type | str
                  ) -> ModelQuery:
    return vdfs_query.query_models(model_cls, executor=ScopedExecutor(api.lib, grants))

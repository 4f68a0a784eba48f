"""Pure lookups: the queries the engine answers on its point path (Engine.point).

A lookup by one `=` on an indexed key visits only the index entries that match, so it cannot
run long and needs no deadline of its own; what remains per call is binding one value and
running a prepared statement, which keeps it close to raw sqlite3.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vdfs_query import ir
from vdfs_query.bind import fast_plan, signature
from vdfs_query.catalog import SOURCES

if TYPE_CHECKING:  # pragma: no cover
    from vdfs_query.sqlgen import Template

    from .columns import ReadOnlyList

POINT_KEYS = frozenset({"id", "uuid", "path", "content_uuid"})


def is_point(q: ir.Query) -> bool:
    """A pure lookup: one `=` on an indexed key (id, uuid, path: at most one row; content_uuid:
    the copies of one content) and nothing to group, order, count or skip. Its statement visits
    only the matching index entries, so it cannot run long: it runs without arming a deadline
    (Engine.point)."""
    w = q.where
    if not (isinstance(w, ir.Cmp) and w.op == "=" and not w.ref.json and w.ref.name in POINT_KEYS):
        return False
    field = SOURCES[q.source].fields.get(w.ref.name)
    return (field is not None and field.indexed and not q.group_by and not q.order
            and q.limit is None and q.offset is None and not q.count_only and not q.aggregated)


def point_plan(params: dict | None, t: Template, columns: ReadOnlyList,
               types: ReadOnlyList) -> tuple | None:
    """What Engine.point needs of a pure lookup: the one parameter's name and type it was made
    for (checking them costs less than `signature(params)`) and its converter, or (None, None)
    and the literal values; then the SQL and the output columns. None: more than one value,
    or a list (the general path's fast binder serves those)."""
    sig, plan = signature(params), fast_plan(t.slots)
    if plan is None or len(sig) > 1 or (sig and sig[0][2] is not None):
        return None
    if not sig:
        if any(name is not None for name, _ in plan):
            return None
        return (None, None, t.sql, [value for _, value in plan], columns, types)
    if len(plan) != 1 or plan[0][0] != sig[0][0]:
        return None
    return (sig[0][0], sig[0][1], t.sql, plan[0][1], columns, types)

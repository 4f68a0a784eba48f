"""The shape of an answer: its columns, groups, order and limit, lowered to IR and checked to
fit together.

Lowering a filter asks what one name or value means; shaping asks whether the parts agree: a
column neither grouped nor aggregated, two columns of one name, an order on what is not grouped,
rank or snippet without a search. The DSL (`lower.lower`) and the fluent builder (`limit()`,
`to_ir()`) both shape through here, so they refuse the same queries with the same words.
"""
from __future__ import annotations

from typing import Any

from . import ast, ir
from .catalog import SEARCH_FIELDS, SourceDef
from .values import INT_MAX


class Shaping:
    """The shaping half of Lowerer: needs its source (`src`, `model_type`, `extension_id`), and
    `fail`, `ref`, `agg` and `not_a_list`."""

    src: SourceDef
    model_type: str | None
    extension_id: str | None

    def need_search(self, where: Any, select: list | None, group: list, order: list,
                    pos: int = 0) -> None:
        """rank and snippet describe a search's hits: without `matches` they mean nothing."""
        if any(isinstance(n, ir.Search) for n in ir.walk(where)):
            return
        used = {n.name for part in (select, group, order) for x in part or ()
                for n in ir.walk(x) if isinstance(n, ir.Ref)}
        for name in SEARCH_FIELDS & used:
            self.fail(f"{name} describes the hits of a search: add `matches \"…\"` "
                      f"(or ask `search \"…\"`)", pos)

    def finish(self, where: Any, select: list | None, group_by: list, order: list,
               limit: Any, offset: Any, pos: int = 0) -> ir.Query:
        if group_by and not select:
            select = [ir.Out(r, r.name) for r in group_by] + [ir.Out(ir.Agg("count"), "count")]
        if select:
            aliases = [o.alias for o in select]
            dup = {a for a in aliases if aliases.count(a) > 1}
            if dup:
                self.fail(f"two columns are named {sorted(dup)[0]!r}: give one an alias with `as`", pos)
            if group_by or any(isinstance(o.expr, ir.Agg) for o in select):
                for o in select:
                    if isinstance(o.expr, ir.Ref) and o.expr not in group_by:
                        self.fail(f"{o.expr.name} must be grouped (group by {o.expr.name}) or "
                                  "aggregated (count, sum, avg, min, max)", pos)
        aggregated = bool(group_by) or any(isinstance(o.expr, ir.Agg) for o in select or ())
        for r in list(group_by) + [o.expr for o in order]:
            if isinstance(r, ir.Ref):
                self.not_a_list(r, "grouped or ordered by", pos)
        for o in order:
            if aggregated and isinstance(o.expr, ir.Ref) and o.expr not in group_by:
                self.fail(f"cannot order by {o.expr.name}: it is not grouped; order by a group "
                          "field, an aggregate or a column alias", pos)
            if not aggregated and isinstance(o.expr, ir.Agg):
                self.fail(f"cannot order by {o.expr.fn}() without group by or an aggregate in "
                          "select", pos)
        return ir.Query(self.src.name, self.model_type, self.extension_id, where,
                        tuple(select) if select else None, tuple(group_by), tuple(order),
                        limit, offset)

    def count_value(self, v: Any, what: str, pos: int = 0) -> Any:
        if v is None:
            return None
        if isinstance(v, ast.Param):
            return ir.Param(v.name, "int")
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= INT_MAX:
            self.fail(f"{what} must be a whole number from 0 to {INT_MAX:,}", pos)
        return ir.Lit(v)

    def select_items(self, items: tuple) -> list[ir.Out]:
        out: list[ir.Out] = []
        for item in items:
            e = item.expr
            if isinstance(e, ast.Star):
                out += [ir.Out(self.ref(n), n) for n in self.src.defaults]
                continue
            if isinstance(e, ast.Call):
                expr = self.agg(e.fn, e.arg.name if e.arg else None, e.pos)
                alias = item.alias or (e.fn if expr.ref is None else f"{e.fn}_{expr.ref.name}")
            else:
                expr = self.ref(e.name, e.pos)
                alias = item.alias or (e.name if expr.json else expr.name)
            out.append(ir.Out(expr, alias))
        return out

    def order_items(self, items: tuple, select: list[ir.Out] | None) -> list[ir.Order]:
        aliases = {o.alias for o in select or ()}
        out = []
        for item in items:
            e = item.expr
            if isinstance(e, ast.Call):
                expr: Any = self.agg(e.fn, e.arg.name if e.arg else None, e.pos)
            elif isinstance(e, ast.Star):
                self.fail("cannot order by *", e.pos)
            elif e.name in aliases and not (select and any(
                    isinstance(o.expr, ir.Ref) and o.alias == e.name for o in select)):
                expr = ir.Alias(e.name)
            else:
                expr = self.ref(e.name, e.pos)
            out.append(ir.Order(expr, item.desc))
        return out

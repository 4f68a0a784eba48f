"""Filter nodes → SQL predicates, shared by both dialects (the WHERE of a query).

PredicateSql is the half of the generator that turns a query's filter tree into one SQL
boolean expression; `SqlGen` (sqlgen.py) assembles the statement around it and provides the
hooks these methods call (`slot`, `raw`, `json`, `template`, and the per-dialect ones). Each
filter node picks its method by type (`_FILTERS`). Two-valued logic: `not P` is true wherever
P is not true (`_negate`).
"""
from __future__ import annotations

from typing import Any

from . import ir
from .catalog import PREDICATE_SQL, SEARCH_FIELDS

_OPS = {"=", "!=", "<", "<=", ">", ">="}
BIG_LIST = 64      # list parameters longer than this are bound as one array value


class PredicateSql:
    """Filter nodes as SQL; mixed into SqlGen, whose hooks these methods use."""

    def filt(self, n: Any) -> str:
        """A WHERE condition with two-valued logic: SQL's NULL (a missing value) only ever
        makes a predicate false, so every negation is `(P) IS NOT TRUE`, never `NOT P`
        (`ext not in (png)` and `ext != "png"` keep files without an extension)."""
        method = _FILTERS.get(type(n))
        if method is None:
            raise TypeError(f"unknown filter node {n!r}")  # pragma: no cover
        return getattr(self, method)(n)

    def and_(self, n: ir.And) -> str:
        return "(" + " AND ".join(self.filt(i) for i in n.items) + ")"

    def or_(self, n: ir.Or) -> str:
        return "(" + " OR ".join(self.filt(i) for i in n.items) + ")"

    def not_(self, n: ir.Not) -> str:
        return _negate(self.filt(n.item))

    def cmp(self, n: ir.Cmp) -> str:
        assert n.op in _OPS
        expr, value = self.raw(n.ref, n.value), self.slot(n.value, n.ref.type, _fold(n.ref))
        if n.ref.json and _value_kind(n.value, self.ptypes) == "num":
            value = self.json_field.number_slot(value)
        if n.op == "!=":
            return _negate(f"{expr} = {value}")
        return f"{expr} {n.op} {value}"

    def in_list_filter(self, n: ir.InList) -> str:
        sql = self.in_list(n)
        return _negate(sql) if n.negate else sql

    def match_filter(self, n: ir.Match) -> str:
        sql = self.match(self.raw(n.ref, ir.Lit("")), n)
        return _negate(sql) if n.negate else sql

    def null(self, n: ir.Null) -> str:
        expr = self.json(n.ref).rank() if n.ref.json else self.raw(n.ref)
        return f"{expr} IS {'NOT ' if n.negate else ''}NULL"

    def truthy(self, n: ir.Truthy) -> str:
        if n.ref.json:
            return self.json(n.ref).truthy()
        return f"{self.raw(n.ref)} <> 0"

    def kind(self, n: ir.Kind) -> str:
        items = [self.slot(v, "kind") for v in n.values]
        if len(items) == 1:
            return f"{self.a}.kind = {items[0]}"
        return f"{self.a}.kind IN ({', '.join(items)})"

    def tagged(self, n: ir.Tagged) -> str:
        return self.template("tagged", tag=lambda: f"t.name = {self.slot(n.value, 'tag')}")

    def has(self, n: ir.Has) -> str:
        def model() -> str:
            sql = f"m.model_type = {self.slot(ir.Lit(n.model_type), 'text')}"
            if n.extension_id:
                sql += f" AND m.extension_id = {self.slot(ir.Lit(n.extension_id), 'text')}"
            return sql
        return self.template("has", model=model)

    def device(self, n: ir.Device) -> str:
        if n.value is None:
            return self.template("device", device=lambda: f"d.uuid = {self.slot('device', 'ctx')}")
        return self.template("device", device=lambda: (
            f"(d.name = {self.slot(n.value, 'text')} OR d.hostname = {self.slot(n.value, 'text')}"
            f" OR d.uuid = {self.slot(n.value, 'text', 'uuid_or_none')})"))

    def dup(self, n: ir.Dup) -> str:
        return self.template("duplicates")

    def search(self, n: ir.Search) -> str:
        if id(n) in self.hits:
            return f"{self.hits[id(n)]}.id IS NOT NULL"
        return f"{self.a}.id IN {self.search_hits(n.value, ranked=False)}"

    def ranked(self) -> bool:
        """Whether the query shows or orders by a search's rank or snippet."""
        if self.q.source == "search" and self.q.select is None:
            return True
        return any(isinstance(n, ir.Ref) and n.name in SEARCH_FIELDS and not n.json
                   for n in ir.named(self.q))

    def join_searches(self) -> None:
        """Each `matches` joins its hits (id, rank, snippet) as s0, s1, …; made before any
        other slot, since the FROM clause comes first in the text. A search every row must
        match leads the FROM (its hits drive the query: an index lookup per hit, never a scan
        of entries); one under `or` / `not` is a LEFT JOIN."""
        if not self.ranked():
            return       # no rank or snippet asked for: each search is `id IN (its hits)`
        top = {id(c) for c in ir.conjuncts(self.q.where) if isinstance(c, ir.Search)}
        for i, n in enumerate(ir.searches(self.q)):
            alias = f"s{i}"
            self.hits[id(n)] = alias
            sql = self.search_hits(n.value)
            if id(n) in top and not self.lead:
                self.lead = f"{sql} AS {alias} CROSS JOIN "
                self.lead_on = f"{self.a}.id = {alias}.id"
            else:
                self.hit_joins.append(f"LEFT JOIN {sql} AS {alias} ON {alias}.id = {self.a}.id")

    def in_list(self, n: ir.InList) -> str:
        """`x IN (…)`. A list bound to one parameter of more than BIG_LIST items travels as one
        value (a JSON array for SQLite, a LIST for DuckDB): thousands of `?` cost seconds to
        bind and SQLite allows at most 32766 of them."""
        if n.ref.json:
            return self.json_in_list(n)
        expr = self.raw(n.ref, n.values[0] if n.values else None)
        fold = _fold(n.ref)
        items = []
        for v in n.values:
            size = self.ptypes.get(v.name, (None, None))[1] if isinstance(v, ir.Param) else None
            if size is not None and size > BIG_LIST and len(n.values) == 1:
                return self.big_list(expr, v, n.ref, fold)
            if size is not None:   # a short list bound to one parameter expands to its length
                items += [self.slot(v, n.ref.type, f"item{i}" + (f",{fold}" if fold else ""))
                          for i in range(size)]
            else:
                items.append(self.slot(v, n.ref.type, fold))
        if not items:
            return "(1 = 0)"
        return f"{expr} IN ({', '.join(items)})"

    def json_in_list(self, n: ir.InList) -> str:
        """`x IN (…)` on a model field: each value is compared with the field's reading of its
        own type, so a list of texts never matches a number. A list parameter's items have no
        type until bound, so each item travels three times, as a number, a text and a boolean,
        two of them NULL (the `only_*` bind transforms)."""
        jf = self.json(n.ref)
        wanted: dict[str, list] = {"num": [], "text": [], "bool": []}
        for v in n.values:
            size = self.ptypes.get(v.name, (None, None))[1] if isinstance(v, ir.Param) else None
            if size is not None and size > BIG_LIST and len(n.values) == 1:
                return "(" + " OR ".join(self.json_big_list(jf, v, kind) for kind in wanted) + ")"
            if size is not None:
                for kind, specs in wanted.items():
                    specs += [(v, f"item{i},only_{kind}") for i in range(size)]
            else:
                wanted[_value_kind(v, self.ptypes)].append((v, ""))
        parts = []
        for kind, specs in wanted.items():       # slots are made in the order of the SQL text
            if specs:
                items = [self.slot(v, "json", tf) for v, tf in specs]
                if kind == "num":
                    items = [self.json_field.number_slot(i) for i in items]
                parts.append(f"{jf.typed(kind)} IN ({', '.join(items)})")
        return "(" + " OR ".join(parts) + ")" if parts else "(1 = 0)"

    def template(self, predicate: str, **fill: Any) -> str:
        sql = PREDICATE_SQL[(predicate, self.src.base or self.src.name)]
        out, rest = [], sql
        while "{" in rest:       # fill each placeholder in order, so slots follow the text
            head, _, tail = rest.partition("{")
            name, _, rest = tail.partition("}")
            out.append(head)
            out.append(fill[name]())
        out.append(rest)
        return "".join(out)

    def match(self, expr: str, n: ir.Match) -> str:
        """Globs and regexes both run as RE2 (vdfs_query.patterns) on every route: no LIKE or
        ILIKE, whose case folding differs between SQLite (ASCII) and DuckDB (Unicode)."""
        return self.regexp(expr, self.slot(n.value, "text", "glob_regex" if n.mode == "glob" else "regex"))

    def under(self, n: ir.Under) -> str:
        if n.mode == "prefix":
            return (f"({self.a}.path >= {self.slot(n.value, 'path', 'prefix_lo')} AND "
                    f"{self.a}.path < {self.slot(n.value, 'path', 'prefix_hi')})")
        if n.mode == "glob":
            return self.regexp(f"{self.a}.path", self.slot(n.value, "path", "path_glob"))
        return (f"{self.a}.location_id IN (SELECT l.id FROM locations l WHERE l.name = "
                f"{self.slot(n.value, 'text')})")

    # ---- the whole query ------------------------------------------------------------------


_FILTERS = {ir.And: "and_", ir.Or: "or_", ir.Not: "not_", ir.Cmp: "cmp",
            ir.InList: "in_list_filter", ir.Match: "match_filter", ir.Null: "null",
            ir.Truthy: "truthy", ir.Under: "under", ir.Kind: "kind", ir.Tagged: "tagged",
            ir.Has: "has", ir.Device: "device", ir.Dup: "dup", ir.Search: "search"}


def _negate(sql: str) -> str:
    """NOT for two-valued logic: true wherever `sql` is false or NULL (both dialects)."""
    return f"(({sql}) IS NOT TRUE)"


def _fold(ref: ir.Ref) -> str:
    """The bind transform of a value compared with `ref`: ext and kind are stored lower-case,
    so their values are lower-cased; every other text compares exactly."""
    return "lower" if not ref.json and ref.name in ("ext", "kind") else ""


def _value_kind(v: Any, ptypes: dict) -> str:
    if isinstance(v, ir.Param):
        t = ptypes.get(v.name, ("str", None))[0]
    elif isinstance(v, ir.Lit):
        t = type(v.value).__name__
    else:
        t = "str"
    if t == "bool":
        return "bool"
    if t in ("int", "float"):
        return "num"
    return "text"

"""IR → SQL text plus parameter slots: the SQL every engine shares.

The SQL text depends only on the IR and the *types* of parameters, never on their values: every
user value becomes a `?` whose slot is resolved at bind time (`bind.py`). `SqlGen` writes what
SQLite and DuckDB read alike; each engine is a subclass in `dialects.py` that overrides only the
hooks marked "per dialect" below (output conversions, JSON typing, the RE2 function, big lists,
limits, where the jobs table lives). Filter nodes pick their method by type (`_FILTERS`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import ir
from .catalog import PREDICATE_SQL, SEARCH_FIELDS, SOURCES, SourceDef
from .jsonsql import JsonField


@dataclass(frozen=True)
class Slot:
    """One `?` of the SQL: a value node, the type it is coerced to, and a final transform."""
    value: Any
    type: str
    transform: str = ""


@dataclass
class Template:
    sql: str
    slots: list
    columns: list
    types: list
    dialect: str
    ir: ir.Query


_OPS = {"=", "!=", "<", "<=", ">", ">="}
BIG_LIST = 64      # list parameters longer than this are bound as one array value


class SqlGen:
    """The shared generator of one query; a dialect subclass fills in the per-dialect hooks."""
    name: str = ""                       # the dialect's name: what Template.dialect reports
    json_field: type[JsonField] = JsonField
    filter_first = False                 # per dialect: filter in a subquery before the joins

    def __init__(self, q: ir.Query, param_types: dict[str, tuple] | None = None):
        self.q = q
        self.src: SourceDef = SOURCES[q.source]
        self.a = self.src.alias
        self.slots: list[Slot] = []
        self.joins: list[str] = []
        self.ptypes = param_types or {}
        self.hits: dict[int, str] = {}       # id(Search node) -> alias of its joined hits
        self.lead = ""                       # hits every row must have: FROM starts with them
        self.lead_on = ""
        self.hit_joins: list[str] = []

    # ---- slots ----------------------------------------------------------------------------
    def slot(self, value: Any, typ: str, transform: str = "") -> str:
        self.slots.append(Slot(value, typ, transform))
        return "?"

    def _need(self, joins: tuple[str, ...]) -> None:
        for j in joins:
            if j not in self.joins:
                self.joins.append(j)

    # ---- expressions ----------------------------------------------------------------------
    def raw(self, ref: ir.Ref, for_value: Any = None) -> str:
        """The expression to compare, group or order by."""
        if ref.json:
            return self.json(ref).typed(_value_kind(for_value, self.ptypes))
        f = self.src.fields[ref.name]
        self._need(f.joins)
        return self.field_sql(f)

    def json(self, ref: ir.Ref) -> JsonField:
        return self.json_field(self.a, ref.name)

    def out(self, expr: Any) -> tuple[str, str]:
        """(SQL, output type) for a projected expression."""
        if isinstance(expr, ir.Agg):
            return self.agg(expr, for_output=True)
        ref = expr
        if ref.json:     # in a grouped query, the smallest JSON text of the group's value
            value = self.json(ref).value()
            return (f"min({value})" if self.q.aggregated else value), "json"
        return self.convert(self.raw(ref), ref.type), ref.type

    def agg(self, a: ir.Agg, for_output: bool = False) -> tuple[str, str]:
        if a.ref is None:
            return "count(*)", "int"
        if a.ref.json:   # count() counts present values; the others read numbers only
            jf = self.json(a.ref)
            inner = jf.rank() if a.fn == "count" else jf.num()
            typ = "int" if a.fn == "count" else "float"
        else:
            inner = self.raw(a.ref)
            typ = {"count": "int", "avg": "float"}.get(a.fn, a.ref.type)
        sql = f"{a.fn}({inner})"
        if a.fn == "sum" and typ != "float":
            sql = self.whole_sum(sql)
        if for_output and a.fn in ("min", "max"):
            sql = self.convert(sql, typ)
        return sql, typ

    # ---- filters --------------------------------------------------------------------------
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
    def build(self) -> Template:
        q, a = self.q, self.a
        self.join_searches()
        where = [self.lead_on] if self.lead_on else []
        where += [self.src.where] if self.src.where else []
        if q.source == "models":
            where.append(f"{a}.model_type = {self.slot(ir.Lit(q.model_type), 'text')}")
            if q.extension_id:
                where.append(f"{a}.extension_id = {self.slot(ir.Lit(q.extension_id), 'text')}")
        if q.where is not None:
            where.append(self.filt(q.where))
        where_sql = " AND ".join(where)
        where_joins = bool(self.joins)

        if q.count_only and q.limit is None and q.offset is None:
            sql = f"SELECT count(*) AS count FROM {self.from_sql()}"
            if where_sql:
                sql += f" WHERE {where_sql}"
            return Template(sql, self.slots, ["count"], ["int"], self.name, q)

        select = q.select
        if select is None:
            names = list(self.src.defaults)
            if q.source == "content" and any(isinstance(x, ir.Dup) for x in ir.walk(q.where)):
                names += ["wasted", "paths"]
            select = tuple(ir.Out(ir.Ref(nm, self.src.fields[nm].type), nm) for nm in names)
        cols, types, exprs = [], [], []
        for o in select:
            sql, typ = self.out(o.expr)
            exprs.append(f"{sql} AS {_quote(o.alias)}")
            cols.append(o.alias)
            types.append(typ)
        group = [k for r in q.group_by for k in (self.json(r).group_keys() if r.json else [self.raw(r)])]
        order = []
        for o in q.order:
            direction = " DESC" if o.desc else " ASC"
            for key in self.order_keys(o.expr):
                order.append(f"{key}{direction} NULLS LAST")
        if not q.aggregated:
            order.append(f"{a}.{self.src.key} ASC")          # deterministic across engines
        elif group:
            order += [f"{g} ASC NULLS LAST" for g in group]  # groups break ties the same way

        if self.top_first(select, exprs, order, where_joins):
            # the top rows first, then their per-row subqueries (a content's paths) and lookups
            # (its uuid): computed for the LIMIT rows only, not for every row that passes
            inner = f"SELECT {a}.* FROM {self.base_sql()}"
            if where_sql:
                inner += f" WHERE {where_sql}"
            inner += f" ORDER BY {', '.join(order)}{self.limit_sql()}"
            sql = " ".join([f"SELECT {', '.join(exprs)} FROM ({inner}) {a}", *self.join_list(),
                            f"ORDER BY {', '.join(order)}"])
            return Template(sql, self.slots, cols, types, self.name, q)
        # the FROM clause last: expressions above may have asked for joins
        if self.filter_first and "(SELECT " in where_sql and self.joins and not where_joins \
                and not (self.lead or self.hit_joins):
            # the rows that pass first, then the lookups the output asks for (a content's
            # uuid): DuckDB would join every row before testing a subquery predicate (tagged)
            sql = (f"SELECT {', '.join(exprs)} FROM (SELECT {a}.* FROM {self.base_sql()} "
                   f"WHERE {where_sql}) {a} {' '.join(self.join_list())}")
        else:
            sql = f"SELECT {', '.join(exprs)} FROM {self.from_sql()}"
            if where_sql:
                sql += f" WHERE {where_sql}"
        if group:
            sql += f" GROUP BY {', '.join(group)}"
        if order:
            sql += f" ORDER BY {', '.join(order)}"
        sql += self.limit_sql()
        if q.count_only:
            sql = f"SELECT count(*) AS count FROM ({sql}) AS sub"
            return Template(sql, self.slots, ["count"], ["int"], self.name, q)
        return Template(sql, self.slots, cols, types, self.name, q)

    def top_first(self, select: tuple, exprs: list[str], order: list[str],
                  where_joins: bool) -> bool:
        """Whether a limited listing projects a per-row subquery, or (filter_first dialects)
        looks up joined rows, worth doing only for the rows kept. Only when the filter and
        the ordering read the source's own table, the joins are LEFT JOINs on a key (each row
        keeps exactly one, so taking the top rows first keeps the same rows), and no search
        hits, groups, aliases in ORDER BY, nor values bound in the projection or ordering (the
        SQL repeats the ordering outside the subquery)."""
        q = self.q
        if q.limit is None or q.aggregated or q.count_only or q.group_by or where_joins \
                or self.lead or self.hit_joins:
            return False
        if any(isinstance(o.expr, ir.Alias) for o in q.order) or "?" in "".join(exprs + order):
            return False
        if any(isinstance(o.expr, ir.Ref) and not o.expr.json and self.src.fields[o.expr.name].joins
               for o in q.order):
            return False
        if self.joins:
            return self.filter_first and all(self.src.joins[j].startswith("LEFT JOIN ")
                                             for j in self.joins)
        return any(isinstance(o.expr, ir.Ref) and not o.expr.json
                   and "(SELECT " in self.field_sql(self.src.fields[o.expr.name]) for o in select)

    def order_keys(self, e: Any) -> list[str]:
        if isinstance(e, ir.Alias):
            return [_quote(e.name)]
        if isinstance(e, ir.Agg):
            return [self.agg(e)[0]]
        if e.json:
            return self.json(e).order_keys()
        return [self.raw(e)]

    def limit_sql(self) -> str:
        q = self.q
        sql = ""
        if q.limit is not None:
            sql += f" LIMIT {self.slot(q.limit, 'int', 'nonneg')}"
        elif q.offset is not None:
            sql += self.no_limit()
        if q.offset is not None:
            sql += f" OFFSET {self.slot(q.offset, 'int', 'nonneg')}"
        return sql

    def from_sql(self) -> str:
        # CROSS JOIN: SQLite keeps this order
        return " ".join([f"{self.lead}{self.base_sql()}", *self.join_list()])

    def base_sql(self) -> str:
        """The source's table and alias."""
        table = self.table(self.src.table) if self.src.db == "jobs" else self.src.table
        return f"{table} {self.a}"

    def join_list(self) -> list[str]:
        """The JOIN clauses the query asked for, in the catalog's order."""
        return [self.src.joins[j] for j in self.src.joins if j in self.joins] + self.hit_joins

    # ---- per dialect: each engine's subclass (dialects.py) overrides these ------------------
    def field_sql(self, f: Any) -> str:
        """A catalog field's SQL expression."""
        return f.sql

    def convert(self, sql: str, typ: str) -> str:
        """A projected value of type `typ` as the result expects it."""
        raise NotImplementedError

    def whole_sum(self, sql: str) -> str:
        """sum() of whole numbers, kept a whole number."""
        return sql

    def regexp(self, expr: str, rx: str) -> str:
        """`expr` matches the RE2 pattern `rx`."""
        raise NotImplementedError

    def big_list(self, expr: str, v: ir.Param, ref: ir.Ref, fold: str) -> str:
        """`expr IN (…)` for a list parameter bound as one value (see in_list)."""
        raise NotImplementedError

    def json_big_list(self, jf: JsonField, v: ir.Param, kind: str) -> str:
        """A model field's reading of `kind` is in a list parameter bound as one value."""
        raise NotImplementedError

    def no_limit(self) -> str:
        """What an OFFSET without a LIMIT needs before it."""
        return ""

    def table(self, name: str) -> str:
        """A table of the jobs database."""
        return name

    def search_hits(self, value: Any, ranked: bool = True) -> str:
        """A subquery of the entries matching a search: (id, rank, snippet), one row each; not
        ranked: their ids."""
        raise NotImplementedError


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


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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

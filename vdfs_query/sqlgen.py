"""IR → SQL text plus parameter slots: the SQL every engine shares.

The SQL text depends only on the IR and the *types* of parameters, never on their values: every
user value becomes a `?` whose slot is resolved at bind time (`bind.py`). `SqlGen` writes what
SQLite and DuckDB read alike; each engine is a subclass in `dialects.py` that overrides only the
hooks marked "per dialect" below (output conversions, JSON typing, the RE2 function, big lists,
limits, where the jobs table lives). Filters are written by `predicates.PredicateSql`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import ir
from .catalog import SOURCES, SourceDef
from .jsonsql import JsonField
from .predicates import PredicateSql, _value_kind


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


class SqlGen(PredicateSql):
    """The shared generator of one query; a dialect subclass fills in the per-dialect hooks.
    Filters become SQL in PredicateSql; this class assembles the statement."""
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


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

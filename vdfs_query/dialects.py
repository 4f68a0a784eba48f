"""One SQL generator per engine: each overrides only where SQLite and DuckDB differ.

`generate(ir, 'sqlite' | 'duckdb')` picks the class by name, so callers pass a string. What
differs, and nothing else: output conversions (DuckDB turns times and booleans into its own
types; SQLite leaves them to result.py), JSON typing (`jsonsql.SQLiteJson` / `DuckDBJson`), the
RE2 function (`vdfs_regexp` on SQLite, `regexp_matches` on DuckDB), how a long list parameter
travels (a JSON array or blob for SQLite, a LIST for DuckDB), `LIMIT -1` before a bare OFFSET
on SQLite, the attached jobs database on SQLite, and DuckDB's faster spelling of some fields.
"""
from __future__ import annotations

from typing import Any

from . import ir
from .catalog import SOURCES
from .errors import QueryError, VdfsSyntaxError
from .fts import hits_sql
from .jsonsql import DuckDBJson, JsonField, SQLiteJson
from .sqlgen import SqlGen, Template


_BY_UUID = "(e.uuid IN ("       # how the entries' tagged predicate starts (catalog)


class SQLiteDialect(SqlGen):
    name = "sqlite"
    json_field = SQLiteJson

    def convert(self, sql: str, typ: str) -> str:
        return sql            # result.py turns SQLite's integers and texts into Python values

    def regexp(self, expr: str, rx: str) -> str:
        return f"vdfs_regexp({rx}, {expr})"

    def big_list(self, expr: str, v: ir.Param, ref: ir.Ref, fold: str) -> str:
        tf = "list" + (f",{fold}" if fold else "")
        if ref.type == "uuid":     # JSON has no bytes: 16-byte slices of one blob (index lookups)
            n, blob = self.slot(v, ref.type, tf + ",blob"), self.slot(v, ref.type, tf + ",blob")
            return (f"{expr} IN (WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k "
                    f"WHERE i + 1 < length({n}) / 16) SELECT substr({blob}, i * 16 + 1, 16) FROM k)")
        return f"{expr} IN (SELECT value FROM json_each({self.slot(v, ref.type, tf + ',json')}))"

    def json_big_list(self, jf: JsonField, v: ir.Param, kind: str) -> str:
        return (f"{jf.typed(kind)} IN (SELECT value FROM json_each("
                f"{self.slot(v, 'json', f'list,only_{kind},json')}))")

    def tagged(self, n: ir.Tagged) -> str:
        """An entry tagged itself or through its content, as one list of entry ids that
        SQLite collects through its uuid and content_id indexes: its planner read the OR of
        the two memberships by testing every entry of the query's other filters (at 10M
        entries, 50k links: 0.5 s, 0.3 s with the ids). Same rows: each entry has one uuid."""
        sql = super().tagged(n)
        head, sep, tail = sql.partition(") OR e.content_id IN (")
        if not (sep and sql.startswith(_BY_UUID) and tail.endswith("))")):
            return sql                   # the content or models source: one membership
        return (f"e.id IN (SELECT e2.id FROM entries e2 WHERE e2.uuid IN "
                f"({head[len(_BY_UUID):]}) UNION ALL SELECT e3.id FROM entries e3 "
                f"WHERE e3.content_id IN ({tail[:-2]}))")

    def no_limit(self) -> str:
        return " LIMIT -1"

    def table(self, name: str) -> str:
        return f"jobsdb.{name}"    # the jobs database is attached to the library's connection

    def search_hits(self, value: Any, ranked: bool = True) -> str:
        return hits_sql(lambda: self.slot(value, "search", "fts_names"),
                        lambda: self.slot(value, "search", "fts_short"),
                        lambda: self.slot(value, "search", "fts"), ranked=ranked)


class DuckDBDialect(SqlGen):
    name = "duckdb"
    json_field = DuckDBJson
    filter_first = True     # its planner joins before testing a subquery predicate: not SQLite

    def field_sql(self, f: Any) -> str:
        return f.duck or f.sql

    def convert(self, sql: str, typ: str) -> str:
        if typ == "time_ns":
            return f"make_timestamp(({sql}) // 1000)"
        if typ == "bool":
            return f"CAST({sql} AS BOOLEAN)"
        return sql            # uuids are formatted vectorised in result.py (cheaper than SQL)

    def whole_sum(self, sql: str) -> str:
        return f"CAST({sql} AS BIGINT)"     # DuckDB's sum of integers is a HUGEINT

    def regexp(self, expr: str, rx: str) -> str:
        return f"regexp_matches({expr}, {rx})"

    def big_list(self, expr: str, v: ir.Param, ref: ir.Ref, fold: str) -> str:
        tf = "list" + (f",{fold}" if fold else "")
        return f"list_contains({self.slot(v, ref.type, tf)}, {expr})"

    def search_hits(self, value: Any, ranked: bool = True) -> str:
        raise QueryError("search (`matches`, `search \"…\"`) runs on SQLite, where its index is; "
                         "the DuckDB mirror has no full-text index")

    def json_big_list(self, jf: JsonField, v: ir.Param, kind: str) -> str:
        array = {"num": "DOUBLE[]", "text": "VARCHAR[]", "bool": "BOOLEAN[]"}[kind]
        return f"list_contains(CAST({self.slot(v, 'json', f'list,only_{kind}')} AS {array}), {jf.typed(kind)})"


DIALECTS: dict[str, type[SqlGen]] = {"sqlite": SQLiteDialect, "duckdb": DuckDBDialect}


def dialect_class(name: str) -> type[SqlGen]:
    """The generator class of a dialect named by string."""
    try:
        return DIALECTS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown dialect {name!r} (use 'sqlite' or 'duckdb')") from None


def generate(q: ir.Query, dialect: str, param_types: dict | None = None) -> Template:
    """SQL for `q`. Names are pasted into the SQL text (columns, `'$.a.b'` JSON paths), so the
    IR is checked again here: only validated identifiers and known fields reach the SQL."""
    ir.check(q)
    fields = SOURCES[q.source].fields if q.source in SOURCES else {}
    unknown = sorted({n.name for n in ir.named(q) if isinstance(n, ir.Ref) and not n.json
                      and n.name not in fields})
    if q.source not in SOURCES or unknown:
        raise VdfsSyntaxError(f"unknown source {q.source!r}" if q.source not in SOURCES else
                              f"unknown field(s) {', '.join(unknown)} for {q.source}")
    return dialect_class(dialect)(q, param_types).build()

"""The public compile step: text, builder or IR → SQL + bound parameters (+ the IR).

Parsing and SQL generation are cached (by text, and by IR + dialect + parameter types), so a
repeated query costs only the binding of its values.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from . import ast, ir
from .bind import BindContext, bind, param_types
from .errors import VdfsSyntaxError
from .lower import lower
from .parser import parse
from .dialects import generate
from .sqlgen import Template


@dataclass
class Compiled:
    """SQL text, its parameter values in order, and the IR it came from."""
    sql: str
    params: list
    ir: ir.Query
    dialect: str = "duckdb"
    columns: list = field(default_factory=list)
    types: list = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Compiled({self.dialect}: {self.sql!r}, params={self.params!r})"


@lru_cache(maxsize=512)
def _ir_of_text(text: str) -> ir.Query:
    return lower(parse(text))


def to_ir(query: Any) -> tuple[ir.Query, str | None]:
    """(IR, source text or None) of a DSL text, a fluent builder or an IR query."""
    if isinstance(query, str):
        return _ir_of_text(query), query
    if isinstance(query, ir.Query):
        return query, None
    if isinstance(query, ast.Query):
        return lower(query), query.text or None
    builder_ir = getattr(query, "to_ir", None)
    if callable(builder_ir):
        return builder_ir(), None
    raise VdfsSyntaxError(f"a query must be DSL text or a query builder, not {type(query).__name__}")


@lru_cache(maxsize=1024)
def _template(q: ir.Query, dialect: str, ptypes: tuple) -> Template:
    return generate(q, dialect, dict(ptypes))


def template(q: ir.Query, dialect: str, params: dict | None) -> Template:
    return _template(q, dialect, tuple(sorted(param_types(params).items())))


def compile(query: Any, dialect: str = "duckdb", *, params: dict | None = None,
            now: dt.datetime | None = None, device_uuid: bytes | None = None) -> Compiled:
    """Compile a query for `dialect` ('duckdb' or 'sqlite') and bind its values."""
    q, text = to_ir(query)
    t = template(q, dialect, params)
    ctx = BindContext(params, now, device_uuid, text)
    return Compiled(t.sql, bind(t.slots, ctx), q, dialect, list(t.columns), list(t.types))

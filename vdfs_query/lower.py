"""AST → IR: resolve names against the catalog, type-check values, expand date intervals.

The fluent builder calls the same functions with Python values, so a DSL query and its builder
twin produce equal IR (and therefore identical SQL).
"""
from __future__ import annotations

import os
import re
from typing import Any

from . import ast, fts, ir, patterns
from .catalog import KINDS, SOURCES, SourceDef
from .errors import VdfsSyntaxError, closest
from .ir import AGGREGATES
from .relpaths import is_relative
from .shape import Shaping
from .timespec import canonical_time, is_interval, is_time_text, time_spec
from .values import (CoercionError, coerce, json_value, parse_size, tag_name, text_value,
                     value_pos)

_JSON_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_TIME = ("time_ns", "time_iso")
_FLIP_INTERVAL = {"=": None, "!=": None, ">": ("end", ">="), ">=": ("start", ">="),
                  "<": ("start", "<"), "<=": ("end", "<")}


class Lowerer(Shaping):
    """Lowers one query; knows its text so every error can point into it. What a name, value
    or filter means is decided here; whether the columns, groups and order fit together, in
    its shaping half (shape.py)."""

    def __init__(self, source: str, model: str | None = None, *, text: str | None = None,
                 pos: int = 0):
        self.text = text
        if source not in SOURCES:
            self.fail(f"unknown source {source!r}", pos, groups=[("sources", SOURCES)],
                      suggestion=closest(source, SOURCES))
        self.src: SourceDef = SOURCES[source]
        self.model_type = self.extension_id = None
        if source == "models":
            if not model:
                self.fail("'models' needs a model type, e.g. models Person", pos)
            self.extension_id, self.model_type = split_model(model)

    def fail(self, message: str, pos: int | None = None, **kw: Any):
        raise VdfsSyntaxError(message, text=self.text, pos=pos, **kw)

    # ---- names ----------------------------------------------------------------------------
    def ref(self, name: str, pos: int = 0) -> ir.Ref:
        if not isinstance(name, str):     # a builder passes what its caller gave
            self.fail(f"a field name is text, not {type(name).__name__}", pos)
        f = self.src.lookup(name)
        if f is not None:
            return ir.Ref(f.name, f.type)
        if self.src.name == "models":
            path = name[5:] if name.startswith("data.") else name
            if _JSON_PATH.match(path):
                return ir.Ref(path, "json", json=True)
        names = sorted(self.src.fields) + sorted(self.src.synonyms)
        self.fail(f"unknown field {name!r} for {self.src.name}", pos,
                  groups=[(f"fields of {self.src.name}", names)],
                  suggestion=closest(name, names))

    # ---- values ---------------------------------------------------------------------------
    def value(self, v: Any, ref: ir.Ref) -> Any:
        """An IR value for AST value `v` compared with field `ref` (by the value's type)."""
        pos = getattr(v, "pos", 0)
        method = _VALUES.get(type(v))
        if method is None:
            self.fail(f"cannot compare {ref.name} with {v!r}", pos)
        try:
            return method(self, v, ref, pos)
        except CoercionError as exc:
            self.fail(f"{ref.name}: {exc}", pos)

    def param_value(self, v: ast.Param, ref: ir.Ref, pos: int) -> ir.Param:
        if v.name == "now":
            self.fail("':now' is reserved: pass the clock as now=…, or write `now`", pos)
        return ir.Param(v.name, ref.name if ref.name in ("ext", "kind") else ref.type)

    def size_value(self, v: ast.Size, ref: ir.Ref, pos: int) -> ir.Lit:
        if ref.type not in ("size", "int", "float", "json"):
            self.fail(f"{v.text} is a size, but {ref.name} is {_kind_word(ref.type)}", pos)
        return ir.Lit(parse_size(v.text))

    def time_value(self, v: Any, ref: ir.Ref, pos: int) -> ir.TimeAt:
        if ref.type not in _TIME:
            self.fail(f"{ref.name} is {_kind_word(ref.type)}, not a time", pos)
        return ir.TimeAt(time_spec(v), ref.type)

    def lit_value(self, v: ast.Lit, ref: ir.Ref, pos: int) -> Any:
        if ref.type in _TIME and isinstance(v.value, str):
            spec = v.value.strip()
            if is_time_text(spec.lower()):
                return ir.TimeAt(canonical_time(spec), ref.type)
        if ref.type == "json":
            return ir.Lit(json_value(v.value))
        if ref.name == "kind" and isinstance(v.value, str):
            return ir.Lit(self.kind(v.value, pos))
        if ref.name == "ext" and isinstance(v.value, str):
            return ir.Lit(text_value(v.value).lower())      # stored lower-case
        return ir.Lit(coerce(ref.type, v.value))

    def kind(self, value: str, pos: int = 0) -> str:
        low = value.lower()
        if low not in KINDS:
            self.fail(f"unknown kind {value!r}", pos, groups=[("kinds", KINDS)],
                      suggestion=closest(value, KINDS))
        return low

    # ---- filters --------------------------------------------------------------------------
    def compare(self, ref: ir.Ref, op: str, v: Any, pos: int = 0) -> Any:
        self.not_a_list(ref, "compared", pos)
        if op in ("isnull", "notnull"):
            return ir.Null(ref, negate=op == "notnull")
        if op == "truthy":
            if ref.type not in ("bool", "int", "json"):
                self.fail(f"{ref.name} is {_kind_word(ref.type)}: compare it, e.g. "
                          f"{ref.name} = …", pos)
            return ir.Truthy(ref)
        if op in ("in", "notin"):
            values = tuple(self.value(x, ref) for x in v)
            if any(isinstance(x, ir.TimeAt) for x in values):
                self.fail("a list of times is not supported; use a range", pos)
            return ir.InList(ref, values, negate=op == "notin")
        if op in ("~", "!~", "=~"):
            if ref.type not in ("text", "json"):
                self.fail(f"{'regex' if op == '=~' else 'glob'} matching needs a text field; "
                          f"{ref.name} is {_kind_word(ref.type)}", pos)
            val = self.plain(v, "text")
            if isinstance(val, ir.Lit):
                self.pattern("regex" if op == "=~" else "glob", val.value, getattr(v, "pos", 0))
            return ir.Match(ref, "regex" if op == "=~" else "glob", val, negate=op == "!~")
        value = self.value(v, ref)
        if isinstance(value, ir.TimeAt) and is_interval(value.spec):
            start = ir.TimeAt(value.spec, value.type, "start")
            end = ir.TimeAt(value.spec, value.type, "end")
            if op == "=":
                return ir.And((ir.Cmp(ref, ">=", start), ir.Cmp(ref, "<", end)))
            if op == "!=":     # the negation, so a missing time is != every interval
                return ir.Not(ir.And((ir.Cmp(ref, ">=", start), ir.Cmp(ref, "<", end))))
            edge, new_op = _FLIP_INTERVAL[op]
            return ir.Cmp(ref, new_op, ir.TimeAt(value.spec, value.type, edge))
        return ir.Cmp(ref, op, value)

    def not_a_list(self, ref: ir.Ref, what: str, pos: int) -> None:
        if ref.type == "paths":
            self.fail(f"{ref.name} is a list of paths: it can be selected, not {what}", pos)

    def plain(self, v: Any, ptype: str) -> Any:
        """A text-ish value (tag, pattern, device, path): a literal or a parameter."""
        if isinstance(v, ast.Param):
            return ir.Param(v.name, ptype)
        if isinstance(v, ast.Lit) and isinstance(v.value, (str, int, float)) and not isinstance(v.value, bool):
            try:
                return ir.Lit(coerce("text", v.value))
            except CoercionError as exc:
                self.fail(str(exc), v.pos)
        self.fail("expected a text value here", getattr(v, "pos", 0))

    def pattern(self, mode: str, value: str, pos: int) -> None:
        """Refuse a glob or regex that RE2 cannot run, the caret on the offending character."""
        try:
            patterns.check(mode, value)
        except patterns.PatternError as exc:
            if self.text is None:
                raise
            raise exc.within(self.text, value_pos(self.text, pos, exc.offset)) from None

    def need(self, predicate: str, what: str, pos: int) -> None:
        if predicate not in self.src.predicates:
            fits = sorted(s for s, d in SOURCES.items() if predicate in d.predicates)
            self.fail(f"{what!r} does not apply to {self.src.name} (it works on "
                      f"{', '.join(fits)})", pos)

    def in_path(self, v: Any, pos: int = 0) -> ir.Under:
        """`in "…"`: below a folder (never the folder itself) or matching a path glob. A
        relative path has no meaning without a current directory: the CLI and the kernel
        resolve it first (`resolve_paths`); anything else gets this error."""
        self.need("in", "in", pos)
        val = self.plain(v, "path")
        if isinstance(val, ir.Param):
            return ir.Under(val, "prefix")
        if patterns.is_glob(val.value):
            self.pattern("path", val.value, getattr(v, "pos", 0))
        if is_relative(val.value):
            self.fail(f"{val.value!r} is a relative path, and this query has no current folder:"
                      f" write it from / or ~ (a location by name: where location = "
                      f"\"{val.value}\")", getattr(v, "pos", pos))
        return under(val.value)

    def of_kind(self, values: tuple, pos: int = 0) -> ir.Kind:
        self.need("kind", "of kind", pos)
        out = []
        for v in values:
            if isinstance(v, ast.Param):
                out.append(ir.Param(v.name, "kind"))
            elif isinstance(v, ast.Lit) and isinstance(v.value, str):
                out.append(ir.Lit(self.kind(v.value, v.pos)))
            else:
                self.fail("a kind is a word such as image, video or document", getattr(v, "pos", pos))
        return ir.Kind(tuple(out))

    def tagged(self, v: Any, pos: int = 0) -> ir.Tagged:
        self.need("tagged", "tagged", pos)
        val = self.plain(v, "tag")
        return ir.Tagged(ir.Lit(tag_name(val.value)) if isinstance(val, ir.Lit) else val)

    def has(self, model: str, pos: int = 0) -> ir.Has:
        self.need("has", "has", pos)
        ext, typ = split_model(model)
        return ir.Has(typ, ext)

    def device(self, v: Any, pos: int = 0) -> ir.Device:
        self.need("device", "on device", pos)
        return ir.Device(None if v is None else self.plain(v, "text"))

    def duplicates(self, pos: int = 0) -> ir.Dup:
        self.need("duplicates", "duplicates", pos)
        return ir.Dup()

    def matches(self, v: Any, pos: int = 0) -> ir.Search:
        """`matches "…"`: a search checked now (a literal) or when bound (a parameter)."""
        self.need("matches", "matches", pos)
        val = self.plain(v, "search")
        if isinstance(val, ir.Lit):
            self.search_text(val.value, getattr(v, "pos", pos))
        return ir.Search(val)

    def search_text(self, value: str, pos: int) -> None:
        try:
            fts.parse_search(value)
        except patterns.PatternError as exc:
            if self.text is None:
                raise
            raise exc.within(self.text, value_pos(self.text, pos, exc.offset)) from None

    def filter(self, n: Any) -> Any:
        """The IR of one filter node: its method is chosen by the node's type (_FILTERS)."""
        method = _FILTERS.get(type(n))
        if method is None:
            self.fail(f"cannot use {type(n).__name__} here", getattr(n, "pos", 0))  # pragma: no cover
        return method(self, n)

    # ---- aggregates -----------------------------------------------------------------------
    def agg(self, fn: str, field: str | None, pos: int = 0) -> ir.Agg:
        fn = fn.lower()
        if fn not in AGGREGATES:
            self.fail(f"unknown function {fn!r}", pos,
                      groups=[("functions", [f + "()" for f in AGGREGATES])],
                      suggestion=closest(fn, AGGREGATES))
        if field is None:
            if fn != "count":
                self.fail(f"{fn}() needs a field, e.g. {fn}(size)", pos)
            return ir.Agg("count")
        ref = self.ref(field, pos)
        if fn in ("sum", "avg") and ref.type not in ("int", "float", "size", "json"):
            self.fail(f"{fn}() needs a number; {ref.name} is {_kind_word(ref.type)}", pos)
        return ir.Agg(fn, ref)


_FILTERS = {
    ast.And: lambda lw, n: ir.And(tuple(lw.filter(i) for i in n.items)),
    ast.Or: lambda lw, n: ir.Or(tuple(lw.filter(i) for i in n.items)),
    ast.Not: lambda lw, n: ir.Not(lw.filter(n.item)),
    ast.Compare: lambda lw, n: lw.compare(lw.ref(n.field.name, n.field.pos), n.op, n.value, n.pos),
    ast.InPath: lambda lw, n: lw.in_path(n.value, n.pos),
    ast.OfKind: lambda lw, n: lw.of_kind(n.values, n.pos),
    ast.Tagged: lambda lw, n: lw.tagged(n.value, n.pos),
    ast.Has: lambda lw, n: lw.has(n.model, n.pos),
    ast.OnDevice: lambda lw, n: lw.device(n.value, n.pos),
    ast.Duplicates: lambda lw, n: lw.duplicates(n.pos),
    ast.Matches: lambda lw, n: lw.matches(n.value, n.pos),
}


_VALUES = {ast.Param: Lowerer.param_value, ast.Size: Lowerer.size_value,
           ast.Date: Lowerer.time_value, ast.Ago: Lowerer.time_value, ast.Day: Lowerer.time_value,
           ast.Now: Lowerer.time_value, ast.Lit: Lowerer.lit_value}


def lower(q: ast.Query) -> ir.Query:
    """The IR of a parsed query (raises VdfsSyntaxError for unknown names and bad values)."""
    lw = Lowerer(q.source, q.model, text=q.text, pos=q.pos)
    where = ir.and_all([lw.filter(f) for f in q.filters])
    select = lw.select_items(q.select) if q.select else None
    group = [lw.ref(f.name, f.pos) for f in q.group_by or ()]
    order = lw.order_items(q.order_by or (), select)
    ranked = [ir.Order(ir.Ref("rank", "float"))] if q.source == "search" else []
    if not order and ranked and not (group or any(isinstance(o.expr, ir.Agg) for o in select or ())):
        order = ranked
    lw.need_search(where, select, group, order, q.pos)
    return lw.finish(where, select, group, order, lw.count_value(q.limit, "limit"),
                     lw.count_value(q.offset, "offset"))


# ---- helpers shared with the builder ---------------------------------------------------------
def split_model(name: str) -> tuple[str | None, str]:
    """'com.x.photos.PhotoAnalysis' → ('com.x.photos', 'PhotoAnalysis'); 'Person' → (None, 'Person')."""
    ext, _, typ = name.rpartition(".")
    return (ext or None), typ


def under(path: str) -> ir.Under:
    """A path glob, a folder prefix (absolute or ~), or (builder in_location only) a location
    name; the DSL refuses relative paths before calling this."""
    if patterns.is_glob(path):
        return ir.Under(ir.Lit(os.path.expanduser(path)), "glob")
    path = patterns.unescape(path)
    if path.startswith(("/", "~")):
        p = os.path.expanduser(path)
        if len(p) > 1:
            p = p.rstrip("/") or "/"
        return ir.Under(ir.Lit(p), "prefix")
    return ir.Under(ir.Lit(path), "location")


def _kind_word(t: str) -> str:
    return {"int": "a number", "float": "a number", "size": "a size", "text": "text",
            "bool": "true/false", "uuid": "a uuid", "time_ns": "a time", "time_iso": "a time",
            "json": "a model field"}.get(t, t)

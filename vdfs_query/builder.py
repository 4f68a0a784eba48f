"""The fluent builder: the query language as method calls, producing the same IR as the DSL
(docs/architecture.md §6).

    vdfs.query_entries().in_location("/photos").of_type("image").on_this_device() \\
        .where("size", ">", "2MB").order_by("size", desc=True).limit(50).collect()
    vdfs.query_models(Person).select_inline_only().where("name", "=", "Alice").collect()

Builders are immutable (each call returns a new one) and lower through the same functions as
the DSL (`lower.Lowerer`), so `entries of kind image where size > 2MB` and
`query_entries().of_type("image").where("size", ">", "2MB")` have equal IR and identical SQL.

Executor protocol (what core passes as `executor=`; duck-typed, documented here only):
    executor.run(query: vdfs_query.ir.Query) -> vdfs_query.Result          required
        (a plain callable `executor(query) -> Result` is accepted too)
    executor.to_models(model_cls, rows: list[dict], *, inline_only: bool) -> list   optional
        rows carry uuid, data (JSON text), schema_version, entry_uuid, content_uuid and
        content_identity_uuid (uuid.UUID or None), standalone, extension_id, model_type,
        created_at, updated_at. Without it, models queries return Records.
    executor.read_entry / entry_exif / entry_location                       optional
        what an entries row's read(), exif and location() ask (vdfs_query.rows.Entry).
Terminals: .collect() -> list[Record], .first() -> Record | None, .count() -> int,
.map(fn) -> Mapped (a list with .collect()), .result() -> Result. A Record is a dict with
attribute access whose uuid fields are uuid.UUID; entries rows are Entry records.
"""
from __future__ import annotations

import dataclasses
import os
import uuid
from typing import Any, Callable

from . import ast, ir
from .errors import VdfsSyntaxError
from .lower import Lowerer, split_model
from .rows import Mapped, Record, entry_row
from .values import brief, tag_name

_OPS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
        "~": "~", "glob": "~", "!~": "!~", "=~": "=~", "regex": "=~", "in": "in",
        "not in": "notin", "is null": "isnull", "is not null": "notnull"}


class _Builder:
    _source = "entries"

    def __init__(self, executor: Any = None, **state: Any):
        self._executor = executor
        self._state = {"filters": (), "order": (), "select": None, "group": (), "limit": None,
                       "offset": None}
        self._state.update(state)

    def _with(self, **changes: Any):
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._state = {**self._state, **changes}
        return new

    def _lowerer(self) -> Lowerer:
        return Lowerer(self._source, self._model_name())

    def _model_name(self) -> str | None:
        return None

    def _add(self, node: Any):
        return self._with(filters=self._state["filters"] + (node,))

    # ---- filters shared by every source ---------------------------------------------------
    def where(self, field: str, op: str, value: Any = None):
        """A comparison: where("size", ">", "2MB"), where("ext", "in", ["jpg", "png"])."""
        key = _OPS.get(op.strip().lower()) if isinstance(op, str) else None
        if key is None:
            raise VdfsSyntaxError(f"unknown operator {op!r}", expected=sorted(_OPS))
        lw = self._lowerer()
        ref = lw.ref(field)
        if key in ("in", "notin"):
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise VdfsSyntaxError(f"'{op}' needs a list of values")
            val: Any = tuple(ast.Lit(_plain(v)) for v in value)
        elif key in ("isnull", "notnull"):
            val = None
        else:
            val = ast.Lit(_plain(value))
        return self._add(lw.compare(ref, key, val))

    def where_true(self, field: str):
        lw = self._lowerer()
        return self._add(lw.compare(lw.ref(field), "truthy", None))

    def tagged(self, tag: str):
        return self._add(self._lowerer().tagged(ast.Lit(_as_text(tag))))

    def order_by(self, field: str, desc: bool = False):
        lw = self._lowerer()
        expr = ir.Alias(field) if isinstance(field, str) and field in self._aliases() \
            else lw.ref(field)
        return self._with(order=self._state["order"] + (ir.Order(expr, bool(desc)),))

    def limit(self, n: int):
        return self._with(limit=self._lowerer().count_value(n, "limit"))

    def offset(self, n: int):
        return self._with(offset=self._lowerer().count_value(n, "offset"))

    def select(self, *fields: str):
        lw = self._lowerer()
        return self._with(select=tuple(ir.Out(lw.ref(f), f) for f in fields))

    def _aliases(self) -> set[str]:
        return {o.alias for o in self._state["select"] or ()} - {
            o.alias for o in self._state["select"] or () if isinstance(o.expr, ir.Ref)}

    # ---- the IR ---------------------------------------------------------------------------
    def to_ir(self) -> ir.Query:
        s = self._state
        lw = self._lowerer()
        return lw.finish(ir.and_all(list(s["filters"])), list(s["select"]) if s["select"] else None,
                         list(s["group"]), list(s["order"]), s["limit"], s["offset"])

    # ---- terminals ------------------------------------------------------------------------
    def result(self, q: ir.Query | None = None):
        if self._executor is None:
            raise RuntimeError("this query has no executor: get it from lib.vdfs().query_entries() "
                               "or pass executor= (or run it with lib.query(builder))")
        run = getattr(self._executor, "run", self._executor)
        return run(q or self.to_ir())

    def collect(self) -> list:
        return self._rows(self.result())

    def first(self) -> Any:
        rows = self._rows(self.result(dataclasses.replace(self.to_ir(), limit=ir.Lit(1))))
        return rows[0] if rows else None

    def _rows(self, result: Any) -> list:
        return _records(result)

    def count(self) -> int:
        return int(self.result(dataclasses.replace(self.to_ir(), count_only=True)).scalar() or 0)

    def map(self, fn: Callable[[Any], Any]) -> Mapped:
        """fn of every row, as a list that `.collect()`s to itself (so `.map(f).collect()`
        reads as the Rust chain does)."""
        return Mapped(fn(r) for r in self.collect())

    def explain(self) -> str:
        from .compiler import compile
        c = compile(self.to_ir(), "duckdb")
        return f"{ir.pretty(c.ir)}\n{c.sql}\n{c.params}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__}\n{ir.pretty(self.to_ir())}>"


class EntryQuery(_Builder):
    """query_entries(): files and folders (docs/architecture.md §6)."""
    _source = "entries"

    def in_location(self, location: Any):
        """A folder (absolute path or os.PathLike: everything below it), a path glob, a
        location name, or a location object with a `.path`."""
        if isinstance(location, os.PathLike):
            location = os.path.abspath(os.fspath(location))
        elif not isinstance(location, str):
            location = getattr(location, "path", None)
            if location is None:
                raise VdfsSyntaxError("in_location() takes a path, a location name or a location")
            location = os.fspath(location)
        return self._add(self._lowerer().in_path(ast.Lit(location)))

    def of_type(self, kind: Any):
        """A kind name ('image') or a class named after one (SPEC's of_type::<Image>())."""
        if not isinstance(kind, str):
            kind = getattr(kind, "kind", None) or getattr(kind, "__name__", None) or _as_text(kind)
        return self._add(self._lowerer().of_kind((ast.Lit(_as_text(kind)),)))

    def _rows(self, result: Any) -> list:
        """Entry rows (read(), exif, location()) unless a select() chose other columns."""
        if self._state["select"] is not None or "uuid" not in result.columns:
            return _records(result)
        host = self._executor
        return _records(result, lambda pairs: entry_row(pairs, host))

    def where_content_id(self, content_uuid: Any):
        return self.where("content_uuid", "=", content_uuid)

    def on_this_device(self):
        return self._add(self._lowerer().device(None))

    def on_device(self, name: str):
        return self._add(self._lowerer().device(ast.Lit(_as_text(name))))

    def has(self, model: Any):
        return self._add(self._lowerer().has(_model_name(model)))

    def duplicates(self):
        return self._add(self._lowerer().duplicates())

    def matches(self, text: str):
        """`matches "…"`: the name or path, or the entry's text, matches a search."""
        return self._add(self._lowerer().matches(ast.Lit(_as_text(text))))


class FileQuery(EntryQuery):
    """query_files(): the entries that are not folders (the `files` source)."""
    _source = "files"


class FolderQuery(EntryQuery):
    """query_folders(): the entries that are folders (the `folders` source)."""
    _source = "folders"


class ModelQuery(_Builder):
    """query_models(T): a model type's rows, as model instances when the executor can."""
    _source = "models"
    _ROW_FIELDS = ("uuid", "data", "schema_version", "entry_uuid", "content_uuid", "standalone",
                   "extension_id", "model_type", "created_at", "updated_at", "metadata_id")

    def __init__(self, model: Any, executor: Any = None, **state: Any):
        super().__init__(executor, **state)
        self._model = model
        self._name = _model_name(model)
        self._inline_only = False

    def _model_name(self) -> str | None:
        return self._name

    def select_inline_only(self):
        """Don't load blob fields (SPEC: fast queries without embeddings)."""
        new = self._with()
        new._inline_only = True
        return new

    def for_content(self, content_uuid: Any):
        return self.where("content_uuid", "=", content_uuid)

    def _rows_ir(self, q: ir.Query) -> ir.Query:
        if q.select is not None:
            return q
        lw = self._lowerer()
        return dataclasses.replace(q, select=tuple(ir.Out(lw.ref(f), f) for f in self._ROW_FIELDS))

    def collect(self) -> list:
        return self._convert(self.result(self._rows_ir(self.to_ir())))

    def first(self) -> Any:
        q = dataclasses.replace(self._rows_ir(self.to_ir()), limit=ir.Lit(1))
        out = self._convert(self.result(q))
        return out[0] if out else None

    def _convert(self, result: Any) -> list:
        rows = _records(result)
        to_models = getattr(self._executor, "to_models", None)
        if to_models is None or isinstance(self._model, str) or self._state["select"] is not None:
            return rows
        for r in rows:
            r["content_identity_uuid"] = r.get("content_uuid")
        return to_models(self._model, rows, inline_only=self._inline_only)


def query_entries(executor: Any = None) -> EntryQuery:
    return EntryQuery(executor)


def query_files(executor: Any = None) -> FileQuery:
    return FileQuery(executor)


def query_folders(executor: Any = None) -> FolderQuery:
    return FolderQuery(executor)


def query_models(model: Any, executor: Any = None) -> ModelQuery:
    return ModelQuery(model, executor)


def _model_name(model: Any) -> str:
    """'Person', 'ext.Person', or a class carrying `__vdfs_model__` (model_type, extension_id)."""
    if isinstance(model, str):
        return model
    spec = getattr(model, "__vdfs_model__", None)
    if spec is not None:
        ext = getattr(spec, "extension_id", None)
        return f"{ext}.{spec.model_type}" if ext else spec.model_type
    name = getattr(model, "__name__", None)
    if name:
        return name
    raise VdfsSyntaxError(f"{model!r} is not a model class or a model type name")


def _as_text(value: Any) -> str:
    """str(value) for a name given to the builder (Python refuses str() of a huge int)."""
    try:
        return value if isinstance(value, str) else str(value)
    except ValueError:
        raise VdfsSyntaxError(f"expected text, not {brief(value)}") from None


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _records(result: Any, make: Callable[[Any], Record] = Record) -> list[Record]:
    """The rows of `result` as `make(pairs)` records, uuid fields as uuid.UUID; each row's dict
    is built once (per row, a copy more is most of the cost of a large collect())."""
    cols = result.columns
    uuid_idx = [i for i, t in enumerate(result.types) if t == "uuid"]
    out = []
    for t in result.tuples():
        if uuid_idx:
            t = list(t)
            for i in uuid_idx:
                if t[i] is not None:
                    t[i] = uuid.UUID(t[i])
        out.append(make(zip(cols, t)))
    return out

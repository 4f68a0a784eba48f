"""vdfs_query: the query language of vdfs (docs/architecture.md §4). Imports nothing from core.

    text ──Lark──► AST ─┐
                        ├─► IR ─► SQL (SQLite or DuckDB dialect) + bound parameters
    fluent builder ─────┘

    parse(text) -> ast.Query                 compile(query, dialect="duckdb", params=…) -> Compiled
    query_entries(executor=None)             query_models(model_cls_or_name, executor=None)

Running the SQL against a library (the engine, the DuckDB mirror, `Result`) is core's job:
`core.query`.

Only the errors load with the package. Everything else loads on first use, because every
`vdfs` command imports this package (through core's errors) before it knows whether it will
parse anything: building the language's modules costs ~100 ms, more than the rest of a CLI
start-up.
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import (LocatedError, ParameterError, QueryCancelled, QueryError, QueryTimeout,
                     VdfsError, VdfsSyntaxError)

if TYPE_CHECKING:  # pragma: no cover
    from .builder import (EntryQuery, FileQuery, FolderQuery, ModelQuery, query_entries,
                          query_files, query_folders, query_models)
    from .compiler import Compiled, compile, to_ir
    from .parser import keywords, parse
    from .relpaths import resolve_paths

_LAZY = {
    "EntryQuery": "builder", "FileQuery": "builder", "FolderQuery": "builder",
    "ModelQuery": "builder", "query_entries": "builder", "query_files": "builder",
    "query_folders": "builder", "query_models": "builder",
    "Compiled": "compiler", "compile": "compiler", "to_ir": "compiler",
    "keywords": "parser", "parse": "parser", "resolve_paths": "relpaths",
}

__all__ = ["VdfsError", "QueryError", "QueryTimeout", "QueryCancelled", "VdfsSyntaxError",
           "ParameterError", "LocatedError",
           "parse", "compile", "Compiled", "to_ir", "KEYWORDS", "keywords", "resolve_paths",
           "query_entries", "query_files", "query_folders", "query_models", "EntryQuery",
           "FileQuery", "FolderQuery", "ModelQuery"]


def __getattr__(name: str) -> Any:
    if name == "KEYWORDS":          # read from the built parser
        return import_module(".parser", __name__).keywords()
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vdfs_query' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

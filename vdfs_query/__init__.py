"""vdfs_query: the query language of vdfs (docs/architecture.md §4). Imports nothing from core.

    text ──Lark──► AST ─┐
                        ├─► IR ─► SQL (SQLite or DuckDB dialect) + bound parameters
    fluent builder ─────┘

    parse(text) -> ast.Query                 compile(query, dialect="duckdb", params=…) -> Compiled
    query_entries(executor=None)             query_models(model_cls_or_name, executor=None)

Running the SQL against a library (the engine, the DuckDB mirror, `Result`) is core's job:
`core.query`.
"""
from .builder import (EntryQuery, FileQuery, FolderQuery, ModelQuery, query_entries, query_files,
                      query_folders, query_models)
from .compiler import Compiled, compile, to_ir
from .errors import (LocatedError, ParameterError, QueryCancelled, QueryError, QueryTimeout,
                     VdfsError, VdfsSyntaxError)
from .parser import keywords, parse
from .relpaths import resolve_paths


__all__ = ["VdfsError", "QueryError", "QueryTimeout", "QueryCancelled", "VdfsSyntaxError",
           "ParameterError", "LocatedError",
           "parse", "compile", "Compiled", "to_ir", "KEYWORDS", "keywords", "resolve_paths",
           "query_entries", "query_files", "query_folders", "query_models", "EntryQuery",
           "FileQuery", "FolderQuery", "ModelQuery"]


def __getattr__(name: str) -> tuple[str, ...]:
    # KEYWORDS comes from the built parser: build it on first use, not on import
    if name == "KEYWORDS":
        return keywords()
    raise AttributeError(f"module 'vdfs_query' has no attribute {name!r}")

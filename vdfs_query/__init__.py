"""vdfs_query: the query language of vdfs (docs/architecture.md §4). Imports nothing from core.

    text ──Lark──► AST ─┐
                        ├─► IR ─► SQL (SQLite or DuckDB dialect) + bound parameters ─► Engine
    fluent builder ─────┘

    parse(text) -> ast.Query                 compile(query, dialect="duckdb", params=…) -> Compiled
    query_entries(executor=None)             query_models(model_cls_or_name, executor=None)
    Engine(db_path, …).run(query, params)    Result: len(), .rows(), .arrow(), .df(), .pl()
"""
from .compiler import Compiled, compile, to_ir
from .errors import (LocatedError, ParameterError, QueryCancelled, QueryError, QueryTimeout,
                     VdfsError, VdfsSyntaxError)
from .relpaths import resolve_paths
from .parser import keywords, parse
from .result import Result

__all__ = ["VdfsError", "QueryError", "QueryTimeout", "QueryCancelled", "VdfsSyntaxError",
           "ParameterError", "LocatedError",
           "parse", "compile", "Compiled", "to_ir", "Result", "KEYWORDS", "keywords", "resolve_paths",
           "query_entries", "query_files", "query_folders", "query_models", "Engine"]


def __getattr__(name: str):
    # builder and engine load on first use: `import vdfs_query` stays cheap for the CLI
    if name in ("query_entries", "query_files", "query_folders", "query_models", "EntryQuery",
                "FileQuery", "FolderQuery", "ModelQuery"):
        from . import builder
        return getattr(builder, name)
    if name == "KEYWORDS":            # read from the grammar on first use
        return keywords()
    if name in ("Engine", "Explain"):
        from . import engine
        return getattr(engine, name)
    raise AttributeError(name)

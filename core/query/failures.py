"""What an exception raised while answering a query means to the user: Ctrl-C is
QueryCancelled, a deadline QueryTimeout, a database's own error a QueryError — never a raw
sqlite3 or DuckDB exception."""
from __future__ import annotations

import re
import sqlite3

from vdfs_query.errors import QueryCancelled, QueryError, QueryTimeout, VdfsError, VdfsSyntaxError
from .deadline import Clock

_INTERRUPTED = re.compile(r"\binterrupt", re.I)


def failure_of(exc: BaseException, clock: Clock | None) -> VdfsError | None:
    """The VdfsError `exc` means (None: raise it as it is). `clock`: the deadline the
    statement ran under (None: one that nothing interrupts)."""
    if isinstance(exc, KeyboardInterrupt):
        return QueryCancelled()
    if isinstance(exc, RecursionError):
        return VdfsSyntaxError("the query nests too deeply")
    if isinstance(exc, VdfsError) or not is_database_error(exc):
        return None
    text = str(exc).strip()
    if clock is not None and clock.cancelled:
        return QueryCancelled()
    if clock is not None and _INTERRUPTED.search(text):
        if clock.timed_out:
            return QueryTimeout(clock.seconds)
        return QueryCancelled()
    first = text.splitlines()[0] if text else type(exc).__name__
    return QueryError(f"the query could not run: {first}")


def is_database_error(exc: Exception) -> bool:
    """sqlite3's or DuckDB's own exception (DuckDB says 'Query interrupted' on Ctrl-C as a
    RuntimeError), or a value a database driver refused to bind."""
    if isinstance(exc, (sqlite3.Error, OverflowError)):
        return True
    module = type(exc).__module__ or ""
    return module.split(".")[0] in ("duckdb", "_duckdb") or (
        isinstance(exc, RuntimeError) and "interrupted" in str(exc).lower())

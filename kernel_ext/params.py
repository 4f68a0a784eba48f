"""`:name` parameters: Python values reach a query by name and are bound, never pasted as text.

The magic only *finds* the names and looks them up in the user's namespace; the query layer
binds them as SQL parameters. A name the notebook does not define is an error with a caret.
"""
from __future__ import annotations

from typing import Any, Mapping

from .errors import VdfsUsageError, caret_lines


def param_refs(text: str) -> list[tuple[str, int, int]]:
    """(name, line, column) of every `:name` outside string literals and comments, in order
    (1-based), as vdfs_query finds them: from the parsed query, or its lexer's tokens."""
    from vdfs_query.params import param_positions
    refs = []
    for name, pos in param_positions(text):
        line = text.count("\n", 0, pos) + 1
        refs.append((name, line, pos - (text.rfind("\n", 0, pos) + 1) + 1))
    return refs


def bind_params(text: str, namespace: Mapping[str, Any],
                explicit: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Values for every `:name` in `text`, from `explicit` first, then the user namespace."""
    explicit = explicit or {}
    values: dict[str, Any] = {}
    for name, line, column in param_refs(text):
        if name in values:
            continue
        if name in explicit:
            values[name] = explicit[name]
        elif name in namespace:
            values[name] = namespace[name]
        else:
            raise VdfsUsageError(
                f"parameter :{name} is not defined in the notebook (set {name} = ... first)",
                caret_lines(text, line, column, len(name) + 1))
    return values

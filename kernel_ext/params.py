"""`:name` parameters: Python values reach a query by name and are bound, never pasted as text.

The magic only *finds* the names and looks them up in the user's namespace; the query layer
binds them as SQL parameters. A name the notebook does not define is an error with a caret.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Mapping

from .errors import VdfsUsageError, caret_lines


@lru_cache(maxsize=1)
def _param() -> re.Pattern:
    """A `:name` as the grammar's PARAM terminal spells it, not glued to a word or a colon."""
    from vdfs_query.parser import terminal_pattern
    return re.compile(r"(?<![\w:])" + terminal_pattern("PARAM"))


def param_refs(text: str) -> list[tuple[str, int, int]]:
    """(name, line, column) of every `:name` outside string literals, in order (1-based)."""
    refs: list[tuple[str, int, int]] = []
    for lineno, row in enumerate(text.split("\n"), start=1):
        for start, end in _code_spans(row):
            for m in _param().finditer(row, start, end):
                refs.append((m.group(0)[1:], lineno, m.start() + 1))
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


def _code_spans(row: str) -> list[tuple[int, int]]:
    """Index ranges of `row` outside quoted strings (quotes: ' and ", backslash escapes) and
    before a `--` comment, which the grammar ignores: a `:name` there is not a parameter."""
    spans: list[tuple[int, int]] = []
    start, i, quote = 0, 0, None
    while i < len(row):
        ch = row[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
                start = i + 1
        elif ch in "\"'":
            spans.append((start, i))
            quote = ch
        elif row.startswith("--", i):
            return spans + [(start, i)]
        i += 1
    if quote is None:
        spans.append((start, len(row)))
    return spans

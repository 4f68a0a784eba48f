"""Relative folders in `in "…"`: a query has no current folder of its own, so the CLI and the
kernel (which do) make such paths absolute before the query is lowered; the language refuses
any that reach it."""
from __future__ import annotations

import dataclasses
import os
from typing import Any

from . import ast, patterns
from .parser import parse


def is_relative(path: str) -> bool:
    """A folder the query cannot place without a current folder: not from / or ~, and not a
    glob (a relative glob such as `*.jpg` or `2024/*.jpg` matches at any depth)."""
    return not path.startswith(("/", "~")) and not patterns.is_glob(path)


def resolve_paths(query: Any, base: str) -> Any:
    """`query` (text or parsed) with every relative `in "…"` path made absolute against the
    folder `base` (the CLI's or the kernel's current directory). Text without one comes back
    unchanged, so callers keep the engine's text caches."""
    q = parse(query) if isinstance(query, str) else query
    if not any(_relative(n) for n in q.walk()):
        return query

    def fix(n: Any) -> Any:
        if not _relative(n):
            return n
        path = os.path.normpath(os.path.join(base, n.value.value))
        return dataclasses.replace(n, value=dataclasses.replace(n.value, value=path))
    return q.transform(fix)


def _relative(n: Any) -> bool:
    """An `in "…"` whose literal folder is relative."""
    return (isinstance(n, ast.InPath) and isinstance(n.value, ast.Lit)
            and isinstance(n.value.value, str) and is_relative(n.value.value))

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
    changed = [False]

    def fix(n: Any) -> Any:
        if isinstance(n, (ast.And, ast.Or)):
            return dataclasses.replace(n, items=tuple(fix(i) for i in n.items))
        if isinstance(n, ast.Not):
            return dataclasses.replace(n, item=fix(n.item))
        if (isinstance(n, ast.InPath) and isinstance(n.value, ast.Lit)
                and isinstance(n.value.value, str) and is_relative(n.value.value)):
            changed[0] = True
            path = os.path.normpath(os.path.join(base, n.value.value))
            return dataclasses.replace(n, value=dataclasses.replace(n.value, value=path))
        return n
    fixed = dataclasses.replace(q, filters=tuple(fix(f) for f in q.filters))
    return fixed if changed[0] else query

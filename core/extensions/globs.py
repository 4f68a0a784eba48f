"""Path globs for permission scopes, compiled to one regular expression.

Semantics (GitHub-style, as users know them): `*` and `?` stay inside one folder, `**` crosses
folders (`**/` also matches no folder at all), `{a,b}` is alternation (nestable), `[...]` a
character class. Matching is case-insensitive, so `*.{jpg,png}` also grants `IMG_1.JPG`.
The regex uses only syntax that Python `re`, DuckDB (RE2) and SQLite's REGEXP agree on, so the
same text filters rows inside a query and checks single paths in Python.
"""
from __future__ import annotations

import functools
import re

from ..errors import VdfsError


class GlobError(VdfsError, ValueError):
    """A glob pattern that cannot be compiled (unbalanced braces or brackets)."""


_SPECIAL = set("\\.^$+()|{}[]*?")


def _esc(ch: str) -> str:
    return "\\" + ch if ch in _SPECIAL else ch


def glob_to_regex(pattern: str) -> str:
    """The regex body (no anchors, no flags) matching the same relative paths as `pattern`."""
    if not isinstance(pattern, str) or not pattern:
        raise GlobError(f"a glob must be a non-empty string, got {pattern!r}")
    return _translate(pattern.lstrip("/"), 0, pattern, in_brace=False)[0]


def _translate(p: str, i: int, whole: str, *, in_brace: bool) -> tuple[str, int]:
    out: list[str] = []
    n = len(p)
    while i < n:
        c = p[i]
        if c == "*":
            if p.startswith("**", i):
                j = i + 2
                at_start = i == 0 or p[i - 1] == "/"
                if at_start and j < n and p[j] == "/":
                    out.append("(?:[^/]*/)*")          # **/ : zero or more folders
                    i = j + 1
                    continue
                if at_start and j == n:
                    out.append(".*")                  # trailing ** : everything below
                    i = j
                    continue
                out.append(".*")
                i = j
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            close = p.find("]", i + 2 if p.startswith("[!", i) or p.startswith("[^", i) else i + 1)
            if close < 0:
                raise GlobError(f"unclosed '[' at position {i} in glob {whole!r}")
            inner = p[i + 1:close]
            neg = inner[:1] in ("!", "^")
            if neg:
                inner = inner[1:]
            inner = inner.replace("\\", "\\\\").replace("]", "\\]")
            out.append(f"[^/{inner}]" if neg else f"[{inner}]")
            i = close
        elif c == "{":
            alts: list[str] = []
            i += 1
            while True:
                alt, i = _translate(p, i, whole, in_brace=True)
                alts.append(alt)
                if i >= n:
                    raise GlobError(f"unclosed '{{' in glob {whole!r}")
                if p[i] == ",":
                    i += 1
                    continue
                break  # p[i] == "}"
            out.append("(?:" + "|".join(alts) + ")")
        elif in_brace and c in ",}":
            return "".join(out), i
        elif c == "}":
            raise GlobError(f"unmatched '}}' at position {i} in glob {whole!r}")
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(_esc(p[i]))
        else:
            out.append(_esc(c))
        i += 1
    return "".join(out), i


@functools.lru_cache(maxsize=256)
def compile_glob(pattern: str) -> re.Pattern[str]:
    return re.compile(glob_to_regex(pattern), re.IGNORECASE | re.DOTALL)


def glob_match(pattern: str, relative_path: str) -> bool:
    """Does `relative_path` ('/'-separated, relative to a location root) match `pattern`?"""
    return compile_glob(pattern).fullmatch(relative_path.lstrip("/")) is not None

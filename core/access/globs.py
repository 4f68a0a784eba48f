"""Path globs for permission scopes: the query language's globs (vdfs_query.patterns), applied to
paths relative to a location root.

One implementation, so a grant `**/*.{jpg,png}` selects exactly the files the query
`in "/root/**/*.{jpg,png}"` selects: `*` and `?` stay inside one folder, `**` crosses folders
(`**/` also matches no folder at all), `{a,b}` is alternation (nestable), `[...]`/`[!...]` a
character class, `\\` escapes. A leading `/` anchors at the location root (globs are relative
anyway). Matching ignores case, with Unicode folding, as in queries: a grant names kinds of files
by their names (`*.jpg` also grants a camera's `IMG_1.JPG`), while the folder a grant is scoped
to is compared exactly. Compiled to RE2, so a check costs linear time whatever the glob.
"""
from __future__ import annotations

from typing import Any

from vdfs_query import patterns

from core.errors import VdfsError


class GlobError(VdfsError, ValueError):
    """A glob pattern that cannot be compiled (unbalanced braces or brackets, a bad range)."""


def glob_to_regex(pattern: str) -> str:
    """The RE2 body (no anchors, no flags) matching the same relative paths as `pattern`."""
    if not isinstance(pattern, str) or not pattern:
        raise GlobError(f"a glob must be a non-empty string, got {pattern!r}")
    try:
        return patterns.glob_body(pattern.lstrip("/"))
    except patterns.PatternError as exc:
        raise GlobError(f"{exc.message} at position {exc.offset} in glob {pattern!r}") from None


def compile_glob(pattern: str) -> Any:
    """The compiled (cached) RE2 program matching a whole relative path, case-insensitively."""
    glob_to_regex(pattern)
    return patterns.compiled(patterns.glob_regex(pattern.lstrip("/")))


def glob_match(pattern: str, relative_path: str) -> bool:
    """Does `relative_path` ('/'-separated, relative to a location root) match `pattern`?"""
    return compile_glob(pattern).search(relative_path.lstrip("/")) is not None

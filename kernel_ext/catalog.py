"""What the completer offers: DSL words from vdfs_query, names from the open library.

Reads only; each lookup is small and bounded so a Tab press never waits on a big library.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

@lru_cache(maxsize=1)
def dsl_keywords() -> tuple[str, ...]:
    """vdfs_query.KEYWORDS plus the other words of the grammar's keyword terminals (time units):
    `DAY.2: /(second|minute|…)s?(?![A-Za-z0-9_])/i`."""
    from importlib.resources import files

    import vdfs_query
    found = set(vdfs_query.KEYWORDS)
    try:
        text = (files("vdfs_query") / "grammar" / "vdfs.lark").read_text(encoding="utf-8")
    except OSError:  # an install without the grammar file: the exported keywords suffice
        text = ""
    for alts in re.findall(r"^\w+(?:\.\d+)?:\s*/\(?([a-z|]+)\)?(?:s\?)?\(\?!", text, re.M):
        found.update(w for w in alts.split("|") if len(w) > 1)
    return tuple(sorted(found))


def sources_and_fields() -> dict[str, list[str]]:
    """Logical sources of the query catalog and their field names (synonyms included)."""
    from vdfs_query.catalog import SOURCES
    return {name: sorted(set(src.fields) | set(src.synonyms))
            for name, src in SOURCES.items()}


def _column(lib: Any, sql: str, limit: int = 200) -> list[str]:
    if lib is None:
        return []
    try:
        rows = lib.conn.execute(sql + f" LIMIT {int(limit)}").fetchall()
    except Exception:  # a library mid-migration or a table not there yet: no suggestions
        return []
    return [str(r[0]) for r in rows if r[0] is not None]


def tag_names(lib: Any) -> list[str]:
    return _column(lib, "SELECT name FROM tags ORDER BY name")


def kinds(lib: Any) -> list[str]:
    from core.kinds import KINDS
    return sorted(set(KINDS) | set(_column(lib, "SELECT DISTINCT kind FROM entries ORDER BY kind")))


def model_types(lib: Any) -> list[str]:
    found = _column(lib, "SELECT DISTINCT model_type FROM models ORDER BY model_type")
    # model classes defined in this process (e.g. in an earlier cell) but not stored yet
    from core.models import registered_model_types
    return sorted(set(found) | set(registered_model_types()))

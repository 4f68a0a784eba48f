"""What the completer offers: DSL words from vdfs_query, names from the open library.

Reads only; each lookup is small and bounded so a Tab press never waits on a big library.
"""
from __future__ import annotations

from typing import Any


def dsl_keywords() -> tuple[str, ...]:
    """Every word the grammar reserves, time units included: derived by vdfs_query from its
    grammar, so completion never keeps a list of its own."""
    from vdfs_query import keywords
    return keywords()


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
    from core.content.kinds import KINDS
    return sorted(set(KINDS) | set(_column(lib, "SELECT DISTINCT kind FROM entries ORDER BY kind")))


def model_types(lib: Any) -> list[str]:
    found = _column(lib, "SELECT DISTINCT model_type FROM models ORDER BY model_type")
    # model classes defined in this process (e.g. in an earlier cell) but not stored yet
    from core.domain.models import registered_model_types
    return sorted(set(found) | set(registered_model_types()))

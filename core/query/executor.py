"""The executor builders run through: `lib.vdfs().query_entries()` / `query_models(T)`.

Apart from `lib.query` (service.py) because its rows reach into the access room (a row's
read(), exif and location()) and models, which a plain lookup never needs: a CLI query that
imported them would pay for them before its first answer.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.access.entries import EntryRowHooks
from core.access.entries import LibraryEntries
from core.domain.models import instances_from_rows
from .service import run_query

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library
    from .engine import QueryLike
    from .result import Result


class LibraryExecutor(EntryRowHooks):
    """The executor protocol of vdfs_query.builder, bound to one library."""

    def __init__(self, lib: Library):
        self.lib = lib

    def run(self, query: QueryLike, params: dict[str, Any] | None = None) -> Result:
        return run_query(self.lib, query, params)

    def to_models(self, model_cls: type, rows: list[dict], *, inline_only: bool = False) -> list:
        return instances_from_rows(model_cls, rows, self.lib, inline_only=inline_only)

    # what an entries row's read(), exif and location() ask (vdfs_query.rows.Entry)
    def _entries(self) -> Any:
        return LibraryEntries(self.lib)


def executor_for(lib: Library) -> LibraryExecutor:
    return LibraryExecutor(lib)

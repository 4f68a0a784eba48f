"""What an entries row's `read()`, `exif` and `location()` do (vdfs_query.rows.Entry).

Two doors share these: the library's own executor (a user's or core's queries: no permission
check) and an extension's scoped executor, which hands in its Guard's checked reads.
"""
from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any, Callable

from core.access.guard import locate_entry, read_located
from core.store.facade import Backing, Facade
from core.access.permissions import PermissionDenied
from core.domain.metadata import NotFoundError
from core.content.safeopen import read_below
from core.domain.sidecars import Sidecars
from core.content.exif import read_exif

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library
    from core.store.ids import UuidLike
    from .guard import Guard


def exif_of(row: dict[str, Any], read_bytes: Callable[[Any], bytes],
            read_sidecar: Callable[[Any], bytes]) -> dict[str, Any] | None:
    """The EXIF core extracted for the row's content (its exif sidecar) when that may be read,
    else what the file's own bytes hold; None for a folder or a file without EXIF."""
    if row.get("is_dir"):
        return None
    cu = row.get("content_uuid")
    if cu is not None:
        try:
            return json.loads(read_sidecar(cu))
        except (NotFoundError, PermissionDenied, ValueError):
            pass
    return read_exif(io.BytesIO(read_bytes(row["uuid"])))


class EntryRowHooks:
    """Mixed into an executor: the hooks an entries row asks, answered by `_entries()`."""

    __slots__ = ()

    def _entries(self) -> "LibraryEntries | GuardedEntries":
        raise NotImplementedError

    def read_entry(self, entry_uuid: UuidLike) -> bytes:
        return self._entries().read_entry(entry_uuid)

    def entry_exif(self, row: dict[str, Any]) -> dict[str, Any] | None:
        return self._entries().entry_exif(row)

    def entry_location(self, row: dict[str, Any]) -> str:
        return self._entries().entry_location(row)


class LibraryEntries:
    """Entry-row hooks for the library's own queries (the user's, core's)."""

    def __init__(self, lib: Library):
        self.lib = lib

    def read_entry(self, entry_uuid: UuidLike) -> bytes:
        return read_located(self.lib, locate_entry(self.lib, entry_uuid))

    def entry_location(self, row: dict[str, Any]) -> str:
        return locate_entry(self.lib, row["uuid"]).root

    def entry_exif(self, row: dict[str, Any]) -> dict[str, Any] | None:
        side = Sidecars(self.lib.path)
        return exif_of(row, self.read_entry,
                       lambda cu: read_below(str(self.lib.path), str(side.path(cu, "exif", "json"))))


class GuardedEntries(Facade):
    """Entry-row hooks for an extension's queries: every read goes through its Guard, which
    stays on core's side (core.access.facade) like the rest of what extension code can reach."""

    __slots__ = ()

    def __init__(self, guard: Guard):
        _guards.bind(self, guard)

    def read_entry(self, entry_uuid: UuidLike) -> bytes:
        return _guards(self).read_entry(entry_uuid)

    def entry_location(self, row: dict[str, Any]) -> str:
        guard = _guards(self)
        guard.visible_entry(row["uuid"])
        return guard.entry(row["uuid"]).root

    def entry_exif(self, row: dict[str, Any]) -> dict[str, Any] | None:
        return exif_of(row, self.read_entry,
                       lambda cu: _guards(self).read_sidecar(cu, "exif", "json"))


_guards: Backing[Any] = Backing("entry reads")

"""Locations: the folders of this device that a library indexes.

A location is a root folder; its entries are every file and folder below it. Two locations of
one device never nest (one inside the other), so every path has at most one owning location
and an entry is never stored twice.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.store.clock import now_iso
from core.errors import VdfsError

if TYPE_CHECKING:  # pragma: no cover
    import sqlite3
    from core.library import Library


class LocationError(VdfsError):
    """A location cannot be added or found (missing path, nested in another, unknown)."""


@dataclass(frozen=True)
class Location:
    id: int
    uuid: uuid.UUID
    path: str
    name: str
    device_id: int
    created_at: str
    last_indexed_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "uuid": str(self.uuid), "path": self.path, "name": self.name,
                "device_id": self.device_id, "created_at": self.created_at,
                "last_indexed_at": self.last_indexed_at}


_COLS = "id, uuid, path, name, device_id, created_at, last_indexed_at"


def _row(row: tuple) -> Location:
    return Location(row[0], uuid.UUID(bytes=row[1]), row[2], row[3], row[4], row[5], row[6])


def normalize_path(path: str | os.PathLike[str]) -> str:
    """Absolute, normalised, '/'-separated text path (no trailing slash except for '/')."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        raise LocationError(f"location paths must be text, got bytes {text!r}")
    text = os.path.abspath(os.path.expanduser(text))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise LocationError(
            f"location path {text.encode('utf-8', 'surrogateescape')!r} is not valid UTF-8: "
            "add its parent folder instead (names below a location may be any bytes)") from None
    return text.replace(os.sep, "/")


def is_within(path: str, root: str) -> bool:
    """True when `path` is `root` or below it (text comparison of normalised paths)."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def list_locations(lib: Library) -> list[Location]:
    rows = lib.conn.execute(f"SELECT {_COLS} FROM locations WHERE device_id = ? ORDER BY path",
                            (lib.device_id,)).fetchall()
    return [_row(r) for r in rows]


def get_location(lib: Library, key: "int | str | uuid.UUID | Location") -> Location:
    """A location by id, uuid, name or exact root path; LocationError if there is none."""
    if isinstance(key, Location):
        key = key.id
    conn = lib.conn
    if isinstance(key, int):
        row = conn.execute(f"SELECT {_COLS} FROM locations WHERE id = ?", (key,)).fetchone()
    elif isinstance(key, uuid.UUID):
        row = conn.execute(f"SELECT {_COLS} FROM locations WHERE uuid = ?",
                           (key.bytes,)).fetchone()
    else:
        text = str(key)
        row = conn.execute(f"SELECT {_COLS} FROM locations WHERE device_id = ? AND name = ?",
                           (lib.device_id, text)).fetchone()
        if row is None:
            row = conn.execute(f"SELECT {_COLS} FROM locations WHERE device_id = ? AND path = ?",
                               (lib.device_id, normalize_path(text))).fetchone()
    if row is None:
        raise LocationError(f"no location {key!r} in library {lib.path.name}")
    return _row(row)


def location_for_path(lib: Library, path: str) -> Location | None:
    """The location of this device that contains `path` (normalised), or None.

    The one answer to "which location root is this path relative to?" — for the indexer, file
    moves, permission globs (relative to the root) and event scopes alike. Another device's
    location may nest in one of ours (sync brings its rows in); it never owns our paths. The
    longest root wins, so a nested root would also be answered right."""
    found = [loc for loc in list_locations(lib) if is_within(path, loc.path)]
    return max(found, key=lambda loc: len(loc.path), default=None)


def location_roots(conn: sqlite3.Connection) -> list[str]:
    """The root of every location in the library, of every device, sorted (for filters
    compiled into queries, which also see entries synced from other devices)."""
    return [r[0] for r in conn.execute("SELECT DISTINCT path FROM locations ORDER BY path")]


def find_location_root(lib: Library, ref: str) -> str | None:
    """The root of the location a grant's scope names: by uuid (any device), else by name (this
    device); None when there is no such location."""
    try:
        row = lib.conn.execute("SELECT path FROM locations WHERE uuid = ?",
                               (uuid.UUID(ref).bytes,)).fetchone()
    except ValueError:
        row = lib.conn.execute("SELECT path FROM locations WHERE name = ? AND device_id = ?",
                               (ref, lib.device_id)).fetchone()
    return row[0] if row else None


def add_location(lib: Library, path: str | os.PathLike[str], name: str | None = None
                 ) -> Location:
    """Register a folder as a location (not indexed yet: call `lib.index(location)`).

    Adding the same folder again returns the existing location. A missing path, a file, or a
    folder inside (or containing) another location of this device is refused with LocationError.
    """
    root = normalize_path(path)
    if not os.path.exists(root):
        raise LocationError(f"cannot add location {root}: no such folder")
    if not os.path.isdir(root):
        raise LocationError(f"cannot add location {root}: it is a file, not a folder")
    for loc in list_locations(lib):
        if loc.path == root:
            if name is not None and name != loc.name:
                raise LocationError(
                    f"{root} is already location {loc.name!r}; it cannot also be named {name!r}")
            return loc
        if is_within(root, loc.path):
            raise LocationError(
                f"cannot add location {root}: it is inside location {loc.name!r} ({loc.path}), "
                "which already indexes it")
        if is_within(loc.path, root):
            raise LocationError(
                f"cannot add location {root}: it contains location {loc.name!r} ({loc.path}); "
                "locations may not nest")
    taken = {loc.name for loc in list_locations(lib)}
    if name is not None and name in taken:
        raise LocationError(f"a location named {name!r} already exists: pass another name")
    if name is None:  # default: the folder's name, made unique with a counter
        base = os.path.basename(root) or root
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base} ({n})"
    now = now_iso()
    loc_uuid = uuid.uuid4()
    cur = lib.conn.execute(
        "INSERT INTO locations (uuid, device_id, path, name, created_at) VALUES (?, ?, ?, ?, ?)",
        (loc_uuid.bytes, lib.device_id, root, name, now))
    return Location(int(cur.lastrowid), loc_uuid, root, name, lib.device_id, now, None)

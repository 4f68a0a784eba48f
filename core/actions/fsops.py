"""File-system changes: move, rename, delete to the library's trash, and restore from it.

Each keeps disk and library in step: the file is renamed on disk and its entries row gets the
new path, name, extension, parent and location — for a folder, every row below it gets the new
path prefix. Delete moves the file to `<library>/trash/<preview id>/<entry uuid>/<name>` and
removes its rows, keeping a snapshot of them (entries, their own metadata, tag links, metadata
blob links, collection items) in the inverse change so restore puts back exactly what was there.
Every disk operation is one rename made through the `rename` callable the engine passes in (its
journal), so a failed or crashed commit can unwind disk as SQLite unwinds rows. Paths in changes
are the library's stored text (core.store.paths); `disk_path` turns them into OS paths at the disk.
"""
from __future__ import annotations

import base64
import os
import posixpath
import sqlite3
import uuid
from typing import TYPE_CHECKING, Any, Callable

from core.content.kinds import split_ext
from core.domain.locations import location_for_path, normalize_path
from core.store.paths import disk_path
from .model import ActionError
from .targets import entry_row

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library

Rename = Callable[[str, str], None]


def _subtree_bounds(path: str) -> tuple[str, str]:
    """Range of paths strictly below `path` ('/' + 1 == '0'), so SQLite can use its index."""
    return path + "/", path + "0"


def _dest_parent(lib: Library, new_path: str) -> tuple[int, int | None]:
    """(location id, parent entry id) for a new path; refuses a path outside every location."""
    loc = location_for_path(lib, new_path)
    if loc is None:
        raise ActionError(f"{new_path} is not inside a location of this library")
    if new_path == loc.path:
        raise ActionError(f"{new_path} is the root of location {loc.name!r}")
    parent_path = posixpath.dirname(new_path)
    row = lib.conn.execute("SELECT id, is_dir FROM entries WHERE location_id=? AND path=?",
                           (loc.id, parent_path)).fetchone()
    if row is None:
        if parent_path == loc.path:
            return loc.id, None
        raise ActionError(f"destination folder {parent_path} is not in the library "
                          "(index it first)")
    if not row[1]:
        raise ActionError(f"destination {parent_path} is a file, not a folder")
    return loc.id, row[0]


def check_move(lib: Library, entry_uuid: uuid.UUID, new_path: str) -> dict[str, Any]:
    """Validate a move at preview time; returns the entry row."""
    row = entry_row(lib.conn, entry_uuid)
    if row is None:
        raise ActionError(f"no entry {entry_uuid}")
    new_path = normalize_path(new_path)
    if new_path == row["path"]:
        raise ActionError(f"{row['path']} is already there")
    if row["is_dir"] and new_path.startswith(row["path"] + "/"):
        raise ActionError(f"cannot move folder {row['path']} into itself ({new_path})")
    _dest_parent(lib, new_path)
    if os.path.lexists(disk_path(new_path)):
        raise ActionError(f"{new_path} already exists")
    if not os.path.lexists(disk_path(row["path"])):
        raise ActionError(f"{row['path']} is in the library but not on disk (re-index it)")
    return row


def move_entry(lib: Library, entry_uuid: uuid.UUID, new_path: str, rename: Rename) -> None:
    """Rename on disk and rewrite the entry (and, for a folder, its subtree) rows."""
    conn = lib.conn
    row = check_move(lib, entry_uuid, new_path)
    new_path = normalize_path(new_path)
    old_path = row["path"]
    loc_id, parent_id = _dest_parent(lib, new_path)
    name = posixpath.basename(new_path)
    conn.execute("UPDATE entries SET path=?, name=?, ext=?, parent_id=?, location_id=?, "
                 "raw_path=? WHERE id=?",
                 (new_path, name, None if row["is_dir"] else split_ext(name), parent_id, loc_id,
                  _raw_of(new_path), row["id"]))
    if row["is_dir"]:
        _move_subtree(conn, row["location_id"], old_path, new_path, loc_id)
    rename(disk_path(old_path), disk_path(new_path))


def _raw_of(stored: str) -> bytes | None:
    """raw_path for a stored path: its exact bytes when the text is not the name on disk."""
    raw = os.fsencode(disk_path(stored))
    return None if raw == stored.encode("utf-8") else raw


def _move_subtree(conn: sqlite3.Connection, old_loc: int, old_path: str, new_path: str,
                  new_loc: int) -> None:
    """Give every row below a moved folder the new prefix, in `path` and in `raw_path`."""
    lo, hi = _subtree_bounds(old_path)
    old_raw, new_raw = os.fsencode(disk_path(old_path)), os.fsencode(disk_path(new_path))
    rows = conn.execute("SELECT id, path, raw_path FROM entries WHERE location_id=? AND "
                        "path >= ? AND path < ?", (old_loc, lo, hi)).fetchall()
    updates = []
    for eid, path, raw in rows:
        text = new_path + path[len(old_path):]
        exact = new_raw + (raw if raw is not None else path.encode("utf-8"))[len(old_raw):]
        updates.append((text, new_loc, None if exact == text.encode("utf-8") else exact, eid))
    conn.executemany("UPDATE entries SET path=?, location_id=?, raw_path=? WHERE id=?", updates)


# ---- delete to trash and restore ----------------------------------------------------------
_SNAPSHOT = (  # table, how to select the rows that belong to the deleted entries
    ("entries", "uuid IN ({u})"),
    ("user_metadata", "entry_uuid IN ({u})"),
    ("tag_links", "metadata_id IN (SELECT id FROM user_metadata WHERE entry_uuid IN ({u}))"),
    ("user_metadata_blobs",
     "metadata_id IN (SELECT id FROM user_metadata WHERE entry_uuid IN ({u}))"),
    ("collection_items", "entry_uuid IN ({u})"),
)


def _enc(v: Any) -> Any:
    return {"b64": base64.b64encode(v).decode("ascii")} if isinstance(v, bytes) else v


def _dec(v: Any) -> Any:
    return base64.b64decode(v["b64"]) if isinstance(v, dict) and "b64" in v else v


def _subtree_uuids(conn: sqlite3.Connection, row: dict[str, Any]) -> list[bytes]:
    uuids = [r[0] for r in conn.execute("SELECT uuid FROM entries WHERE id=?", (row["id"],))]
    if row["is_dir"]:
        lo, hi = _subtree_bounds(row["path"])
        uuids += [r[0] for r in conn.execute(
            "SELECT uuid FROM entries WHERE location_id=? AND path >= ? AND path < ?",
            (row["location_id"], lo, hi))]
    return uuids


def check_delete(lib: Library, entry_uuid: uuid.UUID) -> dict[str, Any]:
    row = entry_row(lib.conn, entry_uuid)
    if row is None:
        raise ActionError(f"no entry {entry_uuid}")
    if row["parent_id"] is None:
        raise ActionError(f"{row['path']} is a location root; remove the location instead")
    uuids = _subtree_uuids(lib.conn, row)
    n = _count_in(lib.conn, "models", "entry_uuid", uuids)
    if n:
        raise ActionError(f"{row['path']} has {n} entry-scoped model(s); delete them first "
                          "so the delete can be undone exactly")
    return row


def _count_in(conn: sqlite3.Connection, table: str, column: str, values: list[bytes]) -> int:
    total = 0
    for i in range(0, len(values), 500):
        part = values[i:i + 500]
        total += conn.execute(f"SELECT count(*) FROM {table} WHERE {column} IN "
                              f"({','.join('?' * len(part))})", part).fetchone()[0]
    return total


def trash_path(lib: Library, preview_id: str, entry_uuid: uuid.UUID, name: str) -> str:
    return normalize_path(lib.path / "trash" / preview_id / entry_uuid.hex / name)


def delete_entry(lib: Library, entry_uuid: uuid.UUID, trash: str, rename: Rename) -> dict[str, Any]:
    """Move the file to `trash` and delete its rows; returns the snapshot of the rows."""
    conn = lib.conn
    row = check_delete(lib, entry_uuid)
    uuids = _subtree_uuids(conn, row)
    snapshot: dict[str, list[dict[str, Any]]] = {}
    marks = ",".join("?" * len(uuids))
    for table, where in _SNAPSHOT:
        cur = conn.execute(f"SELECT * FROM {table} WHERE {where.format(u=marks)}", uuids)
        cols = [d[0] for d in cur.description]
        snapshot[table] = [{c: _enc(v) for c, v in zip(cols, r)} for r in cur.fetchall()]
    meta_ids = [r["id"] for r in snapshot["user_metadata"]]
    mm = ",".join("?" * len(meta_ids))
    conn.execute(f"DELETE FROM collection_items WHERE entry_uuid IN ({marks})", uuids)
    if meta_ids:
        conn.execute(f"DELETE FROM user_metadata_blobs WHERE metadata_id IN ({mm})", meta_ids)
        conn.execute(f"DELETE FROM tag_links WHERE metadata_id IN ({mm})", meta_ids)
        conn.execute(f"DELETE FROM user_metadata WHERE id IN ({mm})", meta_ids)
    for r in snapshot["entries"]:
        if r["content_id"] is not None:
            conn.execute("UPDATE content_identities SET entry_count = entry_count - 1 "
                         "WHERE id=?", (r["content_id"],))
    conn.execute(f"DELETE FROM entries WHERE uuid IN ({marks})", uuids)
    os.makedirs(os.path.dirname(disk_path(trash)), exist_ok=True)
    rename(disk_path(row["path"]), disk_path(trash))
    return {"path": row["path"], "rows": snapshot}


def restore_entry(lib: Library, trash: str, snapshot: dict[str, Any], rename: Rename) -> None:
    """Put a trashed file back and re-insert its rows exactly as they were."""
    conn = lib.conn
    path, rows = snapshot["path"], snapshot["rows"]
    if os.path.lexists(disk_path(path)):
        raise ActionError(f"cannot restore {path}: something else is there now")
    if not os.path.lexists(disk_path(trash)):
        raise ActionError(f"cannot restore {path}: {trash} is gone from the trash")
    entries = sorted(rows["entries"], key=lambda r: len(r["path"]))   # parents first
    for table, table_rows in (("entries", entries),
                              *((t, rows[t]) for t, _ in _SNAPSHOT[1:])):
        for r in table_rows:
            values = {c: _dec(v) for c, v in r.items()}
            if table == "entries" and values.get("content_id") is not None:
                hit = conn.execute("UPDATE content_identities SET entry_count = entry_count + 1 "
                                   "WHERE id=?", (values["content_id"],)).rowcount
                if not hit:          # the identity was collected meanwhile: re-index finds it
                    values["content_id"] = None
            cols = list(values)
            conn.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES "
                         f"({', '.join('?' * len(cols))})", [values[c] for c in cols])
    rename(disk_path(trash), disk_path(path))

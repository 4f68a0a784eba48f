"""The library folder on disk: the files that make a folder a library, laying out a new one,
and the checks and upgrades an open makes before there is a Library object.

`core.Library` holds an open library (connections, device, services); whether a folder *is*
a library, whether this vdfs can open it, and what to write so it can, are questions about
files, asked before any connection exists. An open that is refused changes nothing.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import (CorruptLibraryError, LibraryExistsError, NotALibraryError,
                         SchemaTooNewError)
from . import db
from .clock import now_iso
from .device import current_device
from .faults import ReadOnlyStorageError, storage_faults

LIBRARY_JSON = "library.json"
LIBRARY_DB = "library.db"
JOBS_DB = "jobs.db"


@dataclass
class Checked:
    """What the read-only checks found in a folder an open may go on with."""
    info: dict[str, Any]        # library.json
    version: int                # library.db's schema version
    jobs_version: int           # jobs.db's (0: no jobs.db yet)
    unclean: bool               # library.db has a WAL left by a process that died


def create_folder(path: Path, name: str) -> dict[str, Any]:
    """Make a new library's folder at `path` (which must not hold a library yet); return its
    library.json content."""
    in_place = path.is_dir()   # an empty folder the user made (a mount point, perhaps)
    _refuse_existing(path)
    if in_place:
        with storage_faults(path):
            return _lay_out(path, name)
    # A new folder is built aside and renamed into place: a process opening `path`
    # meanwhile (a second `vdfs index` of a new library) sees no library or a whole one.
    staging = path.parent / f".{path.name}.creating-{uuid.uuid4().hex[:12]}"
    try:
        with storage_faults(path.parent):
            path.parent.mkdir(parents=True, exist_ok=True)
            staging.mkdir()
            info = _lay_out(staging, name)
            try:
                os.rename(staging, path)
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR):
                    raise
                _refuse_existing(path)       # says what is there now
                raise LibraryExistsError(f"{path} was created meanwhile") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return info


def check_folder(path: Path) -> Checked:
    """Whether this vdfs can open the library at `path`: a path that is not a library, a
    newer schema, a corrupt file or read-only storage raises a clear error. Reads only."""
    if not path.is_dir():
        raise NotALibraryError(f"{path} is not a vdfs library: no such folder")
    meta = path / LIBRARY_JSON
    if not meta.is_file() or not (path / LIBRARY_DB).is_file():
        raise NotALibraryError(
            f"{path} is not a vdfs library: it has no {LIBRARY_JSON} and {LIBRARY_DB} "
            "(create one with Library.create)")
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
        if not isinstance(info, dict) or "id" not in info:
            raise ValueError("missing 'id'")
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptLibraryError(f"{meta} is not valid library metadata: {exc}") from exc
    # Cheap checks (header, schema, version); the whole-file check runs only after an
    # unclean shutdown, once the library is open.
    unclean = db.has_unclean_wal(path / LIBRARY_DB)
    version = db.check_readable(path / LIBRARY_DB)
    latest = db.latest_library_version()
    if version > latest:
        raise SchemaTooNewError(
            f"{path} has schema version {version}, but this vdfs knows only up to {latest}: "
            "upgrade vdfs to open it")
    jobs_version = db.check_readable(path / JOBS_DB) if (path / JOBS_DB).exists() else 0
    if jobs_version > db.latest_jobs_version():     # refused here, before anything migrates
        raise SchemaTooNewError(
            f"{path / JOBS_DB} has schema version {jobs_version}, but this vdfs knows only up "
            f"to {db.latest_jobs_version()}: upgrade vdfs to open it")
    _check_writable(path)
    return Checked(info, version, jobs_version, unclean)


def upgrade_folder(path: Path, checked: Checked) -> None:
    """Bring a checked folder up to this vdfs: migrate older databases in place, make missing
    subfolders, record the schema version in library.json (`checked.info`, updated too)."""
    latest = db.latest_library_version()
    # a file already at the latest version has nothing to migrate: no connection to it
    if checked.version < latest:
        _migrate_file(path / LIBRARY_DB, db.library_migrations(), "library.db")
    if checked.jobs_version < db.latest_jobs_version():
        _migrate_file(path / JOBS_DB, db.jobs_migrations(), "jobs.db")
    for sub in ("sidecars", "logs/extensions"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    if checked.info.get("schema_version") != latest:
        checked.info["schema_version"] = latest
        _write_json(path / LIBRARY_JSON, checked.info)


def _refuse_existing(path: Path) -> None:
    if (path / LIBRARY_JSON).exists() or (path / LIBRARY_DB).exists():
        raise LibraryExistsError(f"{path} already holds a library: use Library.open()")
    if path.exists() and not path.is_dir():
        raise NotALibraryError(f"{path} is a file, not a folder")
    if path.exists() and any(path.iterdir()):
        raise LibraryExistsError(f"{path} is a folder that is not empty: choose a new path")


def _check_writable(path: Path) -> None:
    """SQLite needs to write the folder (its -wal and -shm files) and both databases."""
    for target in (path, path / LIBRARY_DB, path / JOBS_DB):
        if target.exists() and not os.access(target, os.W_OK):
            raise ReadOnlyStorageError(
                f"{path} is read-only{'' if target == path else f' ({target.name})'}: vdfs "
                "needs to write there (check the folder's permissions or mount)")


def _lay_out(folder: Path, name: str) -> dict[str, Any]:
    """Fill an empty folder with a new library's files; return its library.json content."""
    for sub in ("sidecars", "logs/extensions"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    _migrate_file(folder / LIBRARY_DB, db.library_migrations(), "library.db")
    _migrate_file(folder / JOBS_DB, db.jobs_migrations(), "jobs.db")
    device_uuid, _ = current_device()
    info = {
        "id": str(uuid.uuid4()),
        "name": name,
        "device_id": str(device_uuid),
        "schema_version": db.latest_library_version(),
        "created_at": now_iso(),
    }
    _write_json(folder / LIBRARY_JSON, info)
    return info


def _migrate_file(path: Path, migrations: list[tuple[int, str]], what: str) -> int:
    conn = db.connect(path)
    try:
        return db.migrate(conn, migrations, what=f"{path.parent.name}/{what}")
    finally:
        conn.close()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)

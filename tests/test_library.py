"""The library folder: create, open, refuse what is not a library, upgrade old schemas."""
from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

import core
from core.store import db


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def test_create_lays_out_the_folder(tmp_path):
    lib = core.Library.create(tmp_path / "a.vdfs")
    names = {p.name for p in lib.path.iterdir()}
    assert {"library.db", "jobs.db", "library.json", "sidecars", "logs"} <= names
    info = json.loads((lib.path / "library.json").read_text())
    assert info["name"] == "a" and info["schema_version"] == db.latest_library_version()
    assert lib.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in lib.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for t in ("devices", "locations", "entries", "content_identities", "user_metadata", "tags",
              "tag_links", "collections", "collection_items", "models", "metadata_blobs",
              "model_blobs", "user_metadata_blobs", "extensions", "extension_grants",
              "audit_log", "sync_log"):
        assert t in tables, t
    jobs = sqlite3.connect(lib.jobs_db_path)
    assert {"jobs", "tasks"} <= {r[0] for r in jobs.execute(
        "SELECT name FROM sqlite_master WHERE type='table'")}
    # this device is registered once, and again opening does not duplicate it
    lib.close()
    lib = core.Library.open(tmp_path / "a.vdfs")
    assert lib.conn.execute("SELECT count(*) FROM devices").fetchone()[0] == 1
    lib.close()


def test_model_scope_check_is_in_the_table(lib):
    c = lib.conn
    c.execute("INSERT INTO user_metadata (uuid, created_at, updated_at) VALUES (x'01', 'n', 'n')")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        c.execute("INSERT INTO models (uuid, extension_id, model_type, data, standalone, "
                  "content_identity_uuid, metadata_id, sync_strategy, created_at, updated_at) "
                  "VALUES (x'02', 'e', 'T', '{}', 1, x'03', 1, 1, 'n', 'n')")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        c.execute("INSERT INTO models (uuid, extension_id, model_type, data, standalone, "
                  "metadata_id, sync_strategy, created_at, updated_at) "
                  "VALUES (x'02', 'e', 'T', '{}', 0, 1, 1, 'n', 'n')")


def test_create_refuses_an_existing_library(tmp_path):
    core.Library.create(tmp_path / "a.vdfs").close()
    with pytest.raises(core.LibraryExistsError):
        core.Library.create(tmp_path / "a.vdfs")


def test_open_refuses_a_plain_folder_and_changes_nothing(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    before = _digest(tmp_path)
    with pytest.raises(core.NotALibraryError, match="not a vdfs library"):
        core.Library.open(tmp_path)
    assert _digest(tmp_path) == before
    with pytest.raises(core.NotALibraryError):
        core.Library.open(tmp_path / "missing")


def test_open_refuses_a_corrupt_database_and_changes_nothing(tmp_path):
    path = tmp_path / "c.vdfs"
    core.Library.create(path).close()
    for extra in ("library.db-wal", "library.db-shm"):
        (path / extra).unlink(missing_ok=True)
    (path / "library.db").write_bytes(b"this is not sqlite" * 100)
    before = _digest(path)
    with pytest.raises(core.CorruptLibraryError, match="library.db"):
        core.Library.open(path)
    assert _digest(path) == before


def test_open_refuses_a_newer_schema(tmp_path):
    path = tmp_path / "n.vdfs"
    core.Library.create(path).close()
    conn = sqlite3.connect(path / "library.db")
    conn.execute(f"PRAGMA user_version = {db.latest_library_version() + 5}")
    conn.close()
    before = _digest(path)
    with pytest.raises(core.SchemaTooNewError, match="upgrade vdfs"):
        core.Library.open(path)
    assert _digest(path) == before


def test_a_newer_jobs_db_is_refused_before_anything_is_migrated(tmp_path):
    """An old library.db beside a jobs.db from a newer vdfs: the open is refused and changes
    nothing (it had migrated library.db first, then refused jobs.db)."""
    path = tmp_path / "mixed.vdfs"
    path.mkdir()
    conn = db.connect(path / "library.db")
    db.migrate(conn, db.library_migrations(), what="old", target=1)
    conn.close()
    jobs = sqlite3.connect(path / "jobs.db")
    jobs.execute(f"PRAGMA user_version = {db.latest_jobs_version() + 3}")
    jobs.close()
    (path / "library.json").write_text(json.dumps({"id": "x", "name": "old", "schema_version": 1}))
    before = _digest(path)
    with pytest.raises(core.SchemaTooNewError, match="jobs.db.*upgrade vdfs"):
        core.Library.open(path)
    assert _digest(path) == before


def test_an_old_library_upgrades_in_place(tmp_path):
    """A library written at schema version 1 opens with today's code and reaches the latest."""
    path = tmp_path / "old.vdfs"
    path.mkdir()
    conn = db.connect(path / "library.db")
    db.migrate(conn, db.library_migrations(), what="old", target=1)
    conn.execute("INSERT INTO devices (uuid, name, created_at, last_seen_at) "
                 "VALUES (x'00112233445566778899aabbccddeeff', 'old-laptop', 'n', 'n')")
    conn.close()
    (path / "library.json").write_text(json.dumps({"id": "x", "name": "old", "schema_version": 1}))
    lib = core.Library.open(path)
    assert db.schema_version(lib.conn) == db.latest_library_version()
    names = {r[0] for r in lib.conn.execute("SELECT name FROM devices")}
    assert "old-laptop" in names and len(names) == 2
    assert json.loads((path / "library.json").read_text())["schema_version"] == \
        db.latest_library_version()
    lib.close()


@pytest.mark.parametrize("which", ["library.db", "jobs.db"])
def test_open_refuses_an_empty_database_file(tmp_path, which):
    """A zero-byte file (a crash while creating it, a failed copy) is not an empty library."""
    path = tmp_path / "e.vdfs"
    core.Library.create(path).close()
    for extra in (f"{which}-wal", f"{which}-shm"):
        (path / extra).unlink(missing_ok=True)
    (path / which).write_bytes(b"")
    before = _digest(path)
    with pytest.raises(core.CorruptLibraryError, match=f"{which}.*empty"):
        core.Library.open(path)
    assert _digest(path) == before


def test_open_refuses_a_truncated_database(tmp_path):
    path = tmp_path / "t.vdfs"
    lib = core.Library.create(path)
    lib.conn.executemany("INSERT INTO tags (uuid, name, created_at) VALUES (?, ?, 'n')",
                         [(i.to_bytes(16, "big"), f"t{i}" * 50) for i in range(2000)])
    lib.close()
    data = (path / "library.db").read_bytes()
    assert len(data) > 64 * 1024
    (path / "library.db").write_bytes(data[: len(data) // 2])
    with pytest.raises(core.CorruptLibraryError, match="library.db"):
        core.Library.open(path)

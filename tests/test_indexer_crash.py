"""Crash-resume: a real `vdfs index` process SIGKILLs itself at chosen points (the
VDFS_TEST_CRASH_AFTER fault-injection hook); the next run resumes the same job and the library
ends exactly like an uninterrupted run: same entries by path, content hashes, entry_counts and
folder aggregates, no lost and no duplicated rows."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import uuid

import pytest

import core
from core.indexer import content
from indexer_tree import build_tree, snapshot

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def vdfs(lib_path, *args, crash=None, bulk=False):
    env = dict(os.environ)
    env.pop("VDFS_TEST_CRASH_AFTER", None)
    if crash:
        env["VDFS_TEST_CRASH_AFTER"] = crash
    if bulk == "split":   # re-index discovery split across two processes
        env["VDFS_INDEX_SPLIT_MIN"] = "1"
    elif bulk == "workers":   # hash worker processes, hashing ahead during processing
        env["VDFS_INDEX_PARALLEL_MIN"] = "1"
    elif bulk == "ahead":     # a first load with workers: files hashed before their row is written
        env["VDFS_INDEX_PARALLEL_MIN"] = env["VDFS_INDEX_BULK_MIN"] = "1"
    elif bulk:   # take the bulk-load path (indexes dropped, rebuilt after the content phase)
        env["VDFS_INDEX_BULK_MIN"] = "1"
    env["PYTHONPATH"] = REPO
    return subprocess.run([sys.executable, "-m", "core.cli", "-L", str(lib_path), *args],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return build_tree(tmp_path_factory.mktemp("crash") / "tree", files=90, seed=11)


@pytest.fixture(scope="module")
def reference(tree, tmp_path_factory):
    path = tmp_path_factory.mktemp("ref") / "ref.vdfs"
    r = vdfs(path, "index", str(tree), "--batch-size", "7", "--no-progress")
    assert r.returncode == 0, r.stderr
    lib = core.Library.open(path)
    snap = snapshot(lib, tree)
    lib.close()
    return snap


def jobs_of(path):
    conn = sqlite3.connect(path / "jobs.db")
    rows = conn.execute("SELECT status, checkpoint FROM jobs WHERE name='core.index'").fetchall()
    conn.close()
    return rows


def index_names(conn):
    return sorted(r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'entries'"))


def trigger_names(conn):
    return sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"))


def search_index_is_whole(conn) -> bool:
    """FTS5's own check that the name index holds exactly what `entries` holds."""
    try:
        conn.execute("INSERT INTO entries_fts (entries_fts, rank) VALUES ('integrity-check', 1)")
    except sqlite3.DatabaseError:
        return False
    return True


@pytest.mark.parametrize("crashes, bulk", [
    (["discovery:3"], False), (["processing:1"], False), (["processing:4"], False),
    (["processing:14"], False), (["content:1"], False), (["content:3"], False),
    (["aggregation:1"], False), (["finalisation:1"], False),
    (["processing:2", "processing:2", "content:2"], False),   # killed again while resuming
    (["processing:3"], True), (["content:2"], True), (["indexes:1"], True),
    (["content:1", "content:1"], True),
    (["processing:2", "discovery:2", "processing:3"], "split"),
    (["processing:3", "content:2"], "workers"),
    (["processing:3", "processing:2"], "ahead"), (["indexes:1"], "ahead"),
    (["indexes:2"], "ahead"),   # killed after the search index came back too
])
def test_killed_index_resumes_to_the_same_library(tmp_path, tree, reference, crashes, bulk):
    path = tmp_path / "lib.vdfs"
    for point in crashes:
        r = vdfs(path, "index", str(tree), "--batch-size", "7", "--no-progress", crash=point,
                 bulk=bulk)
        assert r.returncode == -signal.SIGKILL, (point, r.returncode, r.stderr)
        status = jobs_of(path)
        assert [s for s, _ in status] == ["running"]          # left behind, resumable
    r = vdfs(path, "index", str(tree), "--batch-size", "7", "--no-progress", bulk=bulk)
    assert r.returncode == 0, r.stderr
    assert "resumed an interrupted index" in r.stdout
    status = jobs_of(path)
    assert [s for s, _ in status] == ["completed"]           # the same job, finished
    lib = core.Library.open(path)
    try:
        assert snapshot(lib, tree) == reference
        assert lib.conn.execute("PRAGMA foreign_key_check").fetchall() == []
        fresh = core.Library.create(tmp_path / "fresh.vdfs")
        assert index_names(lib.conn) == index_names(fresh.conn)   # indexes all back
        assert trigger_names(lib.conn) == trigger_names(fresh.conn)   # and search triggers
        fresh.close()
        assert search_index_is_whole(lib.conn)
        again = lib.index(tree).wait()
        assert (again["created"], again["modified"], again["deleted"], again["hashed"]) == \
            (0, 0, 0, 0)
    finally:
        lib.close()


def test_a_bulk_load_builds_the_name_search_index_once_at_the_end(tmp_path, tree):
    """A first load drops the trigger that feeds entries_fts (keeping the trigram index current
    row by row nearly halved the index rate) and rebuilds the index when the trigger returns:
    killed mid-load, the trigger is gone; resumed, it is back and the index is whole."""
    path = tmp_path / "lib.vdfs"
    r = vdfs(path, "index", str(tree), "--batch-size", "7", "--no-progress",
             crash="processing:3", bulk=True)
    assert r.returncode == -signal.SIGKILL, r.stderr
    conn = sqlite3.connect(path / "library.db")
    assert "entries_fts_ins" not in trigger_names(conn)
    conn.close()
    r = vdfs(path, "index", str(tree), "--batch-size", "7", "--no-progress", bulk=True)
    assert r.returncode == 0, r.stderr
    lib = core.Library.open(path)
    try:
        assert "entries_fts_ins" in trigger_names(lib.conn)
        assert search_index_is_whole(lib.conn)
        name = lib.conn.execute("SELECT name FROM entries WHERE kind != 'folder' AND "
                                "length(name) >= 5 LIMIT 1").fetchone()[0]
        assert name in {r["name"] for r in lib.query("files where matches :q", q=name[1:4]).rows()}
    finally:
        lib.close()


def test_a_bulk_load_marks_sync_dirty_once_instead_of_per_row(tmp_path, tree):
    """A first load drops the triggers that mark sync's owned half dirty on every new entry and
    content identity, and sets the mark itself: when it drops them and again when it restores
    them, so rows written while a sync scan cleared the mark mid-load are still scanned."""
    path = tmp_path / "lib.vdfs"
    r = vdfs(path, "index", str(tree), "--batch-size", "7", "--no-progress",
             crash="processing:3", bulk=True)
    assert r.returncode == -signal.SIGKILL, r.stderr
    conn = sqlite3.connect(path / "library.db")
    names = trigger_names(conn)
    assert "sync_dirty_entries_insert" not in names
    assert "sync_dirty_content_identities_insert" not in names
    assert ("owned",) in conn.execute("SELECT part FROM sync_dirty").fetchall()
    conn.execute("DELETE FROM sync_dirty")          # as a sync scan mid-load would
    conn.commit()
    conn.close()
    r = vdfs(path, "index", str(tree), "--batch-size", "7", "--no-progress", bulk=True)
    assert r.returncode == 0, r.stderr
    conn = sqlite3.connect(path / "library.db")
    try:
        names = trigger_names(conn)
        assert {"sync_dirty_entries_insert", "sync_dirty_content_identities_insert"} <= set(names)
        assert conn.execute("SELECT part FROM sync_dirty").fetchall() == [("owned",)]
    finally:
        conn.close()


def test_checkpoint_records_the_phase(tmp_path, tree):
    path = tmp_path / "lib.vdfs"
    vdfs(path, "index", str(tree), "--batch-size", "7", "--no-progress", crash="content:2")
    (_, checkpoint), = jobs_of(path)
    state = json.loads(checkpoint)
    assert state["phase"] == "content" and state["counts"]["created"] > 0


def test_worker_process_hashing_matches_in_process(lib, tmp_path, tree, reference, monkeypatch):
    monkeypatch.setattr(content, "PARALLEL_MIN", 8)
    result = lib.index(tree, workers=2, batch_size=40).wait()
    assert result["hashed"] > 40
    assert snapshot(lib, tree) == reference


def test_a_first_load_writes_each_file_row_once_with_its_content(lib, tree, reference,
                                                                   monkeypatch):
    """With hash workers, a first load hashes files before writing them: no file row is
    written twice (the change log records an UPDATE of a row, so it holds no file), the
    library is the one row-by-row indexing makes, and each file has one entry.created event
    carrying its content uuid."""
    monkeypatch.setenv("VDFS_INDEX_BULK_MIN", "1")
    monkeypatch.setattr(content, "PARALLEL_MIN", 8)
    created = []
    lib.events.subscribe(lambda e: created.append(e.payload), kinds=["entry.created"])
    result = lib.index(tree, workers=2, batch_size=40).wait()
    assert snapshot(lib, tree) == reference
    files = dict(lib.conn.execute(
        "SELECT e.path, c.uuid FROM entries e JOIN content_identities c ON c.id = e.content_id"))
    assert result["hashed"] == len(files) > 40
    assert lib.conn.execute(
        "SELECT count(*) FROM change_log l JOIN entries e ON e.id = l.rid WHERE l.tbl = 3 "
        "AND e.is_dir = 0").fetchone()[0] == 0
    seen = {p["path"]: p["content_uuid"] for p in created if p["path"] in files}
    assert len([p for p in created if p["path"] in files]) == len(files)
    assert seen == {path: str(uuid.UUID(bytes=u)) for path, u in files.items()}


def test_bulk_load_matches_row_by_row(lib, tmp_path, tree, reference, monkeypatch):
    monkeypatch.setenv("VDFS_INDEX_BULK_MIN", "1")
    lib.index(tree).wait()
    assert snapshot(lib, tree) == reference
    fresh = core.Library.create(tmp_path / "fresh.vdfs")
    assert index_names(lib.conn) == index_names(fresh.conn)
    fresh.close()


def test_paused_index_resumes_where_it_stopped(lib, tree, reference, monkeypatch):
    monkeypatch.setattr(content, "PARALLEL_MIN", 8)     # worker processes in flight too
    monkeypatch.setattr(content, "SHARE_MIN", 2)
    paused = []

    def pause_in_content(event):
        p = event.payload
        if p.get("phase") == "content" and p.get("done") and not paused:
            paused.append(p["job_id"])
            lib.jobs.get(p["job_id"]).pause()
    lib.events.subscribe(pause_in_content, kinds=["job.progress"])
    job = lib.index(tree, workers=2, batch_size=25)
    deadline = 200
    while job.status not in ("paused", "completed") and deadline:
        import time
        time.sleep(0.05)
        deadline -= 1
    assert job.status == "paused"
    assert lib.conn.execute("SELECT count(*) FROM entries WHERE content_id IS NULL AND size > 0 "
                            "AND kind != 'symlink' AND is_dir = 0").fetchone()[0] > 0
    again = lib.index(tree, workers=2, batch_size=25)
    assert again.id == job.id                     # the paused job, not a new one
    result = again.wait()
    assert result["resumed"] is True
    assert snapshot(lib, tree) == reference

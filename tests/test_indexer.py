"""The indexer on real folders: first index, unchanged / changed / deleted / moved files,
path-prefix queries, folder aggregates, events, locations."""
from __future__ import annotations

import os
import shutil
import uuid

import pytest

from core.indexer import IndexOptionError
from core.domain.locations import LocationError
from indexer_tree import build_tree, snapshot, traced_statements


def entry(lib, path):
    row = lib.conn.execute(
        "SELECT e.uuid, e.content_id, c.content_hash, e.kind, e.size, e.indexed_at, e.parent_id "
        "FROM entries e LEFT JOIN content_identities c ON c.id = e.content_id WHERE e.path = ?",
        (str(path),)).fetchone()
    return row


def count(lib, sql, *params):
    return lib.conn.execute(sql, params).fetchone()[0]


def test_first_index_builds_the_tree(lib, tmp_path):
    root = build_tree(tmp_path / "t", files=48)
    result = lib.index(root).wait()
    on_disk = [os.path.join(d, n) for d, ds, fs in os.walk(root) for n in ds + fs]
    assert result["files"] + result["dirs"] == len(on_disk) + 1
    assert count(lib, "SELECT count(*) FROM entries") == len(on_disk) + 1
    root_row = lib.conn.execute("SELECT parent_id, is_dir, kind, name FROM entries WHERE path=?",
                                (str(root),)).fetchone()
    assert root_row == (None, 1, "directory", "t")
    # every parent_id points at the folder above
    bad = count(lib, "SELECT count(*) FROM entries e JOIN entries p ON p.id = e.parent_id "
                     "WHERE e.path != p.path || '/' || e.name")
    assert bad == 0
    # ext lower-case without dot, hidden flag
    assert entry(lib, next(p for p in on_disk if "hidden" in p))[3] == "code"
    assert count(lib, "SELECT count(*) FROM entries WHERE hidden = 1") == \
        sum(os.path.basename(p).startswith(".") for p in on_disk)
    # folder aggregates: size = bytes below, child_count = direct children
    for d, ds, fs in os.walk(root):
        total = sum(os.path.getsize(os.path.join(dd, f)) for dd, _, ff in os.walk(d) for f in ff)
        row = lib.conn.execute("SELECT size, child_count FROM entries WHERE path = ?",
                               (d,)).fetchone()
        assert row == (total, len(ds) + len(fs)), d
    assert result["errors"] == [] and result["skipped"] == []


def test_path_prefix_range_uses_the_index(lib, tmp_path):
    """The indexer's subtree filter (store.subtree_sql) selects a folder and what is below it,
    not names that merely share its prefix, through the path index."""
    from core.indexer.store import subtree_sql
    root = build_tree(tmp_path / "t", files=30)
    (root / "dir00").mkdir()                    # share the text prefix, not the folder
    (root / "dir00" / "x.txt").write_text("x")
    (root / "dir0.txt").write_text("y")
    lib.index(root).wait()
    sub = str(root / "dir0")
    frag, params = subtree_sql(sub, False)
    sql = f"SELECT count(*) FROM entries WHERE location_id = ?{frag}"
    loc = count(lib, "SELECT id FROM locations")
    n = count(lib, sql, loc, *params)
    assert n == 1 + sum(len(ds) + len(fs) for _, ds, fs in os.walk(sub))
    plan = " ".join(r[3] for r in lib.conn.execute("EXPLAIN QUERY PLAN " + sql, (loc, *params)))
    assert "idx_entries_path" in plan and "SCAN" not in plan


def test_unchanged_reindex_only_stats(lib, tmp_path):
    root = build_tree(tmp_path / "t", files=40)
    lib.index(root).wait()
    before = snapshot(lib, root)
    stamps = dict(lib.conn.execute("SELECT path, indexed_at FROM entries"))
    changes = lib.conn.total_changes
    result = lib.index(root).wait()
    assert (result["created"], result["modified"], result["moved"], result["deleted"],
            result["hashed"], result["folders_updated"]) == (0, 0, 0, 0, 0, 0)
    assert snapshot(lib, root) == before
    assert dict(lib.conn.execute("SELECT path, indexed_at FROM entries")) == stamps
    assert lib.conn.total_changes == changes   # this connection wrote nothing either


def test_changed_file_is_rehashed_and_keeps_its_uuid(lib, tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    (root / "a.txt").write_text("version one")
    (root / "b.txt").write_text("version one")
    lib.index(root).wait()
    u, cid, h, *_ = entry(lib, root / "a.txt")
    assert count(lib, "SELECT entry_count FROM content_identities WHERE id=?", cid) == 2
    (root / "a.txt").write_text("version two, longer")
    result = lib.index(root).wait()
    assert result["modified"] == 1 and result["hashed"] == 1
    u2, cid2, h2, *_ = entry(lib, root / "a.txt")
    assert u2 == u and h2 != h
    assert count(lib, "SELECT entry_count FROM content_identities WHERE id=?", cid) == 1
    assert count(lib, "SELECT entry_count FROM content_identities WHERE id=?", cid2) == 1
    # same size, new mtime only: still re-hashed (nanosecond mtime compared)
    st = os.stat(root / "b.txt")
    os.utime(root / "b.txt", ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert lib.index(root).wait()["hashed"] == 1
    assert entry(lib, root / "b.txt")[2] == h


def test_deleted_file_entry_goes_identity_follows_its_users(lib, tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    (root / "one.txt").write_text("shared")
    (root / "two.txt").write_text("shared")
    (root / "solo.txt").write_text("alone")
    (root / "kept.txt").write_text("has user metadata")
    (root / "modelled.txt").write_text("has a model")
    lib.index(root).wait()
    shared = entry(lib, root / "one.txt")[1]
    solo = entry(lib, root / "solo.txt")[1]
    kept = entry(lib, root / "kept.txt")[1]
    kept_uuid = lib.conn.execute("SELECT uuid FROM content_identities WHERE id=?",
                                 (kept,)).fetchone()[0]
    lib.conn.execute("INSERT INTO user_metadata (uuid, content_identity_uuid, notes, created_at, "
                     "updated_at) VALUES (?, ?, 'note on content', 'n', 'n')",
                     (uuid.uuid4().bytes, kept_uuid))
    modelled = entry(lib, root / "modelled.txt")[1]
    meta = lib.conn.execute("INSERT INTO user_metadata (uuid, created_at, updated_at) "
                            "VALUES (?, 'n', 'n')", (uuid.uuid4().bytes,)).lastrowid
    lib.conn.execute(
        "INSERT INTO models (uuid, extension_id, model_type, data, content_identity_uuid, "
        "metadata_id, sync_strategy, created_at, updated_at) VALUES (?, 'x.test', 'Thing', "
        "'{}', (SELECT uuid FROM content_identities WHERE id = ?), ?, 1, 'n', 'n')",
        (uuid.uuid4().bytes, modelled, meta))
    for name in ("one.txt", "solo.txt", "kept.txt", "modelled.txt"):
        (root / name).unlink()
    result = lib.index(root).wait()
    assert result["deleted"] == 4
    assert count(lib, "SELECT entry_count FROM content_identities WHERE id=?", modelled) == 0
    assert entry(lib, root / "one.txt") is None
    assert count(lib, "SELECT entry_count FROM content_identities WHERE id=?", shared) == 1
    assert count(lib, "SELECT count(*) FROM content_identities WHERE id=?", solo) == 0
    assert count(lib, "SELECT entry_count FROM content_identities WHERE id=?", kept) == 0
    assert result["identities_removed"] == 1
    assert lib.conn.execute("SELECT size, child_count FROM entries WHERE path=?",
                            (str(root),)).fetchone() == (6, 1)


def test_moved_and_renamed_keep_uuid_and_metadata(lib, tmp_path):
    root = build_tree(tmp_path / "t", files=30)
    (root / "photo.jpg").write_bytes(os.urandom(5000))
    lib.index(root).wait()
    photo_uuid = entry(lib, root / "photo.jpg")[0]
    lib.conn.execute("INSERT INTO user_metadata (uuid, entry_uuid, notes, created_at, "
                     "updated_at) VALUES (?, ?, 'favourite', 'n', 'n')",
                     (uuid.uuid4().bytes, photo_uuid))
    inner = {p: entry(lib, p)[0] for p in (root / "dir1").rglob("*")}
    (root / "renamed.jpg").parent.mkdir(exist_ok=True)
    os.rename(root / "photo.jpg", root / "dir0" / "renamed.jpg")
    os.rename(root / "dir1", root / "dir1-moved")
    result = lib.index(root).wait()
    assert result["moved"] == 2 + len(inner) and result["deleted"] == 0
    assert result["created"] == 0 and result["hashed"] == 0
    assert entry(lib, root / "dir0" / "renamed.jpg")[0] == photo_uuid
    assert lib.conn.execute("SELECT notes FROM user_metadata WHERE entry_uuid = ?",
                            (photo_uuid,)).fetchone() == ("favourite",)
    for old, u in inner.items():
        new = root / "dir1-moved" / old.relative_to(root / "dir1")
        row = entry(lib, new)
        assert row[0] == u, new
        parent = lib.conn.execute("SELECT path FROM entries WHERE id = ?", (row[6],)).fetchone()
        assert parent == (str(new.parent),)
    fresh = lib.__class__.create(tmp_path / "fresh.vdfs")
    fresh.index(root).wait()
    assert {k: v[:10] for k, v in snapshot(lib, root)["entries"].items()} == \
        {k: v[:10] for k, v in snapshot(fresh, root)["entries"].items()}
    fresh.close()


def test_added_files_and_type_changes(lib, tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    (root / "x").write_text("a file")
    (root / "y").mkdir()
    (root / "y" / "inside.txt").write_text("inside")
    lib.index(root).wait()
    old_x = entry(lib, root / "x")[0]
    (root / "x").unlink()
    (root / "x").mkdir()
    (root / "x" / "new.txt").write_text("new")
    shutil.rmtree(root / "y")
    (root / "y").write_text("now a file")
    result = lib.index(root).wait()
    assert result["errors"] == []
    row = lib.conn.execute("SELECT uuid, is_dir, kind, size, child_count FROM entries "
                           "WHERE path = ?", (str(root / "x"),)).fetchone()
    assert row[0] != old_x and row[1:] == (1, "directory", 3, 1)
    assert lib.conn.execute("SELECT is_dir, kind FROM entries WHERE path = ?",
                            (str(root / "y"),)).fetchone() == (0, "text")
    assert entry(lib, root / "y" / "inside.txt") is None
    fresh = lib.__class__.create(tmp_path / "fresh.vdfs")
    fresh.index(root).wait()
    strip = lambda s: {k: v[:10] for k, v in s["entries"].items()}  # noqa: E731
    assert strip(snapshot(lib, root)) == strip(snapshot(fresh, root))
    fresh.close()


def test_subfolder_reindex_touches_only_that_subtree(lib, tmp_path):
    root = build_tree(tmp_path / "t", files=30)
    lib.index(root).wait()
    (root / "dir0" / "added.txt").write_text("added")
    (root / "outside.txt").write_text("not seen by a subtree index")
    result = lib.index(root / "dir0").wait()
    assert result["created"] == 1 and result["path"] == str(root / "dir0")
    assert entry(lib, root / "outside.txt") is None
    assert count(lib, "SELECT count(*) FROM locations") == 1
    root_size = lib.conn.execute("SELECT size FROM entries WHERE path=?", (str(root),)).fetchone()
    assert root_size[0] == sum(os.path.getsize(os.path.join(d, f))
                               for d, _, fs in os.walk(root) for f in fs) - len("not seen by "
                                                                               "a subtree index")


def test_events_are_published(lib, tmp_path):
    root = tmp_path / "t"
    (root / "d").mkdir(parents=True)
    (root / "d" / "f.txt").write_text("content")
    (root / "empty").write_bytes(b"")
    seen = []
    lib.events.subscribe(lambda e: seen.append((e.kind, e.payload)),
                         kinds=["entry.created", "entry.modified", "entry.deleted",
                                "index.finished"])
    lib.index(root).wait()
    created = {p["path"]: p for k, p in seen if k == "entry.created"}
    assert set(created) == {str(root), str(root / "d"), str(root / "d" / "f.txt"),
                            str(root / "empty")}
    f = created[str(root / "d" / "f.txt")]
    assert f["kind"] == "text" and f["content_uuid"] is not None
    assert uuid.UUID(f["entry_uuid"]).bytes == entry(lib, root / "d" / "f.txt")[0]
    assert seen[-1][0] == "index.finished" and seen[-1][1]["created"] == 4
    seen.clear()
    (root / "d" / "f.txt").write_text("changed content")
    (root / "empty").unlink()
    lib.index(root).wait()
    kinds = sorted((k, os.path.basename(p.get("path", ""))) for k, p in seen)
    assert ("entry.deleted", "empty") in kinds
    assert ("entry.modified", "f.txt") in kinds
    progress = []
    lib.events.subscribe(lambda e: progress.append(e.payload), kinds=["job.progress"])
    (root / "d" / "g.txt").write_text("more")
    lib.index(root).wait()
    assert {p["phase"] for p in progress} >= {"discovery", "processing", "content"}


def test_locations_refuse_bad_paths(lib, tmp_path):
    with pytest.raises(LocationError, match="no such folder"):
        lib.add_location(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(LocationError, match="file, not a folder"):
        lib.add_location(tmp_path / "file")
    (tmp_path / "outer" / "inner").mkdir(parents=True)
    loc = lib.add_location(tmp_path / "outer")
    assert lib.add_location(tmp_path / "outer") == loc
    with pytest.raises(LocationError, match="inside location"):
        lib.add_location(tmp_path / "outer" / "inner")
    with pytest.raises(LocationError, match="contains location"):
        lib.add_location(tmp_path)
    with pytest.raises(LocationError, match="no such folder"):
        lib.index(tmp_path / "outer" / "nope")
    with pytest.raises(IndexOptionError, match="unknown index option"):
        lib.index(tmp_path / "outer", colour="red")
    with pytest.raises(IndexOptionError, match="positive int"):
        lib.index(tmp_path / "outer", workers=0)


def test_new_file_reusing_a_deleted_inode_is_not_a_move(lib, tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    old = root / "old.txt"
    old.write_text("old content")
    lib.index(root).wait()
    old_uuid = entry(lib, old)[0]
    lib.conn.execute("INSERT INTO user_metadata (uuid, entry_uuid, notes, created_at, "
                     "updated_at) VALUES (?, ?, 'about old.txt', 'n', 'n')",
                     (uuid.uuid4().bytes, old_uuid))
    ino = old.stat().st_ino
    old.unlink()
    for i in range(50):          # file systems hand a freed inode out again soon
        new = root / f"new{i}.txt"
        new.write_text(f"different content {i}")
        if new.stat().st_ino == ino:
            break
    else:
        pytest.skip("this file system did not reuse the inode")
    result = lib.index(root).wait()
    assert result["moved"] == 0 and result["deleted"] == 1
    assert entry(lib, new)[0] != old_uuid
    assert lib.conn.execute("SELECT count(*) FROM user_metadata WHERE entry_uuid = ?",
                            (old_uuid,)).fetchone() == (0,)


def test_deleting_an_entry_removes_what_is_scoped_to_it(lib, tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    (root / "gone.txt").write_text("to be deleted")
    (root / "stays.txt").write_text("stays")
    lib.index(root).wait()
    gone, stays = entry(lib, root / "gone.txt")[0], entry(lib, root / "stays.txt")[0]
    c = lib.conn
    meta = c.execute("INSERT INTO user_metadata (uuid, entry_uuid, created_at, updated_at) "
                     "VALUES (?, ?, 'n', 'n')", (uuid.uuid4().bytes, gone)).lastrowid
    keep_meta = c.execute("INSERT INTO user_metadata (uuid, entry_uuid, created_at, updated_at) "
                          "VALUES (?, ?, 'n', 'n')", (uuid.uuid4().bytes, stays)).lastrowid
    tag = c.execute("INSERT INTO tags (uuid, name, created_at) VALUES (?, '#x', 'n')",
                    (uuid.uuid4().bytes,)).lastrowid
    for m in (meta, keep_meta):
        c.execute("INSERT INTO tag_links VALUES (?, ?, 'user', 'n')", (m, tag))
    model = uuid.uuid4().bytes
    c.execute("INSERT INTO models (uuid, extension_id, model_type, data, entry_uuid, "
              "metadata_id, sync_strategy, created_at, updated_at) VALUES (?, 'x.t', 'T', '{}', "
              "?, ?, 0, 'n', 'n')", (model, gone, meta))
    coll = c.execute("INSERT INTO collections (uuid, name, created_at, updated_at) "
                     "VALUES (?, 'c', 'n', 'n')", (uuid.uuid4().bytes,)).lastrowid
    c.execute("INSERT INTO collection_items (collection_id, position, entry_uuid, added_at) "
              "VALUES (?, 0, ?, 'n')", (coll, gone))
    c.execute("INSERT INTO collection_items (collection_id, position, model_uuid, added_at) "
              "VALUES (?, 1, ?, 'n')", (coll, model))
    c.execute("INSERT INTO collection_items (collection_id, position, entry_uuid, added_at) "
              "VALUES (?, 2, ?, 'n')", (coll, stays))
    (root / "gone.txt").unlink()
    assert lib.index(root).wait()["deleted"] == 1
    assert count(lib, "SELECT count(*) FROM models") == 0
    assert count(lib, "SELECT count(*) FROM user_metadata") == 1
    assert count(lib, "SELECT count(*) FROM tag_links") == 1
    assert [r[0] for r in c.execute("SELECT position FROM collection_items")] == [2]
    assert c.execute("PRAGMA foreign_key_check").fetchall() == []


def test_timings_give_each_phase_its_cpu_seconds(lib, tmp_path):
    """Next to each phase's wall seconds the result holds the job thread's CPU seconds
    (`cpu_<phase>`): on a shared machine only they say where the indexer's own time goes."""
    root = build_tree(tmp_path / "t", files=30)
    timings = lib.index(root).wait()["timings"]
    phases = ["discovery", "processing", "content", "aggregation", "finalisation"]
    for phase in phases:
        assert 0 <= timings[f"cpu_{phase}"]
    # this thread's CPU: a phase cannot use more of one thread than the time it lasted
    assert all(timings[f"cpu_{p}"] <= timings[p] + 0.01 for p in phases)


def test_a_first_load_writes_each_folder_row_once_with_its_numbers(lib, tmp_path, monkeypatch):
    """A first load knows every entry before writing: each folder row is inserted with its
    size and child_count, so aggregation has nothing left to update; the numbers are those an
    ordinary index (insert, then aggregate) stores."""
    import core
    root = build_tree(tmp_path / "t", files=60)
    plain = core.Library.create(tmp_path / "plain.vdfs")
    try:
        plain.index(root).wait()
        expected = plain.conn.execute("SELECT path, size, child_count FROM entries "
                                      "WHERE is_dir = 1 ORDER BY path").fetchall()
    finally:
        plain.close()
    monkeypatch.setenv("VDFS_INDEX_BULK_MIN", "1")
    seen = traced_statements(lib, monkeypatch)
    result = lib.index(root).wait()
    assert result["folders_updated"] == 0
    # nothing to aggregate: not even the pass that would look
    assert not any(s.startswith("SELECT id, parent_id, is_dir, size, child_count") for s in seen)
    assert lib.conn.execute("SELECT path, size, child_count FROM entries WHERE is_dir = 1 "
                            "ORDER BY path").fetchall() == expected
    assert len(expected) > 3 and all(n > 0 for _, _, n in expected)

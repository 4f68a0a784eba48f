"""Sync between two libraries acting as two devices, through bundle files."""
from __future__ import annotations

import time

import pytest

from tests.sync_support import content_uuid_of, device_library, exchange, indexed_folder


@pytest.fixture
def pair(tmp_path, monkeypatch):
    a = device_library(tmp_path, "desk", monkeypatch)
    b = device_library(tmp_path, "laptop", monkeypatch)
    indexed_folder(a, tmp_path / "desk-files", {"a.txt": b"alpha", "same.txt": b"shared bytes"})
    indexed_folder(b, tmp_path / "laptop-files", {"b.txt": b"beta", "copy.txt": b"shared bytes"})
    exchange(a, b, tmp_path, join=True)
    yield a, b
    a.close()
    b.close()


def test_devices_and_entries_of_each_are_visible_on_the_other(pair):
    a, b = pair
    for lib in (a, b):
        names = {r["name"] for r in lib.query("files").rows()}
        assert names == {"a.txt", "same.txt", "b.txt", "copy.txt"}
        assert {d["name"] for d in lib.devices} == {"desk", "laptop"}
        assert {r["name"] for r in lib.query('files on device "laptop"').rows()} == \
            {"b.txt", "copy.txt"}
    assert a.sync.digest() == b.sync.digest()


def test_a_duplicate_across_devices_is_found(pair):
    a, b = pair
    for lib in (a, b):
        dup = {r["name"] for r in lib.query("files where duplicates").rows()}
        assert dup == {"same.txt", "copy.txt"}


def test_tag_on_content_reaches_the_copy_on_the_other_device(pair, tmp_path):
    a, b = pair
    a.vdfs().add_tag_to_content(content_uuid_of(a, "same.txt"), "#shared")
    exchange(a, b, tmp_path)
    assert {r["name"] for r in b.query('files tagged "#shared"').rows()} == {"same.txt", "copy.txt"}


def test_notes_collections_and_removals_converge(pair, tmp_path):
    a, b = pair
    va, vb = a.vdfs(), b.vdfs()
    cu = content_uuid_of(a, "a.txt")
    va.set_note(cu, "from desk", scope="content")
    vb.set_favorite(content_uuid_of(b, "b.txt"), scope="content")
    va.create_collection("Trip")
    va.add_to_collection("Trip", cu, kind="content")
    exchange(a, b, tmp_path)
    assert vb.get_metadata(cu, scope="content").notes == "from desk"
    assert [i.uuid for i in vb.collection_items("Trip")] == [a.vdfs().get_metadata(
        cu, scope="content").target]
    vb.remove_from_collection("Trip", cu, kind="content")
    va.set_note(cu, None, scope="content")
    exchange(a, b, tmp_path)
    assert va.collection_items("Trip") == [] and vb.collection_items("Trip") == []
    assert vb.get_metadata(cu, scope="content").notes is None
    assert a.sync.digest() == b.sync.digest()


def _later() -> None:
    """Let the wall clock move on: two scans within one millisecond on devices that have not
    seen each other are concurrent, and the device uuid, not the order, decides."""
    time.sleep(0.005)


def test_concurrent_edits_to_one_field_resolve_by_hlc_and_other_fields_both_survive(pair, tmp_path):
    a, b = pair
    cu = content_uuid_of(a, "same.txt")
    a.vdfs().set_note(cu, "desk wrote first", scope="content")
    a.sync.scan()
    _later()
    b.vdfs().set_note(cu, "laptop wrote later", scope="content")
    b.vdfs().set_favorite(cu, scope="content")
    b.sync.scan()
    exchange(a, b, tmp_path)
    for lib in (a, b):
        m = lib.vdfs().get_metadata(cu, scope="content")
        assert (m.notes, m.favorite) == ("laptop wrote later", True)


def test_a_delete_is_not_resurrected_by_an_older_update(pair, tmp_path):
    a, b = pair
    cu = content_uuid_of(a, "same.txt")
    a.vdfs().add_tag_to_content(cu, "#keep")
    a.vdfs().set_note(cu, "first", scope="content")
    exchange(a, b, tmp_path)
    b.vdfs().set_note(cu, "older edit", scope="content")          # updates of the same records …
    b.vdfs().remove_tag_from_content(cu, "#keep")
    b.vdfs().add_tag_to_content(cu, "#keep", applied_by="com.example.ext")
    b.sync.scan()                                                  # … stamped before the deletes
    _later()
    a.vdfs().remove_tag_from_content(cu, "#keep")
    a.vdfs().set_note(cu, None, scope="content")
    a.sync.scan()
    exchange(a, b, tmp_path)
    for lib in (a, b):
        assert lib.vdfs().tags_of_content(cu) == []
        assert lib.vdfs().get_metadata(cu, scope="content").notes is None
    assert a.sync.digest() == b.sync.digest()
    b.vdfs().add_tag_to_content(cu, "#keep")                      # a newer update does win
    exchange(a, b, tmp_path)
    assert [t.name for t in a.vdfs().tags_of_content(cu)] == ["#keep"]


def test_import_is_idempotent_and_an_unchanged_library_exports_nothing_new(pair, tmp_path):
    a, b = pair
    before = b.sync.digest()
    path = tmp_path / "again.vdfsbundle"
    a.sync.export(path, peer=str(b.device_uuid))
    result = b.sync.import_(path)
    assert result.applied == 0 and b.sync.digest() == before
    assert b.sync.scan() == 0


def test_an_upsert_on_a_tracked_table_still_works(lib):
    """The change-tracking triggers must not turn an UPSERT's update into a constraint error
    (an UPSERT overrides the conflict clause of the statements its triggers run)."""
    sql = ("INSERT INTO tags (uuid, name, created_at) VALUES (randomblob(16), '#x', 'now') "
           "ON CONFLICT(name) DO UPDATE SET color = '#fff'")
    lib.conn.execute(sql)
    lib.sync.scan()
    lib.conn.execute("INSERT INTO sync_dirty (part) VALUES ('shared')")
    lib.conn.execute(sql)
    assert lib.conn.execute("SELECT color FROM tags WHERE name = '#x'").fetchone()[0] == "#fff"


def test_applying_another_devices_entries_leaves_nothing_of_ours_to_rescan(pair, tmp_path):
    """The scan before an import captured this device's own rows; writing the peer's rows does
    not change them, so the next scan need not read every entry of this device again."""
    a, b = pair
    indexed_folder(a, tmp_path / "more", {"c.txt": b"gamma"})
    path = tmp_path / "entries.vdfsbundle"
    a.sync.export(path, peer="laptop")
    b.sync.import_(path)
    assert b.conn.execute("SELECT part FROM sync_dirty").fetchall() in ([], [("shared",)])
    assert b.sync.scan() == 0

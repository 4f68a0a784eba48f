"""Models sync: shared models merge under their natural key, device-owned ones are their
owner's, and blobs travel content-addressed with the records that use them."""
from __future__ import annotations


import numpy as np
import pytest

from core.sync import bundle as bundles
from tests.sync_support import (Album, Caption, LocalScore, Thumbnail, content_uuid_of,
                                device_library, exchange, indexed_folder)


@pytest.fixture
def two(tmp_path, monkeypatch):
    a = device_library(tmp_path, "desk", monkeypatch)
    b = device_library(tmp_path, "laptop", monkeypatch)
    indexed_folder(a, tmp_path / "desk-files", {"p.jpg": b"picture bytes"})
    indexed_folder(b, tmp_path / "laptop-files", {"q.jpg": b"picture bytes"})
    exchange(a, b, tmp_path, join=True)
    yield a, b
    a.close()
    b.close()


def test_a_shared_model_and_its_blob_reach_the_other_device_and_the_blob_only_once(two, tmp_path):
    a, b = two
    cover = np.arange(64, dtype=np.float32)
    a.vdfs().create_model(Album("Summer", cover=cover))
    exchange(a, b, tmp_path)
    (album,) = b.vdfs().list_models(Album)
    assert album.title == "Summer" and np.array_equal(album.cover, cover)
    assert a.sync.digest() == b.sync.digest()
    album.title = "Summer 24"
    b.vdfs().update_model(album)                 # the blob is unchanged: it is not sent again
    bundle = tmp_path / "rename.vdfsbundle"
    b.sync.export(bundle, peer="desk")
    sent = bundles.read(bundle)
    assert [r.key.split("/")[1] for r in sent.records] == ["standalone"]
    assert sent.blobs == []                      # desk sent it: desk has it
    a.sync.import_(bundle)
    assert a.vdfs().list_models(Album)[0].title == "Summer 24"
    assert a.conn.execute("SELECT count(*), sum(reference_count) FROM metadata_blobs").fetchone() \
        == (1, 1)


def test_models_made_for_the_same_content_on_two_devices_merge_into_one(two, tmp_path):
    a, b = two
    cu = content_uuid_of(a, "p.jpg")
    a.vdfs().create_model_for_content(cu, Caption("desk caption"))
    a.sync.scan()
    b.vdfs().create_model_for_content(cu, Caption("laptop caption"))
    exchange(a, b, tmp_path)
    texts = [[c.text for c in lib.vdfs().list_models(Caption)] for lib in (a, b)]
    assert texts[0] == texts[1] and len(texts[0]) == 1
    assert a.sync.digest() == b.sync.digest()


def test_device_owned_models_are_read_only_copies_elsewhere(two, tmp_path):
    a, b = two
    entry = a.query('files where name = "p.jpg"').rows()[0]["uuid"]
    a.vdfs().create_model_for_entry(entry, LocalScore(7))
    exchange(a, b, tmp_path)
    (copy,) = b.vdfs().list_models(LocalScore)
    assert copy.score == 7
    copy.score = 99                              # a local edit of another device's row …
    b.vdfs().update_model(copy)
    exchange(a, b, tmp_path)                     # … is not sent: only the owner speaks for it
    assert a.vdfs().list_models(LocalScore)[0].score == 7
    mine = a.vdfs().list_models(LocalScore)[0]
    mine.score = 8
    a.vdfs().update_model(mine)
    exchange(a, b, tmp_path)                     # the owner's next change replaces the copy
    assert b.vdfs().list_models(LocalScore)[0].score == 8


def test_device_owned_content_models_stay_on_their_device(two, tmp_path):
    """One model per type and content: each device keeps its own, none is copied over."""
    a, b = two
    cu = content_uuid_of(a, "p.jpg")
    a.vdfs().create_model_for_content(cu, Thumbnail("/desk/cache/p.png"))
    b.vdfs().create_model_for_content(cu, Thumbnail("/laptop/cache/q.png"))
    exchange(a, b, tmp_path)
    assert [m.path for m in a.vdfs().list_models(Thumbnail)] == ["/desk/cache/p.png"]
    assert [m.path for m in b.vdfs().list_models(Thumbnail)] == ["/laptop/cache/q.png"]
    assert a.sync.digest() == b.sync.digest()


def test_deleting_a_shared_model_deletes_it_everywhere_and_frees_its_blob(two, tmp_path):
    a, b = two
    mu = a.vdfs().create_model(Album("Gone", cover=np.ones(8, dtype=np.float32)))
    exchange(a, b, tmp_path)
    b.vdfs().delete_model(mu)
    exchange(a, b, tmp_path)
    assert a.vdfs().list_models(Album) == []
    assert a.conn.execute("SELECT count(*) FROM metadata_blobs").fetchone()[0] == 0


def test_a_blob_the_receiver_lacks_is_asked_for_and_sent(two, tmp_path):
    """The sender skips a blob it believes the peer holds; if the peer does not, its model
    waits, its next bundle names the blob as needed, and the reply carries it."""
    a, b = two
    cover = np.full(16, 3, dtype=np.float32)
    a.vdfs().create_model(Album("Lost", cover=cover))
    a.sync.scan()
    (digest,) = [r[0] for r in a.conn.execute("SELECT blob_hash FROM metadata_blobs")]
    a.conn.execute("INSERT INTO sync_blob_peers (peer, hash, seq) VALUES (?, ?, 0)",
                   (b.device_uuid.bytes, digest))       # a wrongly believes b holds it
    exchange(a, b, tmp_path)
    assert b.vdfs().list_models(Album) == []            # waiting for its blob
    assert b.sync.make_bundle("desk").need == [digest]
    exchange(b, a, tmp_path)                            # b asks, a answers
    (album,) = b.vdfs().list_models(Album)
    assert np.array_equal(album.cover, cover)
    assert a.sync.digest() == b.sync.digest()


def test_tags_notes_and_collections_of_a_shared_model_travel_with_it(two, tmp_path):
    a, b = two
    va, vb = a.vdfs(), b.vdfs()
    album = Album("Trip", cover=np.zeros(4, dtype=np.float32))
    va.create_model(album)
    va.add_tag_to_model(album, "#favourite-album")
    va.set_note(album.id, "best one", scope="model")
    va.create_collection("Albums")
    va.add_to_collection("Albums", album)
    exchange(a, b, tmp_path)
    (copy,) = vb.list_models(Album)
    assert [t.name for t in vb.tags_of_model(copy)] == ["#favourite-album"]
    assert vb.get_metadata(copy.id, scope="model").notes == "best one"
    assert [(i.kind, i.uuid) for i in vb.collection_items("Albums")] == [("model", copy.id)]
    vb.remove_tag_from_model(copy, "#favourite-album")
    exchange(a, b, tmp_path)
    assert va.tags_of_model(album) == []
    assert a.sync.digest() == b.sync.digest()


def test_tags_of_a_model_that_stays_on_its_device_stay_too(two, tmp_path):
    a, b = two
    cu = content_uuid_of(a, "p.jpg")
    thumb = Thumbnail("/desk/cache/p.png")
    a.vdfs().create_model_for_content(cu, thumb)
    a.vdfs().add_tag_to_model(thumb, "#cached")
    exchange(a, b, tmp_path)
    assert b.vdfs().get_tag("#cached") is not None           # tags are shared …
    assert b.conn.execute("SELECT count(*) FROM tag_links").fetchone()[0] == 0   # … its link not
    assert a.sync.digest() == b.sync.digest()


def test_a_blob_on_a_note_travels_by_hash_and_its_removal_too(two, tmp_path):
    a, b = two
    cu = content_uuid_of(a, "p.jpg")
    embedding = np.linspace(0, 1, 32, dtype=np.float32)
    a.vdfs().set_metadata_blob(cu, "embedding", embedding, scope="content")
    exchange(a, b, tmp_path)
    assert np.array_equal(b.vdfs().get_metadata_blob(cu, "embedding", scope="content"), embedding)
    assert a.sync.digest() == b.sync.digest()
    b.vdfs().set_metadata_blob(cu, "embedding", None, scope="content")
    exchange(a, b, tmp_path)
    assert a.vdfs().get_metadata_blob(cu, "embedding", scope="content") is None
    assert a.conn.execute("SELECT count(*) FROM metadata_blobs").fetchone()[0] == 0

"""User metadata: one row per entry / content / model, notes, flags, custom data, and the
rules the indexer follows when entries disappear."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from core.domain.forget import forget_entries
from core.domain import metadata as meta
from core.domain.models import model
from core.store.txn import transaction
from tests.helpers_rows import add_content, add_entry, add_location


@model(extension_id="com.test.meta")
@dataclass
class Note:
    text: str


def test_notes_and_flags_per_scope(lib):
    api = lib.vdfs()
    cu = add_content(lib, "12" * 8)
    loc = add_location(lib, "/docs")
    eu = add_entry(lib, loc, "/docs/a.pdf", cu)
    api.set_note(eu, "my copy", scope="entry")
    api.set_favorite(cu, scope="content")
    api.set_hidden(eu, True)
    api.set_custom_data(cu, {"rating": 5, "by": ["me"]}, scope="content")
    e, c = api.get_metadata(eu), api.get_metadata(cu, scope="content")
    assert (e.notes, e.favorite, e.hidden, e.scope) == ("my copy", False, True, "entry")
    assert (c.notes, c.favorite, c.custom_data) == (None, True, {"rating": 5, "by": ["me"]})
    assert lib.conn.execute("SELECT count(*) FROM user_metadata").fetchone()[0] == 2
    n = Note("hi")
    api.create_model(n)
    api.set_note(n, "about the note")
    assert api.get_metadata(n).notes == "about the note"
    assert lib.conn.execute("SELECT count(*) FROM user_metadata").fetchone()[0] == 3


def test_get_or_create_returns_one_row(lib):
    cu = add_content(lib, "34" * 8)
    with transaction(lib.conn) as conn:
        a = meta.metadata_id(conn, "content", cu)
        b = meta.metadata_id(conn, "content", str(cu))
    assert a == b
    assert meta.metadata_id(lib.conn, "content", add_content(lib, "56" * 8), create=False) is None
    assert lib.vdfs().get_metadata(uuid.uuid4()) is None


def test_bad_values_are_refused(lib):
    api = lib.vdfs()
    cu = add_content(lib, "78" * 8)
    with pytest.raises(ValueError, match="custom_data must be a dict"):
        api.set_custom_data(cu, [1, 2], scope="content")
    with pytest.raises(ValueError, match="JSON"):
        api.set_custom_data(cu, {"x": object()}, scope="content")
    with pytest.raises(ValueError, match="notes must be text"):
        api.set_note(cu, 42, scope="content")
    with pytest.raises(ValueError, match="scope"):
        api.set_note(cu, "x", scope="device")
    with pytest.raises(meta.NotFoundError, match="no entry"):
        api.set_note(uuid.uuid4(), "x")
    with pytest.raises(ValueError, match="unknown user metadata"):
        meta.update(lib.conn, "content", cu, colour="red")


def test_forget_entries_drops_entry_data_and_keeps_content_data(lib):
    api = lib.vdfs()
    cu = add_content(lib, "9a" * 8)
    loc = add_location(lib, "/m")
    eu = add_entry(lib, loc, "/m/song.mp3", cu)
    api.add_tag_to_entry(eu, "#local")
    api.add_tag_to_content(cu, "#music")
    api.set_metadata_blob(eu, "waveform", b"\x01" * 100)
    api.create_collection("mix")
    api.add_to_collection("mix", eu, kind="entry")
    with transaction(lib.conn) as conn:
        assert forget_entries(conn, [eu]) >= 2
        conn.execute("DELETE FROM entries WHERE uuid = ?", (eu.bytes,))
        conn.execute("UPDATE content_identities SET entry_count = 0 WHERE uuid = ?", (cu.bytes,))
    assert lib.conn.execute("SELECT count(*) FROM metadata_blobs").fetchone()[0] == 0
    assert api.collection_items("mix") == []
    assert [t.name for t in api.tags_of_content(cu)] == ["#music"]
    assert meta.content_in_use(lib.conn, cu)                 # tagged content is kept
    bare = add_content(lib, "bc" * 8)
    assert not meta.content_in_use(lib.conn, bare)
    collected = add_content(lib, "de" * 8)
    api.add_to_collection("mix", collected, kind="content")
    assert meta.delete_unused_content(lib.conn) == 1     # only `bare`
    left = {uuid.UUID(bytes=r[0]) for r in lib.conn.execute("SELECT uuid FROM content_identities")}
    assert left == {cu, collected}                       # tags and collections keep content

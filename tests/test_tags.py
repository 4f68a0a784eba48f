"""Tags: canonical names, entry vs content scope, who applied them, colour and hierarchy."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.metadata import NotFoundError
from core.domain.models import model
from core.domain.tags import TagError, canonical_name
from tests.helpers_rows import add_content, add_device, add_entry, add_location


@model(version="1.0.0", extension_id="com.test.tags")
@dataclass
class Album:
    title: str


@pytest.fixture
def copies(lib):
    """One photo at two paths on two devices, plus an unrelated file."""
    cu = add_content(lib, "ab" * 8)
    here = add_location(lib, "/home/me/Pictures")
    there = add_location(lib, "/Volumes/backup", device_id=add_device(lib, "nas"))
    a = add_entry(lib, here, "/home/me/Pictures/beach.jpg", cu)
    b = add_entry(lib, there, "/Volumes/backup/beach.jpg", cu)
    other = add_entry(lib, here, "/home/me/Pictures/cat.jpg", add_content(lib, "cd" * 8))
    return cu, a, b, other


@pytest.mark.parametrize("raw, canonical", [
    ("vacation", "#vacation"), ("#Vacation", "#vacation"), ("  #person:Alice ", "#person:alice"),
    ("#Person : Alice", "#person:alice"), ("new york", "#new-york"), ("#a/b.c_d-e", "#a/b.c_d-e")])
def test_canonical_names(raw, canonical):
    assert canonical_name(raw) == canonical


@pytest.mark.parametrize("bad", ["", "#", "#person:", "#:alice", "##x", "a,b", 3])
def test_invalid_names_are_refused(bad):
    with pytest.raises(TagError, match="tag name"):
        canonical_name(bad)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_canonical_is_idempotent(text):
    try:
        once = canonical_name(text)
    except TagError:
        return
    assert canonical_name(once) == once and once.startswith("#") and " " not in once


def test_content_tag_shows_on_every_copy_entry_tag_on_one(lib, copies):
    cu, a, b, other = copies
    api = lib.vdfs()
    assert api.add_tag_to_content(cu, "#vacation") is True
    assert api.add_tag_to_entry(a, "edited", applied_by="com.test.editor") is True
    tags_a = {(t.name, t.scope, t.applied_by) for t in api.tags_of_entry(a)}
    tags_b = {(t.name, t.scope) for t in api.tags_of_entry(b)}
    assert tags_a == {("#vacation", "content", "user"), ("#edited", "entry", "com.test.editor")}
    assert tags_b == {("#vacation", "content")}
    assert api.tags_of_entry(other) == []
    assert [t.name for t in api.tags_of_content(cu)] == ["#vacation"]


def test_reapplying_keeps_the_first_applier_and_removal_works(lib, copies):
    cu, a, *_ = copies
    api = lib.vdfs()
    api.add_tag_to_content(cu, "#person:alice", applied_by="com.test.photos")
    first = api.tags_of_content(cu)[0]
    assert api.add_tag_to_content(cu, "#Person:Alice", applied_by="user") is False
    assert api.tags_of_content(cu) == [first] and first.applied_at.endswith("Z")
    assert api.remove_tag_from_content(cu, "#person:alice") is True
    assert api.remove_tag_from_content(cu, "#person:alice") is False
    assert api.remove_tag_from_entry(a, "#never") is False
    assert api.get_tag("#person:alice").namespace == "person"     # the tag itself remains


def test_models_are_tagged_through_their_own_metadata(lib):
    api = lib.vdfs()
    album = Album("Summer")
    with pytest.raises(NotFoundError, match="never stored"):
        api.add_tag_to_model(album, "#family")
    api.create_model(album)
    api.add_tag_to_model(album, "#family", applied_by="com.test.tags")
    assert [(t.name, t.scope) for t in api.tags_of_model(album)] == [("#family", "model")]
    assert api.remove_tag_from_model(album.__vdfs__.uuid, "#family")
    with pytest.raises(NotFoundError, match="no model"):
        api.add_tag_to_model(uuid.uuid4(), "#x")


def test_unknown_targets_and_appliers_are_refused(lib):
    api = lib.vdfs()
    with pytest.raises(NotFoundError, match="no entry"):
        api.add_tag_to_entry(uuid.uuid4(), "#x")
    with pytest.raises(NotFoundError, match="no content identity"):
        api.add_tag_to_content(uuid.uuid4(), "#x")
    cu = add_content(lib, "ef" * 8)
    with pytest.raises(TagError, match="applied_by"):
        api.add_tag_to_content(cu, "#x", applied_by="")
    with pytest.raises(ValueError, match="UUID"):
        api.add_tag_to_content("not-a-uuid", "#x")
    assert lib.conn.execute("SELECT count(*) FROM tag_links").fetchone()[0] == 0


def test_colour_parent_and_namespaces(lib):
    api = lib.vdfs()
    api.create_tag("#person:alice", color="#ff0000", parent="#people")
    tag = api.get_tag("person:alice")
    assert (tag.color, tag.parent, tag.namespace) == ("#ff0000", "#people", "person")
    api.create_tag("#people", parent="#everyone")
    with pytest.raises(TagError, match="cycle"):
        api.create_tag("#everyone", parent="#person:alice")
    with pytest.raises(TagError, match="own parent"):
        api.create_tag("#x", parent="x")
    with pytest.raises(TagError, match="colour"):
        api.create_tag("#y", color="red")
    api.create_tag("#person:bob")
    assert [t.name for t in api.list_tags(namespace="person")] == ["#person:alice", "#person:bob"]


def test_tagging_is_logged_and_announced(lib, copies):
    cu, *_ = copies
    seen = []
    lib.events.subscribe(lambda e: seen.append(e.payload), "tag.added")
    api = lib.vdfs()
    api.add_tag_to_content(cu, "#vacation", applied_by="com.test.photos")
    api.add_tag_to_content(cu, "#vacation")                    # no change: no event, no log
    assert seen == [{"tag": "#vacation", "scope": "content", "target": str(cu),
                     "applied_by": "com.test.photos"}]
    ops = lib.conn.execute("SELECT op FROM sync_log WHERE table_name = 'tag_links'").fetchall()
    assert ops == [("insert",)]

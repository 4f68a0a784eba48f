"""Collections: ordered and polymorphic (entries, content identities and models mixed)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from core.domain.collection import CollectionError
from core.domain.metadata import NotFoundError
from core.domain.models import model
from tests.helpers_rows import add_content, add_entry, add_location


@model(extension_id="com.test.col")
@dataclass
class Place:
    name: str


def test_mixed_items_keep_their_order(lib):
    api = lib.vdfs()
    cu = add_content(lib, "01" * 8)
    eu = add_entry(lib, add_location(lib, "/p"), "/p/x.jpg", cu)
    rome = Place("Rome")
    api.create_model(rome)
    col = api.create_collection("Trip", "summer 2024")
    assert api.add_to_collection(col, eu, kind="entry") == 0
    assert api.add_to_collection("Trip", rome) == 1
    assert api.add_to_collection(col.uuid, cu, kind="content", position=0) == 0
    assert [(i.kind, i.uuid, i.position) for i in api.collection_items("Trip")] == [
        ("content", cu, 0), ("entry", eu, 1), ("model", rome.__vdfs__.uuid, 2)]
    assert api.add_to_collection("Trip", rome) == 2                 # already there: unchanged
    assert api.move_in_collection("Trip", rome, 0) == 0
    assert [i.kind for i in api.collection_items("Trip")] == ["model", "content", "entry"]
    assert api.remove_from_collection("Trip", cu, kind="content")
    assert [(i.kind, i.position) for i in api.collection_items("Trip")] == [("model", 0), ("entry", 1)]


def test_deleting_a_model_takes_it_out_of_collections(lib):
    api = lib.vdfs()
    a, b = Place("A"), Place("B")
    api.create_model(a)
    api.create_model(b)
    api.create_collection("places")
    api.add_to_collection("places", a)
    api.add_to_collection("places", b)
    api.delete_model(a)
    items = api.collection_items("places")
    assert [i.uuid for i in items] == [b.__vdfs__.uuid]
    with pytest.raises(NotFoundError, match="no model"):
        api.add_to_collection("places", a.__vdfs__.uuid, kind="model")


def test_errors_are_clear(lib):
    api = lib.vdfs()
    api.create_collection("one")
    with pytest.raises(CollectionError, match="already exists"):
        api.create_collection("one")
    with pytest.raises(CollectionError, match="non-empty name"):
        api.create_collection("  ")
    with pytest.raises(NotFoundError, match="no collection"):
        api.add_to_collection("two", uuid.uuid4(), kind="entry")
    with pytest.raises(NotFoundError, match="no entry"):
        api.add_to_collection("one", uuid.uuid4(), kind="entry")
    with pytest.raises(CollectionError, match="not 'device'"):
        api.add_to_collection("one", uuid.uuid4(), kind="device")
    with pytest.raises(ValueError, match="kind="):
        api.add_to_collection("one", uuid.uuid4())
    api.delete_collection("one")
    assert api.list_collections() == []

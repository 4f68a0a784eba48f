"""Tags and models through the query language: entries by tag and by model, models by inline
fields, and select_inline_only() reading no blob."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np
import pytest

from core.domain import blobs
from core.domain.models import blob_data, model


@model(version="1.0.0", scope="standalone", extension_id="com.test.q")
@dataclass
class Person:
    name: str
    photo_count: int = 0
    embedding: np.ndarray = blob_data(compression="zstd", lazy=True)


@model(version="1.0.0", scope="content", extension_id="com.test.q")
@dataclass
class PhotoAnalysis:
    scene: str


@pytest.fixture
def photos(lib, tmp_path):
    """An indexed folder: beach.jpg with a copy, cat.jpg, notes.txt."""
    folder = tmp_path / "photos"
    (folder / "backup").mkdir(parents=True)
    (folder / "beach.jpg").write_bytes(b"\xff\xd8beach" * 300)
    (folder / "backup" / "beach.jpg").write_bytes(b"\xff\xd8beach" * 300)
    (folder / "cat.jpg").write_bytes(b"\xff\xd8cat" * 300)
    (folder / "notes.txt").write_text("remember the milk")
    lib.index(lib.add_location(folder)).wait(timeout=60)
    rows = lib.conn.execute("SELECT e.path, e.uuid, c.uuid FROM entries e JOIN "
                            "content_identities c ON c.id = e.content_id").fetchall()
    return {p[len(str(folder)) + 1:]: (uuid.UUID(bytes=e), uuid.UUID(bytes=c)) for p, e, c in rows}


def _names(result) -> list[str]:
    return sorted(r["path"].split("/photos/")[1] for r in result.rows())


def test_entries_by_tag_content_and_entry_scoped(lib, photos):
    api = lib.vdfs()
    api.add_tag_to_content(photos["beach.jpg"][1], "#vacation")
    api.add_tag_to_entry(photos["notes.txt"][0], "#todo", applied_by="com.test.q")
    assert _names(lib.query('entries tagged "#vacation"')) == ["backup/beach.jpg", "beach.jpg"]
    assert _names(lib.query("entries tagged :t", t="#todo")) == ["notes.txt"]
    built = api.query_entries().tagged("#vacation").collect()
    assert sorted(r["name"] for r in built) == ["beach.jpg", "beach.jpg"]
    api.remove_tag_from_content(photos["beach.jpg"][1], "#vacation")   # seen at once
    assert _names(lib.query('entries tagged "#vacation"')) == []
    api.add_tag_to_entry(photos["cat.jpg"][0], "vacation")
    assert _names(lib.query('entries tagged "#vacation"')) == ["cat.jpg"]


def test_entries_having_a_model(lib, photos):
    api = lib.vdfs()
    assert _names(lib.query("entries has com.test.q.PhotoAnalysis")) == []
    api.create_model_for_content(photos["cat.jpg"][1], PhotoAnalysis("indoor"))
    assert _names(lib.query("entries has com.test.q.PhotoAnalysis")) == ["cat.jpg"]
    built = api.query_entries().has(PhotoAnalysis).collect()
    assert [r["name"] for r in built] == ["cat.jpg"]
    found = api.query_models(PhotoAnalysis).for_content(photos["cat.jpg"][1]).first()
    assert found.scene == "indoor"


def test_models_by_inline_fields_and_inline_only_reads_no_blob(lib):
    api = lib.vdfs()
    rng = np.random.default_rng(3)
    with api.batch():
        for i in range(30):
            api.create_model(Person(f"p{i:02d}", i, rng.standard_normal(64).astype(np.float32)))
    counters = lib.blob_stats
    rows = lib.query("models com.test.q.Person where photo_count >= 25 order by photo_count").rows()
    assert [r["uuid"] for r in rows] and len(rows) == 5
    q = api.query_models(Person).where("photo_count", ">=", 25).order_by("photo_count")
    before = counters.reads
    light = q.select_inline_only().collect()
    assert [p.name for p in light] == ["p25", "p26", "p27", "p28", "p29"]
    assert counters.reads == before                      # no blob was read
    full = q.collect()
    assert counters.reads == before                      # lazy: still nothing until touched
    assert full[0].embedding.shape == (64,) and counters.reads == before + 1
    assert api.query_models(Person).where("name", "=", "p07").first().photo_count == 7
    assert api.query_models(Person).count() == 30


def test_inline_only_survives_corrupt_blobs(lib):
    api = lib.vdfs()
    api.create_model(Person("a", 1, np.ones(8, np.float32)))
    lib.conn.execute("UPDATE metadata_blobs SET blob_data = x'00'")
    people = api.query_models(Person).select_inline_only().collect()
    assert [p.name for p in people] == ["a"]
    with pytest.raises(blobs.BlobIntegrityError, match="Person.*embedding"):
        _ = api.query_models(Person).first().embedding


def test_models_tagged_in_the_language(lib):
    api = lib.vdfs()
    alice, bob = Person("alice"), Person("bob")
    api.create_model(alice)
    api.create_model(bob)
    api.add_tag_to_model(bob, "#family")
    assert [p.name for p in api.query_models(Person).tagged("#family").collect()] == ["bob"]
    assert len(lib.query('models com.test.q.Person tagged "#family"')) == 1


def test_models_queried_by_name(lib):
    api = lib.vdfs()
    api.create_model(Person("zoe", 3))
    (zoe,) = api.query_models("com.test.q.Person").collect()
    assert isinstance(zoe, Person) and zoe.photo_count == 3
    assert api.query_models("com.test.q.Stranger").collect() == []

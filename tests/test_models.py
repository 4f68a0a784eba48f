"""Extension models: declaration, scopes, lazy blobs, dedup, integrity, versions, sync stamps."""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.domain import blobs
from core.store.changelog import parse_hlc
from core.domain.metadata import NotFoundError
from core.domain.models import (ModelDefinitionError, ModelExistsError, ModelScopeError,
                                ModelVersionError, blob_data, instances_from_rows, is_loaded,
                                load_blobs, migrates, model, model_uuid)
from tests.helpers_rows import (add_content, add_device, add_entry, add_location, remove_device,
                                remove_location)


@dataclass
class Face:
    x: int
    y: int
    person: uuid.UUID | None = None


@model(version="1.0.0", scope="standalone", extension_id="com.test.photos")
@dataclass
class Person:
    name: str
    photo_count: int = 0
    born: dt.date | None = None
    embedding: np.ndarray = blob_data(compression="zstd", lazy=True)
    id: uuid.UUID | None = None


@model(version="1.0.0", scope="content", extension_id="com.test.photos")
class PhotoAnalysis:                      # a plain annotated class, made a dataclass by @model
    scene: str
    faces: list[Face] = field(default_factory=list)
    people: list[uuid.UUID] = field(default_factory=list)
    thumbnail: bytes = blob_data(lazy=False)


@model(scope="entry")
@dataclass
class EditState:
    state: str


def _reads(lib) -> int:
    return lib.blob_stats.reads


def _blob_rows(lib) -> list[tuple]:
    return lib.conn.execute("SELECT id, reference_count FROM metadata_blobs ORDER BY id").fetchall()


def test_spec_records_the_declaration():
    spec = Person.__vdfs_model__
    assert (spec.model_type, spec.extension_id, spec.version, spec.scope, spec.sync_strategy) == \
        ("Person", "com.test.photos", "1.0.0", "standalone", "shared")
    assert spec.inline_fields == ["name", "photo_count", "born"]
    assert spec.blob_fields == ["embedding"] and spec.id_field == "id"
    assert PhotoAnalysis.__vdfs_model__.sync_strategy == "shared"
    assert EditState.__vdfs_model__.sync_strategy == "device_owned"
    assert PhotoAnalysis.__vdfs_model__.blob_options["thumbnail"].lazy is False


@pytest.mark.parametrize("kwargs, match", [
    ({"scope": "global"}, "scope"), ({"sync_strategy": "p2p"}, "sync_strategy"),
    ({"version": "one"}, "version")])
def test_bad_declarations_are_refused(kwargs, match):
    with pytest.raises(ModelDefinitionError, match=match):
        model(**kwargs)
    with pytest.raises(ModelDefinitionError, match="compression"):
        blob_data(compression="brotli")


def test_standalone_round_trip_keeps_types(lib):
    api = lib.vdfs()
    emb = np.random.default_rng(0).standard_normal(512).astype(np.float32)
    alice = Person("Alice", 42, dt.date(1990, 5, 1), emb)
    mu = api.create_model(alice)
    assert alice.id == mu == model_uuid(alice)
    row = lib.conn.execute("SELECT data, standalone, sync_strategy, schema_version, device_uuid, "
                           "extension_id FROM models").fetchone()
    assert json.loads(row[0]) == {"name": "Alice", "photo_count": 42, "born": "1990-05-01"}
    assert row[1:4] == (1, 1, "1.0.0") and row[4] == lib.device_uuid.bytes
    assert row[5] == "com.test.photos"
    back = api.get_model(Person, mu)
    assert (back.name, back.photo_count, back.born, back.id) == ("Alice", 42, dt.date(1990, 5, 1), mu)
    np.testing.assert_array_equal(back.embedding, emb)
    assert back.embedding.dtype == np.float32


def test_nested_inline_values_round_trip(lib):
    api = lib.vdfs()
    cu = add_content(lib, "11" * 8)
    pid = uuid.uuid4()
    pa = PhotoAnalysis("beach", [Face(1, 2, pid), Face(3, 4)], [pid], b"\x89PNG..." * 30)
    api.create_model_for_content(cu, pa)
    back = api.get_model_by_content(PhotoAnalysis, cu)
    assert back.faces == [Face(1, 2, pid), Face(3, 4)] and back.people == [pid]
    assert back.thumbnail == b"\x89PNG..." * 30
    assert api.get_model_by_content(PhotoAnalysis, add_content(lib, "22" * 8)) is None


def test_scope_check_refuses_two_or_no_scopes(lib):
    cu = add_content(lib, "33" * 8)
    loc = add_location(lib, "/pics")
    eu = add_entry(lib, loc, "/pics/a.jpg", cu)
    meta = lib.conn.execute("INSERT INTO user_metadata (uuid, created_at, updated_at) "
                            "VALUES (?, 'now', 'now')", (uuid.uuid4().bytes,)).lastrowid
    insert = ("INSERT INTO models (uuid, extension_id, model_type, data, entry_uuid, "
              "content_identity_uuid, standalone, metadata_id, sync_strategy, created_at, "
              "updated_at) VALUES (?, 'x', 'T', '{}', ?, ?, ?, ?, 1, 'now', 'now')")
    for entry, content, standalone in [(eu, cu, 0), (None, None, 0), (None, cu, 1), (eu, None, 1)]:
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            lib.conn.execute(insert, (uuid.uuid4().bytes, entry and entry.bytes,
                                      content and content.bytes, standalone, meta))
    api = lib.vdfs()
    with pytest.raises(ModelScopeError, match="create_model_for_content"):
        api.create_model(PhotoAnalysis("x"))
    with pytest.raises(ModelScopeError, match="create_model\\(m\\)"):
        api.create_model_for_content(cu, Person("Bob"))
    api.create_model_for_entry(eu, EditState("cropping"))
    assert api.get_model_by_entry(EditState, eu).state == "cropping"


def test_content_model_needs_content_and_is_unique_per_type(lib):
    api = lib.vdfs()
    with pytest.raises(NotFoundError, match="content identity"):
        api.create_model_for_content(uuid.uuid4(), PhotoAnalysis("x"))
    cu = add_content(lib, "44" * 8)
    api.create_model_for_content(cu, PhotoAnalysis("x"))
    with pytest.raises(ModelExistsError, match="already exists"):
        api.create_model_for_content(cu, PhotoAnalysis("y"))
    assert lib.conn.execute("SELECT count(*) FROM models").fetchone()[0] == 1


def test_failed_create_leaves_nothing_behind(lib):
    api = lib.vdfs()
    with pytest.raises(ValueError, match="finite"):
        api.create_model(Person("nan", photo_count=float("nan")))
    bad = Person("Eve", embedding=object())        # cannot be stored as a blob
    with pytest.raises(Exception, match="blob"):
        api.create_model(bad)
    for table in ("models", "user_metadata", "metadata_blobs", "sync_log"):
        assert lib.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table


def test_same_embedding_is_one_blob_and_deleting_both_frees_it(lib):
    api = lib.vdfs()
    emb = np.linspace(0, 1, 512, dtype=np.float32)
    a, b = Person("A", embedding=emb), Person("B", embedding=emb.copy())
    api.create_model(a)
    api.create_model(b)
    (blob_id, refs), = _blob_rows(lib)
    assert refs == 2
    api.delete_model(a)
    assert _blob_rows(lib) == [(blob_id, 1)]
    api.delete_model(model_uuid(b))
    assert _blob_rows(lib) == []
    assert lib.conn.execute("SELECT count(*) FROM model_blobs").fetchone()[0] == 0
    assert lib.conn.execute("SELECT count(*) FROM user_metadata").fetchone()[0] == 0


def test_update_rewrites_inline_and_swaps_blobs(lib):
    api = lib.vdfs()
    p = Person("A", embedding=np.zeros(8, np.float32))
    api.create_model(p)
    first = lib.conn.execute("SELECT hlc_timestamp FROM models").fetchone()[0]
    p.name, p.embedding = "A2", np.ones(8, np.float32)
    api.update_model(p)
    assert len(_blob_rows(lib)) == 1                    # the old embedding was released
    loaded = api.get_model(Person, p.id)
    assert loaded.name == "A2"
    loaded.photo_count = 5
    api.update_model(loaded)                            # blob never read: left as it was
    again = api.get_model(Person, p.id)
    np.testing.assert_array_equal(again.embedding, np.ones(8, np.float32))
    assert again.photo_count == 5
    latest = lib.conn.execute("SELECT hlc_timestamp FROM models").fetchone()[0]
    assert parse_hlc(latest) > parse_hlc(first) and latest > first
    again.embedding = None
    api.update_model(again)
    assert _blob_rows(lib) == [] and api.get_model(Person, p.id).embedding is None


def test_blob_fields_load_lazily_and_only_once(lib):
    api = lib.vdfs()
    api.create_model(Person("A", embedding=np.ones(4, np.float32)))
    api.create_model(Person("B", embedding=np.full(4, 2, np.float32)))
    before = _reads(lib)
    people = api.list_models(Person)
    assert _reads(lib) == before and not is_loaded(people[0], "embedding")
    assert "embedding=<blob>" in repr(people[0]) and _reads(lib) == before
    assert people[0].embedding[0] == 1 and _reads(lib) == before + 1
    assert people[0].embedding[0] == 1 and _reads(lib) == before + 1
    light = api.list_models(Person, inline_only=True)
    assert [p.name for p in light] == ["A", "B"] and _reads(lib) == before + 1
    assert light[1].embedding[0] == 2 and _reads(lib) == before + 2   # still reachable on demand


def test_eager_blob_fields_load_with_the_row_but_not_inline_only(lib):
    api = lib.vdfs()
    for i in range(3):
        api.create_model_for_content(add_content(lib, f"{i:016x}"), PhotoAnalysis("s", thumbnail=bytes([i]) * 64))
    before = _reads(lib)
    full = api.list_models(PhotoAnalysis)
    assert _reads(lib) == before + 3 and all(is_loaded(p, "thumbnail") for p in full)
    light = api.list_models(PhotoAnalysis, inline_only=True)
    assert _reads(lib) == before + 3 and not any(is_loaded(p, "thumbnail") for p in light)


def test_corrupt_blob_names_model_and_field(lib):
    api = lib.vdfs()
    p = Person("A", embedding=np.arange(64, dtype=np.float32))
    api.create_model(p)
    lib.conn.execute("UPDATE metadata_blobs SET blob_data = ?, compression = NULL",
                     (np.zeros(64, np.float32).tobytes(),))
    light = api.list_models(Person, inline_only=True)   # inline reads never notice
    assert light[0].name == "A"
    with pytest.raises(blobs.BlobIntegrityError) as err:
        _ = api.get_model(Person, p.id).embedding
    assert "Person" in str(err.value) and "embedding" in str(err.value) and str(p.id) in str(err.value)


def test_content_model_survives_removal_of_every_entry_and_device(lib):
    api = lib.vdfs()
    phone = add_device(lib, "phone")
    loc = add_location(lib, "/phone/DCIM", device_id=phone)
    kept, dropped = add_content(lib, "55" * 8), add_content(lib, "66" * 8)
    e1 = add_entry(lib, loc, "/phone/DCIM/a.jpg", kept)
    add_entry(lib, loc, "/phone/DCIM/copy-of-a.jpg", kept)
    add_entry(lib, loc, "/phone/DCIM/b.jpg", dropped)
    api.create_model_for_content(kept, PhotoAnalysis("beach", thumbnail=b"t" * 10))
    api.add_tag_to_entry(e1, "#edited")
    api.create_model_for_entry(e1, EditState("crop"))
    remove_device(lib, phone)
    assert lib.conn.execute("SELECT count(*) FROM entries").fetchone()[0] == 0
    assert lib.conn.execute("SELECT count(*) FROM devices WHERE id = ?", (phone,)).fetchone()[0] == 0
    got = api.get_model_by_content(PhotoAnalysis, kept)
    assert got.scene == "beach" and got.thumbnail == b"t" * 10
    ids = {r[0] for r in lib.conn.execute("SELECT uuid FROM content_identities")}
    assert ids == {kept.bytes}                            # unused identity went, used one stayed
    assert api.list_models(EditState) == []              # entry-scoped data went with its entry


def test_entry_models_go_with_their_entry(lib):
    loc = add_location(lib, "/w")
    eu = add_entry(lib, loc, "/w/x.txt")
    lib.vdfs().create_model_for_entry(eu, EditState("draft"))
    remove_location(lib, loc)
    assert lib.conn.execute("SELECT count(*) FROM models").fetchone()[0] == 0


def test_older_data_is_migrated_or_refused_clearly(lib):
    @model(version="0.9.0", name="Doc")
    @dataclass
    class DocV09:
        title: str

    api = lib.vdfs()
    mu = api.create_model(DocV09("Hello"))

    @model(version="2.0.0", name="Doc")
    @dataclass
    class Doc:
        heading: str
        words: int = 0

        @migrates(from_version="0.9.0", to_version="1.0.0")
        def from_09(data):
            return {"heading": data["title"]}

        migrations = {"1.0.0": lambda d: {**d, "words": len(d["heading"].split())}}

    loaded = api.get_model(Doc, mu)
    assert (loaded.heading, loaded.words) == ("Hello", 1)
    api.update_model(loaded)
    assert lib.conn.execute("SELECT schema_version FROM models").fetchone()[0] == "2.0.0"

    @model(version="3.0.0", name="Doc")
    @dataclass
    class DocV3:
        heading: str

    with pytest.raises(ModelVersionError, match=r"version 2\.0\.0.*no migration from 2\.0\.0"):
        api.get_model(DocV3, mu)
    with pytest.raises(ModelVersionError, match="newer than this class"):
        api.get_model(DocV09, mu)


def test_sync_log_and_hlc_follow_every_change(lib):
    api = lib.vdfs()
    p = Person("A", embedding=np.ones(3, np.float32))
    api.create_model(p)
    p.name = "B"
    api.update_model(p)
    api.delete_model(p)
    rows = lib.conn.execute("SELECT hlc, op, device_uuid, data FROM sync_log WHERE "
                            "table_name = 'models' AND record_uuid = ? ORDER BY id",
                            (p.id.bytes,)).fetchall()
    assert [r[1] for r in rows] == ["insert", "update", "delete"]
    assert [r[0] for r in rows] == sorted(r[0] for r in rows) and len({r[0] for r in rows}) == 3
    assert all(r[2] == lib.device_uuid.bytes for r in rows)
    assert json.loads(rows[0][3])["blobs"]["embedding"] == blobs.blob_hash(
        blobs.encode_value(np.ones(3, np.float32))[0])


def test_model_created_event_fires_after_commit(lib):
    seen = []
    lib.events.subscribe(lambda e: seen.append((e.kind, e.payload["model_type"])), "model.created")
    api = lib.vdfs()
    with api.batch():
        api.create_model(Person("A"))
        assert seen == []
    assert seen == [("model.created", "Person")]


def test_instances_from_rows_accepts_query_rows(lib):
    api = lib.vdfs()
    api.create_model(Person("A", 3, embedding=np.ones(2, np.float32)))
    raw = lib.conn.execute("SELECT uuid, data FROM models").fetchall()
    rows = [{"uuid": r[0], "data": r[1]} for r in raw]   # no schema_version: looked up
    before = _reads(lib)
    (p,) = instances_from_rows(Person, rows, lib, inline_only=True)
    assert (p.name, p.photo_count) == ("A", 3) and _reads(lib) == before
    assert list(p.embedding) == [1.0, 1.0]
    with pytest.raises(ModelDefinitionError, match="not a model"):
        instances_from_rows(Face, rows, lib)


def test_load_blobs_reads_many_in_one_batch(lib):
    api = lib.vdfs()
    for i in range(5):
        api.create_model(Person(f"P{i}", embedding=np.full(4, i, np.float32)))
    api.create_model(Person("none"))
    people = api.list_models(Person, inline_only=True)
    before = _reads(lib)
    load_blobs(people)
    assert _reads(lib) == before + 5 and all(is_loaded(p, "embedding") for p in people)
    assert [None if p.embedding is None else int(p.embedding[0]) for p in people] == \
        [0, 1, 2, 3, 4, None]
    assert _reads(lib) == before + 5


def _index(lib, folder):
    loc = lib.add_location(folder)
    lib.index(loc).wait(timeout=60)
    return loc


def test_content_model_survives_reindex_after_files_vanish(lib, tmp_path):
    """With the real indexer: every copy of a photo is deleted and its folder re-indexed; the
    content identity, its model and its content tag stay, an untouched identity goes."""
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    for rel in ("beach.jpg", "sub/beach-copy.jpg"):
        (folder / rel).write_bytes(b"\xff\xd8 beach pixels" * 100)
    (folder / "cat.jpg").write_bytes(b"\xff\xd8 cat pixels" * 100)
    loc = _index(lib, folder)
    api = lib.vdfs()
    by_name = dict(lib.conn.execute(
        "SELECT e.name, c.uuid FROM entries e JOIN content_identities c ON c.id = e.content_id"))
    beach, cat = uuid.UUID(bytes=by_name["beach.jpg"]), uuid.UUID(bytes=by_name["cat.jpg"])
    assert by_name["beach-copy.jpg"] == beach.bytes
    api.create_model_for_content(beach, PhotoAnalysis("beach", thumbnail=b"thumb"))
    api.add_tag_to_content(beach, "#vacation")
    for rel in ("beach.jpg", "sub/beach-copy.jpg", "cat.jpg"):
        (folder / rel).unlink()
    lib.index(loc).wait(timeout=60)
    assert lib.conn.execute("SELECT count(*) FROM entries WHERE is_dir = 0").fetchone()[0] == 0
    got = api.get_model_by_content(PhotoAnalysis, beach)
    assert got.scene == "beach" and got.thumbnail == b"thumb"
    assert [t.name for t in api.tags_of_content(beach)] == ["#vacation"]
    left = {uuid.UUID(bytes=r[0]) for r in lib.conn.execute("SELECT uuid FROM content_identities")}
    assert left == {beach} and cat not in left


def test_indexer_frees_blobs_of_deleted_entries(lib, tmp_path):
    folder = tmp_path / "w"
    folder.mkdir()
    for name in ("a.txt", "b.txt"):
        (folder / name).write_text(f"{name} contents")
    loc = _index(lib, folder)
    api = lib.vdfs()

    @model(scope="entry", name="Scratch")
    @dataclass
    class Scratch:
        note: str
        cache: np.ndarray = blob_data()

    for (eu,) in lib.conn.execute("SELECT uuid FROM entries WHERE is_dir = 0").fetchall():
        api.create_model_for_entry(eu, Scratch("x", np.ones(16, np.float32)))
    for name in ("a.txt", "b.txt"):
        (folder / name).unlink()
    lib.index(loc).wait(timeout=60)
    assert lib.conn.execute("SELECT count(*) FROM models").fetchone()[0] == 0
    assert lib.conn.execute("SELECT count(*) FROM metadata_blobs").fetchone()[0] == 0
    assert lib.conn.execute("SELECT count(*) FROM user_metadata").fetchone()[0] == 0


def test_rolled_back_batch_announces_and_keeps_nothing(lib):
    seen = []
    lib.events.subscribe(seen.append)
    api = lib.vdfs()
    with pytest.raises(RuntimeError):
        with api.batch():
            api.create_model(Person("ghost", embedding=np.ones(4, np.float32)))
            raise RuntimeError("crash mid-batch")
    assert seen == []
    for table in ("models", "metadata_blobs", "sync_log"):
        assert lib.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(max_size=30), count=st.integers(-2**53, 2**53),
       born=st.none() | st.dates(), vec=st.none() | st.lists(
           st.floats(width=32, allow_nan=False), min_size=1, max_size=40))
def test_any_values_round_trip(lib, name, count, born, vec):
    api = lib.vdfs()
    emb = None if vec is None else np.asarray(vec, dtype=np.float32)
    mu = api.create_model(Person(name, count, born, emb))
    back = api.get_model(Person, mu)
    assert (back.name, back.photo_count, back.born) == (name, count, born)
    if emb is None:
        assert back.embedding is None
    else:
        np.testing.assert_array_equal(back.embedding, emb)
    api.delete_model(mu)

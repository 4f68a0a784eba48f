"""The SDK's documented examples, written the way its reference writes them, run as written.

Each test is an extension in the example style: a job that maps over query rows with
`.map(...).collect()`, reads an entry with `entry.read()`, calls `ctx.ai()` from a job and a
task and hands a row to `ctx.run(task, row)` without a key; triggers other than a user's click;
an action whose execute step tags through the host API; and the documented ui_manifest.
docs/sdk-reference.md puts each example next to its Python form.
"""
from __future__ import annotations

import json
import uuid

import numpy as np
import pytest

from core.ai import ModelSource
from core.extensions import Permission
from core.extensions.definition import extension
from core.extensions.manager import ExtensionManager
from core.jobs import job, task
from tests.test_ai_models import affine_relu_onnx

EXT = "com.test.spec"
RAN: dict[str, list] = {}


# ---- 3. Jobs and tasks --------------------------------------------------------------------------
@task(retries=3, timeout_ms=30000)
def detect_faces(ctx, entry):
    image_bytes = entry.read()
    faces = ctx.ai().from_registered("face_detection:spec_v1")(
        np.array([[len(image_bytes), 0, 0]], dtype=np.float32))
    return {"name": entry.name, "bytes": len(image_bytes), "faces": faces.shape[1]}


@job(name="spec_analyze_photos", parallelism=4, trigger="user_initiated")
def analyze_photos(ctx, location):
    # Get content UUIDs (not entry UUIDs!)
    content_uuids = (ctx.vdfs()
                     .query_entries()
                     .in_location(location)
                     .of_type("image")
                     .map(lambda e: e.content_uuid)
                     .collect())
    assert ctx.ai().from_registered("face_detection:spec_v1") is not None
    found = []
    for content_uuid in sorted(content_uuids):
        entry = (ctx.vdfs()
                 .query_entries()
                 .where_content_id(content_uuid)
                 .on_this_device()
                 .first())
        faces = ctx.run(detect_faces, entry)
        ctx.vdfs().add_tag_to_content(content_uuid, "#analyzed")
        found.append(faces)
    return found


@extension(id=EXT, name="Spec", version="1.0.0",
           permissions=[Permission.ReadEntries(glob="**/*.jpg"), Permission.WriteTags,
                        Permission.DispatchJobs,
                        Permission.UseModel(category="face_detection", preference="local")])
class Spec:
    jobs = [analyze_photos]

    def init(self, ctx):
        ctx.models().register("spec_v1", "face_detection", ModelSource.bundled(affine_relu_onnx()))


@pytest.fixture
def photos(lib, tmp_path):
    root = tmp_path / "files"
    for rel in ("photos/a.jpg", "photos/deep/b.jpg", "photos/notes.txt"):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(rel.encode() * 3)
    lib.index(lib.add_location(root)).wait(timeout=60)
    mgr = ExtensionManager.of(lib)
    yield lib, mgr, root
    mgr.close()


def test_analyze_photos_runs_as_written(photos):
    lib, mgr, root = photos
    ctx = mgr.install(Spec, [Permission.ReadEntries(glob="**/*.jpg"), Permission.WriteTags,
                             Permission.DispatchJobs,
                             Permission.UseModel(category="face_detection", preference="local")])
    found = ctx.dispatch_job(analyze_photos, location=str(root / "photos")).wait(timeout=60)
    assert sorted((f["name"], f["bytes"]) for f in found) == [
        ("a.jpg", len(b"photos/a.jpg") * 3), ("b.jpg", len(b"photos/deep/b.jpg") * 3)]
    assert all(f["faces"] == 2 for f in found)
    tagged = lib.query('files tagged "#analyzed"').rows()
    assert sorted(r["name"] for r in tagged) == ["a.jpg", "b.jpg"]


def test_entry_rows_behave_like_entries_and_stay_dicts(photos):
    lib, mgr, root = photos
    api = mgr.install(Spec, [Permission.ReadEntries(glob="**/*.jpg"), Permission.WriteTags,
                             Permission.UseModel(category="face_detection")]).vdfs()
    entry = api.query_entries().of_type("image").order_by("name").first()
    assert entry.read() == b"photos/a.jpg" * 3                   # through the checked read
    assert entry.location() == str(root)                          # the location it is in
    assert entry.exif is None                                     # a text file has none
    assert isinstance(entry, dict) and entry["name"] == entry.name == "a.jpg"
    assert json.loads(json.dumps(entry, default=str))["name"] == "a.jpg"
    import pandas as pd
    assert list(pd.DataFrame(api.query_entries().of_type("image").collect())["name"].sort_values()) \
        == ["a.jpg", "b.jpg"]
    # the unchecked host API's rows read too
    own = lib.vdfs().query_entries().where("name", "=", "notes.txt").first()
    assert own.read() == b"photos/notes.txt" * 3


def test_map_is_not_terminal_and_keeps_a_list():
    from vdfs_query.builder import Mapped
    m = Mapped([1, 2, 3])
    assert m.collect() == [1, 2, 3] and m == [1, 2, 3] and m.first() == 1
    assert Mapped([]).first() is None

"""The Photos reference extension end to end: generated JPEGs with EXIF GPS are indexed, the
package is installed with scoped grants, analyze_photos runs, and the People / Places / Albums
queries of its ui_manifest return the right rows — and nothing outside the grant leaks in."""
from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import numpy as np
import pytest

from core.extensions import Permission
from core.extensions.manager import ExtensionManager
from core.extensions.manifest import load_package
from core.store.paths import models_dir
from extensions.photos.faces import STANDIN
from tests.test_ai_extraction import jpeg_bytes

PKG = Path(__file__).resolve().parent.parent / "extensions" / "photos"
EXT = "com.vdfs.photos"
OSLO, RIO = (59.9139, 10.7522), (-22.9068, -43.1729)


@pytest.fixture
def photos(tmp_path):
    root = tmp_path / "library-files"
    files = {
        "photos/oslo_1.jpg": jpeg_bytes(*OSLO, color=(220, 40, 40)),
        "photos/oslo_2.jpg": jpeg_bytes(59.92, 10.76, color=(210, 50, 45), taken="2024:06:02 09:00:00"),
        "photos/trips/rio.jpg": jpeg_bytes(*RIO, color=(30, 40, 220)),
        "photos/gray.jpg": jpeg_bytes(10.0, 20.0, color=(128, 128, 128)),
        "photos/readme.txt": b"not a photo",
        "private/secret.jpg": jpeg_bytes(48.8566, 2.3522, color=(220, 40, 40)),
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    shutil.copy(root / "photos/oslo_1.jpg", root / "photos/copy_of_oslo_1.jpg")   # same content
    from PIL import Image
    Image.new("RGB", (64, 64), (40, 200, 50)).save(root / "photos/trips/forest.png")
    return root


def content_of(lib, path) -> str:
    row = lib.conn.execute("SELECT c.uuid FROM entries e JOIN content_identities c ON c.id = "
                           "e.content_id WHERE e.path = ?", (str(path),)).fetchone()
    return str(uuid.UUID(bytes=row[0]))


def section_rows(lib, pkg, section_id):
    """Run a ui_manifest section's own DSL query, as the sidebar would."""
    ui = pkg.ui
    rows = lib.query(ui.query_text(ui.section(section_id))).rows()
    for r in rows:
        r["data"] = json.loads(r["data"]) if isinstance(r["data"], str) else r["data"]
    return rows


def test_bundled_model_matches_its_numpy_reference():
    import sys
    sys.path.insert(0, str(PKG))
    try:
        from build_model import build, reference
    finally:
        sys.path.remove(str(PKG))
    assert (PKG / "models/photos_v1.onnx").read_bytes() == build()   # the shipped file is this graph
    import onnxruntime as ort
    sess = ort.InferenceSession(str(PKG / "models/photos_v1.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(7).random((4, 3, 8, 8), dtype=np.float32)
    got = dict(zip(["scene", "face_score", "embedding"], sess.run(None, {"image": x})))
    for name, want in reference(x).items():
        np.testing.assert_allclose(got[name], want, atol=1e-5)


def test_photos_end_to_end(lib, photos):
    lib.index(lib.add_location(photos)).wait(timeout=120)
    mgr = lib.extensions
    pkg = load_package(PKG)
    scope = str(photos / "photos")
    ctx = mgr.install(PKG, [p.scoped_to(scope) for p in [
        Permission.ReadEntries(glob="**/*.{jpg,jpeg,png,heic}"), Permission.WriteTags,
        Permission.DispatchJobs, Permission.UseModel(category="face_detection"),
        Permission.WriteSidecars(kinds=["faces"])]],
        config={"auto_analyze": True, "face_model": STANDIN})  # colour "faces": see test_photos_faces
    assert ctx.definition.package_root == PKG
    assert (models_dir() / "face_detection").is_dir()     # the bundled ONNX model was registered

    result = mgr.run_job(EXT, "analyze_photos").wait(timeout=120)
    assert result == {"photos": 5, "analyzed": 5, "people": 3, "places": 3}

    people = section_rows(lib, pkg, "people")
    assert [r["data"]["photo_count"] for r in people] == [2, 1, 1]
    red = people[0]["data"]
    assert sorted(red["content_ids"]) == sorted([content_of(lib, photos / "photos/oslo_1.jpg"),
                                                 content_of(lib, photos / "photos/oslo_2.jpg")])
    places = {r["data"]["name"]: r["data"]["photo_count"] for r in section_rows(lib, pkg, "places")}
    assert places == {"Oslo": 2, "Rio de Janeiro": 1, "10.0, 20.0": 1}
    assert section_rows(lib, pkg, "albums") == []

    oslo = content_of(lib, photos / "photos/oslo_1.jpg")
    assert {t.name for t in lib.vdfs().tags_of_content(oslo)} >= {
        "#analyzed", "#scene:sunset", "#person:person-1", "#place:oslo"}
    tagged = lib.query("entries tagged '#place:oslo'").rows()
    assert sorted(Path(r["path"]).name for r in tagged) == ["copy_of_oslo_1.jpg", "oslo_1.jpg",
                                                            "oslo_2.jpg"]
    # nothing outside the grant: the private photo (red, in Paris) was never seen
    secret = content_of(lib, photos / "private/secret.jpg")
    assert lib.vdfs().tags_of_content(secret) == []
    assert len(lib.query("models PhotoAnalysis").rows()) == 5
    assert "Paris" not in places
    from core.domain.sidecars import Sidecars
    faces = Sidecars(lib.path).read_json(uuid.UUID(oslo), "faces")      # WriteSidecars(faces)
    assert len(faces) == 1 and faces[0]["score"] > 0.9

    # the create_album action: preview changes nothing, commit does exactly that
    from extensions.photos.actions import create_album
    preview = mgr.preview_action(EXT, create_album, place="Oslo")
    assert preview.title == "Create album “Oslo” with 2 photo(s)" and len(preview.changes) == 3
    assert section_rows(lib, pkg, "albums") == []
    mgr.commit_action(preview)
    albums = section_rows(lib, pkg, "albums")
    assert [(a["data"]["name"], sorted(a["data"]["content_ids"])) for a in albums] == [
        ("Oslo", sorted(red["content_ids"]))]
    assert len(lib.query("entries tagged '#album:oslo'").rows()) == 3

    # running again finds nothing new
    assert mgr.run_job(EXT, "analyze_photos").wait(timeout=120)["analyzed"] == 0

    # the agent: a new photo inside the grant is analysed without anyone asking
    (photos / "photos/new_red.jpg").write_bytes(jpeg_bytes(*OSLO, color=(225, 45, 35)))
    (photos / "private/new_secret.jpg").write_bytes(jpeg_bytes(*OSLO, color=(20, 20, 230)))
    lib.index(str(photos)).wait(timeout=120)
    mgr.wait_idle()
    dispatched = [j for j in lib.jobs.list() if j["name"] == f"{EXT}.analyze_photos"
                  and j["trigger"] == "on_event"]
    assert len(dispatched) == 1
    assert lib.jobs.get(dispatched[0]["id"]).wait(timeout=120)["analyzed"] == 1
    people = section_rows(lib, pkg, "people")
    assert [r["data"]["photo_count"] for r in people] == [3, 1, 1]
    trail = (lib.path / "logs/extensions" / f"{EXT}.jsonl").read_text()
    assert "Decision: dispatched analyze_photos" in trail and "new_secret" not in trail
    mgr.close()


def test_photos_refuses_a_grant_it_did_not_request(lib):
    from core.access.permissions import PermissionDenied
    with pytest.raises(PermissionDenied, match="WriteCustomFields.*did not request"):
        lib.extensions.install(PKG, [Permission.WriteCustomFields(namespaces=["x"])])


def test_captions_use_the_prompt_template_and_a_granted_local_llm(lib, photos):
    from core.ai import ModelSource
    from tests.test_ai_models import _Server
    prompts_seen = []

    def generate(body):
        prompts_seen.append(body["prompt"])
        scene = body["prompt"].split("Scene: ", 1)[1].split(".", 1)[0]
        return 200, json.dumps({"model": body["model"], "response": f" A {scene} photo. ",
                                "done": True}).encode()
    server = _Server({("POST", "/api/generate"): generate})
    try:
        lib.index(lib.add_location(photos / "photos")).wait(timeout=120)
        mgr = lib.extensions
        ctx = mgr.install(PKG, [Permission.ReadEntries(glob="**/*.{jpg,jpeg,png,heic}"),
                                Permission.UseModel(category="face_detection"),
                                Permission.UseModel(category="llm"), Permission.WriteTags],
                          config={"captions": True, "auto_analyze": False})
        ctx.models().register("captioner", "llm", ModelSource.ollama("tiny-llm", server.url))
        mgr.run_job(EXT, "analyze_photos").wait(timeout=120)
        captions = sorted(json.loads(r["data"])["caption"] for r in lib.query("models PhotoAnalysis").rows())
        assert captions == ["A forest photo.", "A sea photo.", "A sunset photo.", "A sunset photo.",
                            "A sunset photo."]     # gray.jpg is "sunset" too: its channels tie
        assert any("Taken in Oslo. On 2024-05-01." in p for p in prompts_seen)
        mgr.close()
    finally:
        server.close()


def test_an_action_outside_the_grants_is_refused_at_preview(lib, photos):
    from core.access.permissions import PermissionDenied
    lib.index(lib.add_location(photos)).wait(timeout=120)
    mgr = lib.extensions
    mgr.install(PKG, [Permission.ReadEntries(glob="**/*.{jpg,jpeg,png,heic}"),
                      Permission.UseModel(category="face_detection"), Permission.WriteTags],
                config={"auto_analyze": False})
    mgr.run_job(EXT, "analyze_photos").wait(timeout=120)
    mgr.install(PKG, [Permission.ReadEntries(glob="**/*.{jpg,jpeg,png,heic}")])   # re-grant: no tags
    from extensions.photos.actions import create_album
    with pytest.raises(PermissionDenied, match="WriteTags was not granted"):
        mgr.preview_action(EXT, create_album, place="Oslo")
    assert lib.query("models Album").rows() == []
    mgr.close()


def test_a_queued_analysis_resumes_in_a_fresh_process(lib, photos):
    import subprocess
    import sys
    lib.index(lib.add_location(photos / "photos")).wait(timeout=120)
    mgr = lib.extensions
    mgr.install(PKG, [Permission.ReadEntries(glob="**/*.{jpg,jpeg,png,heic}"),
                      Permission.UseModel(category="face_detection"), Permission.WriteTags],
                config={"auto_analyze": False, "face_model": STANDIN})
    job = lib.jobs.submit(f"{EXT}.analyze_photos", {}, extension_id=EXT, start=False)
    mgr.close()
    lib.close()
    script = ("import json, sys, core\n"
              "lib = core.Library.open(sys.argv[1])\n"
              "jobs = lib.jobs.resume_pending()\n"
              "print(json.dumps([j.wait(timeout=120) for j in jobs]))\n"
              "lib.close()\n")
    out = subprocess.run([sys.executable, "-c", script, str(lib.path)], capture_output=True,
                         text=True, timeout=180, cwd=str(PKG.parent.parent))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [
        {"photos": 5, "analyzed": 5, "people": 3, "places": 3}]
    reopened = type(lib).open(lib.path)
    try:
        assert len(reopened.query("models PhotoAnalysis").rows()) == 5
        assert reopened.jobs.get(job.id).status == "completed"
    finally:
        reopened.close()

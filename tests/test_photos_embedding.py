"""Photos embeds each face with dlib's ResNet face descriptor (128-d), on real portraits shipped by
packages: the astronaut (Eileen Collins, scikit-image) and Grace Hopper (matplotlib). Each is
written as several real variants (rescaled, padded, brighter, JPEG re-encoded, mirrored) into a
library folder; the Photos job runs on them as a user would, and then faces of one person are
closer than dlib's 0.6 and faces of the two are farther, People holds exactly the two of them,
and the most similar faces to the astronaut are the astronaut's."""
from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

import core
from core.agents import AssociativeMemory, agent_memory, sync
from core.agents.memory import close_memory, open_memory
from core.domain.models import state_of
from core.extensions import Permission
from extensions.photos.embedding import (SAME_PERSON_COSINE, SAME_PERSON_DISTANCE, load,
                                         models_folder)
from extensions.photos.faces import haar_available
from tests.test_photos_detector import EXT, PKG

skdata = pytest.importorskip("skimage.data", reason="the astronaut ships with scikit-image")
matplotlib = pytest.importorskip("matplotlib", reason="Grace Hopper's portrait ships with matplotlib")
pytest.importorskip("dlib", reason="the face descriptor is dlib's (dlib-bin, photos extra)")
pytestmark = pytest.mark.skipif(not haar_available(),
                                reason="the Haar cascade ships with opencv-python 4 (photos extra)")


def grace_hopper() -> np.ndarray:
    path = os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg")
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _encode(arr: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, fmt, **kw)
    return buf.getvalue()


def variants(arr: np.ndarray) -> dict[str, bytes]:
    """The photo and five real edits of it, each as the bytes of an image file."""
    h, w = arr.shape[:2]
    small = np.asarray(Image.fromarray(arr).resize((int(w * 0.7), int(h * 0.7)), Image.BILINEAR))
    padded = np.pad(arr[h // 8:, w // 8:], ((40, 40), (60, 60), (0, 0)), constant_values=90)
    brighter = np.clip(arr.astype(np.int16) * 13 // 10 + 20, 0, 255).astype(np.uint8)
    return {"orig.png": _encode(arr, "PNG"), "small.png": _encode(small, "PNG"),
            "padded.png": _encode(padded, "PNG"), "bright.png": _encode(brighter, "PNG"),
            "q40.jpg": _encode(arr, "JPEG", quality=40),
            "mirror.jpg": _encode(np.ascontiguousarray(arr[:, ::-1]), "JPEG", quality=90)}


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """One library holding both people's variants, analysed once by the Photos job:
    (library, extension context, job result, {file name: PhotoAnalysis})."""
    root = tmp_path_factory.mktemp("faces") / "pics"
    root.mkdir()
    for person, arr in (("astronaut", skdata.astronaut()), ("hopper", grace_hopper())):
        for name, data in variants(arr).items():
            (root / f"{person}_{name}").write_bytes(data)
    lib = core.Library.create(root.parent / "test.vdfs")
    mgr = lib.extensions
    try:
        lib.index(lib.add_location(root)).wait(timeout=120)
        ctx = mgr.install(PKG, [Permission.ReadEntries(glob="**/*.{jpg,jpeg,png,heic}"),
                                Permission.WriteTags, Permission.DispatchJobs,
                                Permission.UseModel(category="face_detection")],
                          config={"auto_analyze": False})
        result = mgr.run_job(EXT, "analyze_photos").wait(timeout=300)
        from extensions.photos.models import PhotoAnalysis
        by_name = {row["name"]: ctx.vdfs().get_model_by_content(PhotoAnalysis, row["content_uuid"])
                   for row in lib.query("entries where kind = image select name, content_uuid").rows()}
        yield lib, ctx, result, by_name
    finally:
        mgr.close()
        lib.close()


def _embedding(pa) -> np.ndarray:
    assert pa.face_count == 1, pa.detected_faces
    return np.asarray(pa.detected_faces[0]["embedding"], dtype=np.float32)


def test_each_variant_has_one_face_with_a_128_d_descriptor(analysed):
    _, _, result, by_name = analysed
    assert result["analyzed"] == 12 and len(by_name) == 12
    for name, pa in by_name.items():
        assert _embedding(pa).shape == (128,), name


def test_one_persons_faces_are_closer_than_dlibs_threshold_and_two_people_farther(analysed):
    _, _, _, by_name = analysed
    emb = {n: _embedding(pa) for n, pa in by_name.items()}
    same, cross = [], []
    for a in sorted(emb):
        for b in sorted(emb):
            if a < b:
                d = float(np.linalg.norm(emb[a] - emb[b]))
                (same if a.split("_")[0] == b.split("_")[0] else cross).append(d)
    assert len(same) == 30 and len(cross) == 36 and SAME_PERSON_DISTANCE == 0.6   # dlib's own
    assert max(same) < SAME_PERSON_DISTANCE < min(cross), (max(same), min(cross))


def test_people_are_exactly_the_astronaut_and_grace_hopper(analysed):
    _, ctx, result, by_name = analysed
    from extensions.photos.models import Person
    assert result["people"] == 2
    people = ctx.vdfs().query_models(Person).collect()
    name_of = {str(state_of(pa).target): name for name, pa in by_name.items()}
    groups = sorted(sorted(name_of[c] for c in p.content_ids) for p in people)
    assert groups == [sorted(n for n in by_name if n.startswith("astronaut_")),
                      sorted(n for n in by_name if n.startswith("hopper_"))]


@agent_memory
class FacesMind:
    faces: AssociativeMemory = sync("shared")


def test_the_faces_most_similar_to_the_astronaut_are_hers(analysed, tmp_path):
    _, ctx, _, by_name = analysed
    mind = open_memory(FacesMind, tmp_path / "m.db", "d")
    try:
        for name, pa in by_name.items():
            mind.faces.add(name, _embedding(pa))
        hits = mind.faces.query_similar_faces(by_name["astronaut_orig.png"], k=12)
        assert [k.split("_")[0] for k, _, _ in hits] == ["astronaut"] * 6 + ["hopper"] * 6
        hers = mind.faces.query_similar_faces(by_name["astronaut_orig.png"], k=12,
                                              min_score=SAME_PERSON_COSINE)   # dlib's 0.6, by angle
        assert sorted(k for k, _, _ in hers) == sorted(n for n in by_name if n.startswith("astro"))
    finally:
        close_memory(mind)
    # the job's own memory: one vector per person, and the astronaut's face finds her first
    from extensions.photos.models import Person
    people = {p.key: p for p in ctx.vdfs().query_models(Person).collect()}
    for name in ("astronaut_mirror.jpg", "hopper_q40.jpg"):
        known = ctx.memory().faces.query_similar_faces(by_name[name], k=2)
        assert len(known) == 2 and known[0][1] > known[1][1]
        assert by_name[name].identified_people == [str(state_of(people[known[0][0]]).uuid)]


def test_without_the_weights_there_is_no_embedder_and_the_job_falls_back(tmp_path):
    """The fallback's trigger: a folder without dlib's weights loads nothing (the job then
    embeds with the stand-in and says so); the installed package's folder loads both."""
    assert load(tmp_path) is None and load(None) is None
    assert models_folder() is not None and load(models_folder()) is not None


FALLBACK_RUN = """
import json, sys
sys.modules["dlib"] = None        # as if dlib-bin were not installed: `import dlib` fails
import core
from core.extensions import Permission
lib = core.Library.create(sys.argv[1])
lib.index(lib.add_location(sys.argv[2])).wait(timeout=120)
mgr = lib.extensions
ctx = mgr.install(sys.argv[3], [Permission.ReadEntries(glob="**/*.{jpg,jpeg,png,heic}"),
                                Permission.WriteTags,
                                Permission.UseModel(category="face_detection")],
                  config={"auto_analyze": False})
result = mgr.run_job("com.vdfs.photos", "analyze_photos").wait(timeout=120)
from extensions.photos.models import PhotoAnalysis
rows = lib.query("entries where kind = image select content_uuid").rows()
print(json.dumps([len(f["embedding"]) for r in rows for f in
                  ctx.vdfs().get_model_by_content(PhotoAnalysis, r["content_uuid"]).detected_faces]))
mgr.close()
lib.close()
"""


def test_without_dlib_the_job_embeds_with_the_stand_in_and_its_trail_says_so(tmp_path):
    import subprocess
    import sys
    root = tmp_path / "pics"
    root.mkdir()
    (root / "astronaut.png").write_bytes(variants(skdata.astronaut())["orig.png"])
    out = subprocess.run([sys.executable, "-c", FALLBACK_RUN, str(tmp_path / "t.vdfs"), str(root),
                          str(PKG)], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "[8]"      # one face, the stand-in's 8 numbers
    trail = (tmp_path / "t.vdfs" / "logs/extensions" / f"{EXT}.jsonl").read_text()
    assert "no dlib face model installed" in trail


def test_changing_the_face_model_starts_people_anew_instead_of_failing(lib, tmp_path):
    """Faces of the stand-in (8 numbers) and of dlib (128) cannot be compared: after the setting
    changes, the memory forgets the other model's faces and new people are founded; the old
    Person stays."""
    root = tmp_path / "pics"
    root.mkdir()
    Image.new("RGB", (64, 64), (220, 40, 40)).save(root / "red.png")   # the stand-in's "face"
    lib.index(lib.add_location(root)).wait(timeout=120)
    grants = [Permission.ReadEntries(glob="**/*.{jpg,jpeg,png,heic}"), Permission.WriteTags,
              Permission.UseModel(category="face_detection")]
    mgr = lib.extensions
    try:
        mgr.install(PKG, grants, config={"auto_analyze": False, "face_model": "standin"})
        assert mgr.run_job(EXT, "analyze_photos").wait(timeout=120)["people"] == 1
        (root / "astronaut.png").write_bytes(variants(skdata.astronaut())["orig.png"])
        (root / "mirror.jpg").write_bytes(variants(skdata.astronaut())["mirror.jpg"])
        lib.index(str(root)).wait(timeout=120)
        ctx = mgr.install(PKG, grants, config={"auto_analyze": False, "face_model": "opencv:haar"})
        result = mgr.run_job(EXT, "analyze_photos").wait(timeout=120)
        assert (result["analyzed"], result["people"]) == (2, 2)
        from extensions.photos.models import Person
        counts = sorted((p.key, p.photo_count) for p in ctx.vdfs().query_models(Person).collect())
        assert counts == [("person-1", 1), ("person-2", 2)]          # her two photos: one person
        assert len(ctx.memory().faces) == 1                          # only dlib's faces now
        trail = (lib.path / "logs/extensions" / f"{EXT}.jsonl").read_text()
        assert "another face model" in trail
    finally:
        mgr.close()


def test_the_hnsw_graph_takes_dlibs_128_numbers(analysed):
    """Large memories search through usearch's HNSW graph (the vectors extra): forced on for
    these 12 faces, it answers the astronaut's six nearest as the exact scan does."""
    from core.agents import ann
    from core.agents.vector_index import VectorIndex
    if not ann.available():
        pytest.skip("usearch (the vectors extra) is not installed")
    _, _, _, by_name = analysed
    names = sorted(by_name)
    index = VectorIndex(128, ann_min=1, warmup=0)
    index.bulk(names, np.stack([_embedding(by_name[n]) for n in names]), [None] * len(names))
    hits = index.search(_embedding(by_name["astronaut_small.png"]), 6)
    assert index.graph_searches == 1
    assert sorted(k for k, _, _ in hits) == [n for n in names if n.startswith("astronaut_")]

"""Photos with a face detector chosen in its settings: a registered YuNet-layout ONNX graph
(decoded as OpenCV's FaceDetectorYN does) finds the faces of real JPEGs; each face is stored
with its box, landmarks and an embedding (dlib's descriptor when installed), and faces group
into People."""
from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from core.ai import ModelRegistry, ModelSource
from core.extensions import Permission
from core.extensions.manager import ExtensionManager
from extensions.photos.embedding import dlib_available
from tests.test_ai_helpers import yunet_like_onnx

PKG = Path(__file__).resolve().parent.parent / "extensions" / "photos"
EXT = "com.vdfs.photos"


def _jpeg(faces: list[tuple[int, int]], size=(320, 224)) -> bytes:
    """A dark photo with a blue 32-px square (a "face" to the test detector) at each (x, y)."""
    im = Image.new("RGB", size, (20, 20, 20))
    for x, y in faces:
        im.paste((0, 0, 255), (x, y, x + 32, y + 32))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=95)
    return buf.getvalue()


def test_a_registered_detector_finds_the_faces_photos_stores(lib, tmp_path):
    root = tmp_path / "pics"
    root.mkdir()
    (root / "two.jpg").write_bytes(_jpeg([(64, 32), (192, 128)]))
    (root / "one.jpg").write_bytes(_jpeg([(64, 32)]))
    (root / "none.jpg").write_bytes(_jpeg([]))
    lib.index(lib.add_location(root)).wait(timeout=120)
    ModelRegistry().register("yunet", "face_detection", ModelSource.bundled(yunet_like_onnx()))
    mgr = lib.extensions
    try:
        ctx = mgr.install(PKG, [Permission.ReadEntries(glob="**/*.{jpg,jpeg,png,heic}"),
                                Permission.WriteTags, Permission.DispatchJobs,
                                Permission.UseModel(category="face_detection")],
                          config={"auto_analyze": False, "face_model": "face_detection:yunet"})
        result = mgr.run_job(EXT, "analyze_photos").wait(timeout=120)
        assert result["analyzed"] == 3
        from extensions.photos.models import PhotoAnalysis
        by_name = {}
        for row in lib.query("entries where name ~ '*.jpg' select name, content_uuid").rows():
            pa = ctx.vdfs().get_model_by_content(PhotoAnalysis, row["content_uuid"])
            by_name[row["name"]] = pa
        assert {n: pa.face_count for n, pa in by_name.items()} == {"two.jpg": 2, "one.jpg": 1,
                                                                   "none.jpg": 0}
        boxes = sorted(tuple(f["box"]) for f in by_name["two.jpg"].detected_faces)
        assert boxes == [(64.0, 32.0, 32.0, 32.0), (192.0, 128.0, 32.0, 32.0)]
        face = by_name["one.jpg"].detected_faces[0]
        assert face["score"] > 0.9 and face["landmarks"] == [[64.0, 32.0]] * 5
        assert len(face["embedding"]) == (128 if dlib_available() else 8)   # dlib, else stand-in
        assert result["people"] == 1          # every face is the same blue square: one person
    finally:
        mgr.close()

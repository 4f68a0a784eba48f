"""Photos' default face detector on real photographs shipped inside the scikit-image wheel:
the astronaut portrait (Eileen Collins) has one face, where her face is; the coffee cup and a
smooth gradient have none. The detector is OpenCV's Haar cascade from the opencv-python wheel."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from core.extensions import Permission
from extensions.photos.faces import HAAR, detect_faces_haar, haar_available
from tests.test_photos_detector import EXT, PKG

skdata = pytest.importorskip("skimage.data", reason="the test photos ship with scikit-image")
pytestmark = pytest.mark.skipif(not haar_available(),
                                reason="the Haar cascade ships with opencv-python 4 (photos extra)")

ASTRONAUT_FACE = (165, 45, 285, 185)      # x1, y1, x2, y2 of her face in the 512×512 photo


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def _gradient() -> np.ndarray:
    x = np.linspace(0, 255, 320, dtype=np.float32)
    return np.stack([np.add.outer(x[:240] * 0.5, x * 0.5)] * 3, axis=-1).astype(np.uint8)


def _covers_face(box: list[float] | tuple[float, ...]) -> bool:
    x, y, w, h = box
    fx1, fy1, fx2, fy2 = ASTRONAUT_FACE
    cx, cy = x + w / 2, y + h / 2
    return fx1 <= x and fy1 <= y and x + w <= fx2 and y + h <= fy2 and \
        abs(cx - (fx1 + fx2) / 2) < 30 and abs(cy - (fy1 + fy2) / 2) < 30 and w >= 60


def test_the_cascade_finds_the_astronauts_face_and_nothing_in_a_cup_or_a_gradient():
    faces = detect_faces_haar(_png(skdata.astronaut()))
    assert len(faces) == 1 and _covers_face(faces[0].box) and faces[0].score > 0.5
    assert detect_faces_haar(_png(skdata.coffee())) == []
    assert detect_faces_haar(_png(_gradient())) == []


def test_photos_uses_the_cascade_by_default(lib, tmp_path):
    root = tmp_path / "pics"
    root.mkdir()
    (root / "astronaut.png").write_bytes(_png(skdata.astronaut()))
    (root / "coffee.png").write_bytes(_png(skdata.coffee()))
    lib.index(lib.add_location(root)).wait(timeout=120)
    grants = [Permission.ReadEntries(glob="**/*.{jpg,jpeg,png,heic}"), Permission.WriteTags,
              Permission.DispatchJobs, Permission.UseModel(category="face_detection")]
    from extensions.photos.models import PhotoAnalysis
    mgr = lib.extensions
    try:
        ctx = mgr.install(PKG, grants, config={"auto_analyze": False})
        assert ctx.config.face_model == HAAR
        assert mgr.run_job(EXT, "analyze_photos").wait(timeout=120)["analyzed"] == 2
        got = {}
        for row in lib.query("entries where ext = png select name, content_uuid").rows():
            got[row["name"]] = ctx.vdfs().get_model_by_content(PhotoAnalysis, row["content_uuid"])
        assert got["coffee.png"].face_count == 0
        assert got["astronaut.png"].face_count == 1
        assert _covers_face(got["astronaut.png"].detected_faces[0]["box"])
    finally:
        mgr.close()

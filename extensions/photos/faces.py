"""Photos' default face detector: OpenCV's Haar cascade (Viola-Jones, frontal faces), whose
trained XML ships inside the `opencv-python` 4.x wheel (`cv2.data`), so it runs offline and
nothing is downloaded.

Which detector a run uses is the `face_model` setting:

- `opencv:haar` (default): this module, when cv2 and its cascade file are installed (the `photos`
  extra); otherwise the run falls back to the stand-in and says so in its trail;
- `standin`: no detector — the bundled colour model's "face" score alone (a named fallback that
  finds no real faces);
- `face_detection:<name>`: a registered ONNX detector (YuNet, or one with boxes/scores outputs).

A cascade has no calibrated probability: a face's `score` is the logistic of the last stage's
margin (`levelWeights`), above 0.5 exactly when the cascade accepts the window. It gives no
landmarks.
"""
from __future__ import annotations

import io
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from core.ai import FaceDetection

HAAR = "opencv:haar"
STANDIN = "standin"
CASCADE = "haarcascade_frontalface_default.xml"
MIN_FACE_FRACTION = 0.06      # faces smaller than 6% of the short side are mostly false hits


@lru_cache(maxsize=1)
def _cascade() -> Any | None:
    """The loaded cascade, or None when cv2 (or its bundled XML) is not installed."""
    try:
        import cv2
    except ImportError:
        return None
    path = Path(getattr(getattr(cv2, "data", None), "haarcascades", "") or "") / CASCADE
    if not path.is_file() or not hasattr(cv2, "CascadeClassifier"):
        return None
    clf = cv2.CascadeClassifier(str(path))
    return None if clf.empty() else clf


def haar_available() -> bool:
    return _cascade() is not None


def detect_faces_haar(image_bytes: bytes, *, min_score: float = 0.5) -> list[FaceDetection]:
    """Frontal faces in an image, boxes in its pixels; [] when no cascade is installed."""
    clf = _cascade()
    if clf is None:
        return []
    import cv2
    with Image.open(io.BytesIO(image_bytes)) as im:
        gray = np.asarray(im.convert("L"), dtype=np.uint8)
    side = max(24, int(min(gray.shape) * MIN_FACE_FRACTION))
    boxes, _, weights = clf.detectMultiScale3(cv2.equalizeHist(gray), scaleFactor=1.1,
                                              minNeighbors=5, minSize=(side, side),
                                              outputRejectLevels=True)
    out = []
    for (x, y, w, h), margin in zip(boxes, np.ravel(weights)):
        score = 1.0 / (1.0 + math.exp(-float(margin)))
        if score >= min_score:
            out.append(FaceDetection(float(x), float(y), float(w), float(h), score))
    return sorted(out, key=lambda d: -d.score)

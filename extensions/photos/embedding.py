"""Photos' face embedding: dlib's ResNet face descriptor (`dlib_face_recognition_resnet_model_v1`,
128 numbers per face), whose trained weights ship inside the `face_recognition_models` package
and run on dlib from the `dlib-bin` wheel (a prebuilt dlib: no compiler), so it runs offline
and nothing is downloaded.

A face box from any detector is aligned by dlib's 5-point shape predictor (eyes' corners and
nose, found inside the box) and the aligned 150×150 chip is embedded. dlib's descriptors are
not unit length (about 1.4): two faces are one person when their Euclidean distance is below
0.6 (dlib's threshold, 99.38% on Labeled Faces in the Wild).

When dlib or the weights are not installed, `face_embedder` answers None and the job embeds
each face with the bundled stand-in colour model, saying so in its trail.
"""
from __future__ import annotations

import importlib.util
import io
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image

MODEL = "dlib_face_recognition_resnet_model_v1.dat"
LANDMARKS = "shape_predictor_5_face_landmarks.dat"
SAME_PERSON_DISTANCE = 0.6     # dlib's threshold on the Euclidean distance of two descriptors
# The same threshold as a cosine, for searches by angle (the agent memory's): descriptors of
# length r at distance d have cosine 1 − d²/2r²; with r ≈ 1.43 (measured on the test portraits:
# 1.37–1.46) dlib's 0.6 is a cosine of about 0.91.
SAME_PERSON_COSINE = 0.91
DIM = 128

_lock = threading.Lock()       # one dlib network, shared by the job's parallel tasks


def models_folder() -> Path | None:
    """Where `face_recognition_models` keeps its weights, found without importing it (its
    `__init__` imports pkg_resources, which recent setuptools no longer has)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def load(folder: Path | None) -> tuple[Any, Any] | None:
    """(shape predictor, face descriptor network) from `folder`, or None when dlib or either
    weights file is missing."""
    try:
        import dlib
    except ImportError:
        return None
    if folder is None or not (folder / MODEL).is_file() or not (folder / LANDMARKS).is_file():
        return None
    return (dlib.shape_predictor(str(folder / LANDMARKS)),
            dlib.face_recognition_model_v1(str(folder / MODEL)))


@lru_cache(maxsize=1)
def _models() -> tuple[Any, Any] | None:
    return load(models_folder())


def dlib_available() -> bool:
    return _models() is not None


def face_embedder(image_bytes: bytes) -> Callable[[tuple[float, ...]], np.ndarray] | None:
    """`embed(box)` for the faces of one image: box (x, y, w, h) in its pixels → the 128-d
    float32 descriptor. None when dlib or its weights are not installed."""
    models = _models()
    if models is None:
        return None
    import dlib
    predictor, network = models
    with Image.open(io.BytesIO(image_bytes)) as im:
        rgb = np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))

    def embed(box: tuple[float, ...]) -> np.ndarray:
        x, y, w, h = box
        rect = dlib.rectangle(int(round(x)), int(round(y)), int(round(x + w)) - 1,
                              int(round(y + h)) - 1)
        with _lock:
            shape = predictor(rgb, rect)
            return np.asarray(network.compute_face_descriptor(rgb, shape), dtype=np.float32)
    return embed


def same_person(a: Any, b: Any) -> bool:
    """Two dlib descriptors of one person (Euclidean distance below dlib's 0.6)."""
    va, vb = np.asarray(a, np.float32).ravel(), np.asarray(b, np.float32).ravel()
    return va.shape == vb.shape and float(np.linalg.norm(va - vb)) < SAME_PERSON_DISTANCE

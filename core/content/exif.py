"""EXIF of images through Pillow: camera, capture time, GPS in decimal degrees, dimensions."""
from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from PIL import Image, UnidentifiedImageError

EXIF_IFD, GPS_IFD = 0x8769, 0x8825
MAKE, MODEL, ORIENTATION, DATETIME = 0x010F, 0x0110, 0x0112, 0x0132
DATETIME_ORIGINAL = 0x9003


def _dms(value: Any, ref: Any) -> float | None:
    try:
        d, m, s = (float(x) for x in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    deg = d + m / 60 + s / 3600
    return round(-deg if str(ref).upper() in ("S", "W") else deg, 7)


def _time(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text.strip("\0 "), "%Y:%m:%d %H:%M:%S").isoformat()
    except ValueError:
        return None


def read_exif(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The EXIF fields vdfs indexes, or None when the file is not an image Pillow can open.
    Missing fields are absent (not None), so the stored JSON stays small."""
    try:
        with Image.open(path) as im:
            exif = im.getexif()
            out: dict[str, Any] = {"width": im.width, "height": im.height, "format": im.format}
    except (UnidentifiedImageError, OSError):
        return None
    sub = exif.get_ifd(EXIF_IFD)
    gps = exif.get_ifd(GPS_IFD)
    for key, tag in (("camera_make", MAKE), ("camera_model", MODEL)):
        if isinstance(exif.get(tag), str) and exif[tag].strip("\0 "):
            out[key] = exif[tag].strip("\0 ")
    if exif.get(ORIENTATION):
        out["orientation"] = int(exif[ORIENTATION])
    taken = _time(sub.get(DATETIME_ORIGINAL)) or _time(exif.get(DATETIME))
    if taken:
        out["taken_at"] = taken
    if gps:
        lat, lon = _dms(gps.get(2), gps.get(1)), _dms(gps.get(4), gps.get(3))
        if lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180:
            out["gps"] = {"lat": lat, "lon": lon}
    return out

"""Core's generic extraction (SPEC "Core provides"): EXIF, thumbnails and optional OCR for the
images of a location, run as the durable job `core.extract`.

Results, per content identity (so copies share them):
- sidecars `exif.json`, `thumb.webp`, `ocr.json` under `<library>/sidecars/…`;
- the content's user metadata `custom_data["exif"]` / `["ocr"]`;
- a content-scoped core model `ImageInfo` (camera, time, GPS, size, text), which makes the
  values queryable: `lib.query("models ImageInfo where lat > 59")`.
Content that already has an `exif` sidecar is skipped, so a re-run (or a resumed crash) does
only what is missing.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.jobs import register_job
from core.domain.models import model
from core.store.paths import disk_path
from core.domain.sidecars import Sidecars
from core.content.exif import read_exif
from core.content.ocr import OcrUnavailable, ocr_available, ocr_image
from core.content.thumbnails import make_thumbnail
from core.domain.locations import get_location

if TYPE_CHECKING:  # pragma: no cover
    from core.domain.locations import Location
    from core.jobs.context import JobContext
    from core.jobs.handle import Job
    from core.library import Library

JOB_NAME = "core.extract"
BATCH = 200


@model(version="1.0.0", scope="content", name="ImageInfo")
@dataclass
class ImageInfo:
    """What core knows about an image's content, queryable through `models ImageInfo`."""
    width: int = 0
    height: int = 0
    camera_make: str | None = None
    camera_model: str | None = None
    taken_at: str | None = None
    lat: float | None = None
    lon: float | None = None
    text: str | None = None


def _images(lib: Library, location_id: int, after: int) -> list[tuple[int, str, bytes]]:
    return lib.conn.execute(
        "SELECT e.id, e.path, c.uuid FROM entries e JOIN content_identities c ON c.id = e.content_id "
        "WHERE e.location_id = ? AND e.kind = 'image' AND e.id > ? ORDER BY e.id LIMIT ?",
        (location_id, after, BATCH)).fetchall()


def extract_content(lib: Library, path: str, content_uuid: uuid.UUID, *, ocr: bool = False,
                    thumbnails: bool = True) -> dict[str, Any] | None:
    """Extract one image's EXIF (and thumbnail, OCR) and store it everywhere it belongs."""
    exif = read_exif(path)
    if exif is None:
        return None
    side = Sidecars(lib.path)
    if thumbnails:
        thumb = make_thumbnail(path)
        if thumb:
            side.write_bytes(content_uuid, "thumb", "webp", thumb)
    text = None
    if ocr:
        lines = ocr_image(path)
        side.write_json(content_uuid, "ocr", lines)
        text = "\n".join(l["text"] for l in lines)
    api = lib.vdfs()
    with api.batch():
        meta = api.get_metadata(content_uuid, scope="content")
        data = dict(meta.custom_data) if meta else {}
        data["exif"] = exif
        if text is not None:
            data["ocr"] = {"text": text}
        api.set_custom_data(content_uuid, data, scope="content", actor="core")
        gps = exif.get("gps") or {}
        info = api.get_model_by_content(ImageInfo, content_uuid)
        fields = dict(width=exif["width"], height=exif["height"], camera_make=exif.get("camera_make"),
                      camera_model=exif.get("camera_model"), taken_at=exif.get("taken_at"),
                      lat=gps.get("lat"), lon=gps.get("lon"))
        if info is None:
            api.create_model_for_content(content_uuid, ImageInfo(text=text, **fields), actor="core")
        else:
            for k, v in fields.items():
                setattr(info, k, v)
            if text is not None:
                info.text = text
            api.update_model(info, actor="core")
    side.write_json(content_uuid, "exif", exif)   # last: its presence means "done"
    return exif


def run_extract(ctx: JobContext, location: int | str, ocr: bool = False, thumbnails: bool = True
                ) -> dict:
    lib = ctx.lib
    if ocr and not ocr_available():
        raise OcrUnavailable("OCR was asked for but the optional extra is missing: "
                             "pip install 'vdfs[ocr]' (rapidocr-onnxruntime)")
    loc = get_location(lib, location)
    total = lib.conn.execute("SELECT count(*) FROM entries WHERE location_id = ? AND kind = 'image'",
                             (loc.id,)).fetchone()[0]
    state = ctx.state or {"after": 0, "done": 0, "extracted": 0, "skipped": 0}
    side = Sidecars(lib.path)
    while True:
        rows = _images(lib, loc.id, state["after"])
        if not rows:
            break
        for eid, path, cu_bytes in rows:
            cu = uuid.UUID(bytes=cu_bytes)
            if side.path(cu, "exif", "json").exists():
                state["skipped"] += 1
            elif extract_content(lib, disk_path(path), cu, ocr=ocr,
                                 thumbnails=thumbnails) is None:
                state["skipped"] += 1
            else:
                state["extracted"] += 1
            state["done"] += 1
            state["after"] = eid
            ctx.progress(state["done"], total, phase="extract")
        ctx.checkpoint(state)
    return {"location": loc.path, "images": total, "extracted": state["extracted"],
            "skipped": state["skipped"]}


register_job(JOB_NAME, run_extract)


def extract_media(lib: Library, location: Location | int | str | uuid.UUID, *, ocr: bool = False,
                  thumbnails: bool = True) -> Job:
    """Start `core.extract` over a location's images; returns the Job (`.wait()` for the result)."""
    loc_key = getattr(location, "id", location)
    if not isinstance(loc_key, (int, str)):
        loc_key = str(loc_key)
    return lib.jobs.submit(JOB_NAME, {"location": loc_key, "ocr": ocr, "thumbnails": thumbnails})


__all__ = ["ImageInfo", "JOB_NAME", "OcrUnavailable", "extract_content", "extract_media",
           "ocr_available", "ocr_image", "read_exif", "make_thumbnail"]

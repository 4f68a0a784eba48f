"""Core extraction: EXIF, thumbnails and OCR from real images, stored as sidecars, user
metadata and a queryable ImageInfo model."""
from __future__ import annotations

import io
import uuid

import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image, ImageDraw, ImageFont

from core.extraction import ImageInfo, extract_media, ocr_available, read_exif
from core.content.ocr import ocr_image
from core.domain.sidecars import Sidecars


def dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    d = int(value)
    m = int((value - d) * 60)
    return float(d), float(m), round((value - d - m / 60) * 3600, 4)


def jpeg_bytes(lat=None, lon=None, make="Canon", model="EOS R5", taken="2024:05:01 10:20:30",
               size=(96, 64), color=(200, 30, 30)) -> bytes:
    """A real JPEG with EXIF camera, capture time and (optionally) GPS, written by Pillow."""
    exif = Image.Exif()
    if make:
        exif[0x010F] = make
        exif[0x0110] = model
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    if lat is not None:
        gps = exif.get_ifd(0x8825)
        gps[1], gps[2] = ("N" if lat >= 0 else "S"), dms(lat)
        gps[3], gps[4] = ("E" if lon >= 0 else "W"), dms(lon)
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", exif=exif)
    return buf.getvalue()


@settings(max_examples=30, deadline=None)
@given(st.floats(-89.9, 89.9), st.floats(-179.9, 179.9))
def test_gps_round_trips_through_real_exif(tmp_path_factory, lat, lon):
    path = tmp_path_factory.mktemp("gps") / "p.jpg"
    path.write_bytes(jpeg_bytes(lat, lon))
    got = read_exif(path)["gps"]
    assert got["lat"] == pytest.approx(lat, abs=1e-4) and got["lon"] == pytest.approx(lon, abs=1e-4)


def test_non_images_and_images_without_exif(tmp_path):
    (tmp_path / "fake.jpg").write_bytes(b"not really a jpeg")
    assert read_exif(tmp_path / "fake.jpg") is None
    Image.new("RGB", (5, 7)).save(tmp_path / "plain.png")
    assert read_exif(tmp_path / "plain.png") == {"width": 5, "height": 7, "format": "PNG"}


def test_extract_job_stores_sidecars_metadata_and_queryable_models(lib, tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    (root / "oslo.jpg").write_bytes(jpeg_bytes(59.9139, 10.7522, color=(1, 2, 3)))
    (root / "rio.jpg").write_bytes(jpeg_bytes(-22.9068, -43.1729, make="Nikon", model="Z6",
                                              color=(4, 5, 6)))
    Image.new("RGB", (40, 30), (9, 9, 9)).save(root / "plain.png")
    (root / "broken.jpg").write_bytes(b"truncated")
    lib.index(lib.add_location(root)).wait(timeout=60)
    result = extract_media(lib, str(root)).wait(timeout=60)
    assert result == {"location": str(root), "images": 4, "extracted": 3, "skipped": 1}

    rows = {r["path"].rsplit("/", 1)[1]: r["content_uuid"] for r in lib.query("entries").rows()
            if r["kind"] == "image"}
    oslo = uuid.UUID(str(rows["oslo.jpg"]))
    side = Sidecars(lib.path)
    assert side.read_json(oslo, "exif")["camera_make"] == "Canon"
    thumb = Image.open(side.path(oslo, "thumb", "webp"))
    assert thumb.format == "WEBP" and max(thumb.size) <= 256
    meta = lib.vdfs().get_metadata(oslo, scope="content")
    assert meta.custom_data["exif"]["gps"] == {"lat": pytest.approx(59.9139, abs=1e-4),
                                               "lon": pytest.approx(10.7522, abs=1e-4)}
    south = lib.query("models ImageInfo where lat < 0").rows()
    assert len(south) == 1 and str(south[0]["content_uuid"]) == str(rows["rio.jpg"])
    info = lib.vdfs().get_model_by_content(ImageInfo, oslo)
    assert (info.camera_model, info.taken_at) == ("EOS R5", "2024-05-01T10:20:30")
    # a second run has nothing left to do
    again = extract_media(lib, str(root)).wait(timeout=60)
    assert again["extracted"] == 0 and again["skipped"] == 4


@pytest.mark.skipif(not ocr_available(),
                    reason="OCR is the optional extra 'ocr': pip install rapidocr-onnxruntime")
def test_ocr_reads_text_the_test_rendered_and_the_job_makes_it_queryable(lib, tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    img = Image.new("RGB", (520, 120), "white")
    ImageDraw.Draw(img).text((20, 30), "INVOICE 2024 VDFS", fill="black",
                             font=ImageFont.load_default(size=44))
    img.save(scans / "scan.png")
    lines = ocr_image(scans / "scan.png")
    assert " ".join(l["text"] for l in lines).replace(" ", "") == "INVOICE2024VDFS"
    assert all(l["score"] > 0.5 for l in lines)
    lib.index(lib.add_location(scans)).wait(timeout=60)
    assert extract_media(lib, str(scans), ocr=True).wait(timeout=120)["extracted"] == 1
    hits = lib.query("models ImageInfo where text =~ 'INVOICE'").rows()
    assert len(hits) == 1

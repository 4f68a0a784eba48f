"""Thumbnails: a small WebP per image content, written as the `thumb` sidecar."""
from __future__ import annotations

import io
import os

from PIL import Image, ImageOps, UnidentifiedImageError

THUMB_SIZE = (256, 256)


def make_thumbnail(path: str | os.PathLike[str], size: tuple[int, int] = THUMB_SIZE) -> bytes | None:
    """WebP bytes of the image fitted into `size` (EXIF orientation applied), or None."""
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            im.thumbnail(size)
            if im.mode not in ("RGB", "RGBA"):
                im = im.convert("RGBA" if "A" in im.getbands() else "RGB")
            buf = io.BytesIO()
            im.save(buf, format="WEBP", quality=80)
            return buf.getvalue()
    except (UnidentifiedImageError, OSError):
        return None

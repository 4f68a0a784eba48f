"""Thumbnails for grid views: the library's `thumb` sidecar, scaled down to a data: URI.

A grid reads the sidecar core's extraction wrote; an image without one gets it made now (and
stored, so the next view and every copy of the same bytes reuse it). Tiles are small JPEGs (PNG
when the image has transparency) so a notebook with a grid stays small.
"""
from __future__ import annotations

import base64
import io
from typing import Any

THUMB_PX = 96


def entry_info(lib: Any, path: str | None) -> dict[str, Any]:
    """`content_uuid`, `kind` and `ext` of the indexed entry at `path` ({} if not indexed)."""
    if lib is None or not path:
        return {}
    try:
        rows = lib.query("entries where path = :p select content_uuid, kind, ext limit 1", p=path).rows()
    except Exception:  # a path the query cannot take (e.g. odd text): no thumbnail, no error
        return {}
    return rows[0] if rows else {}


def sidecar_thumb(lib: Any, content_uuid: Any, path: str | None) -> bytes | None:
    """The WebP thumbnail of the content: read from its sidecar, or made from `path` and stored."""
    from core.domain.sidecars import Sidecars
    side = Sidecars(lib.path)
    try:
        target = side.path(content_uuid, "thumb", "webp")
    except ValueError:  # not a content uuid
        return None
    if target.is_file():
        return target.read_bytes()
    data = _made_now(path) if path else None
    if data:
        try:
            side.write_bytes(content_uuid, "thumb", "webp", data)
        except OSError:  # a read-only library still shows the picture
            pass
    return data


def data_uri(source: Any, px: int = THUMB_PX) -> str | None:
    """A small JPEG/PNG data: URI of the image in `source` (a path or bytes), or None."""
    if source is None:
        return None
    try:
        from PIL import Image
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:
            im.thumbnail((px, px))
            alpha = "A" in im.getbands() or "transparency" in im.info
            im = im.convert("RGBA" if alpha else "RGB")
            buf = io.BytesIO()
            im.save(buf, format="PNG" if alpha else "JPEG", **({} if alpha else {"quality": 80}))
    except Exception:  # not an image, unreadable, or gone since indexing
        return None
    mime = "png" if alpha else "jpeg"
    return f"data:image/{mime};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _made_now(path: str) -> bytes | None:
    """core's thumbnail of the file (EXIF orientation applied, like the sidecar), or None."""
    from core.content.thumbnails import make_thumbnail
    try:
        return make_thumbnail(path)
    except Exception:  # a file PIL refuses in some other way (e.g. a decompression bomb)
        return None


def thumbnail(lib: Any, row: dict[str, Any], path: str | None) -> tuple[str | None, str]:
    """(data: URI or None, kind) for a grid tile: from the sidecar when the library knows the
    content, else straight from the file; the kind labels tiles that are no picture."""
    info = entry_info(lib, path) if row.get("content_uuid") is None or row.get("kind") is None else {}
    content = row.get("content_uuid") or info.get("content_uuid")
    kind = str(row.get("kind") or info.get("kind") or "")
    if lib is not None and content and kind in ("image", ""):
        uri = data_uri(sidecar_thumb(lib, content, path))
        if uri:
            return uri, kind or "image"
    if kind in ("image", "") and path:
        uri = data_uri(_made_now(path))
        if uri:
            return uri, kind or "image"
    ext = row.get("ext") or info.get("ext")
    return None, kind or (str(ext) if ext else "file")

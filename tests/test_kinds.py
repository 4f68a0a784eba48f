"""File kinds and MIME types: by extension, corrected by magic bytes."""
from __future__ import annotations

import io

import pytest

from core.content import kinds


@pytest.mark.parametrize("name, ext", [("a.JPG", "jpg"), ("x.tar.gz", "gz"), (".bashrc", None),
                                       ("noext", None), ("trailing.", None), ("a.b.Py", "py")])
def test_split_ext(name, ext):
    assert kinds.split_ext(name) == ext


@pytest.mark.parametrize("ext, kind", [("jpg", "image"), ("mp4", "video"), ("flac", "audio"),
                                       ("pdf", "document"), ("zip", "archive"), ("py", "code"),
                                       ("md", "text"), ("sqlite", "database"), ("ttf", "font"),
                                       ("exe", "executable"), ("xyz", "other"), (None, "other")])
def test_kind_for_ext(ext, kind):
    assert kinds.kind_for_ext(ext) == kind


def _png() -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (2, 2), "red").save(buf, "PNG")
    return buf.getvalue()


def test_magic_overrules_a_wrong_extension():
    png = _png()
    assert kinds.detect("txt", png) == ("image", "image/png")
    assert kinds.detect("jpg", png) == ("image", "image/png")      # mislabelled image
    assert kinds.detect(None, png) == ("image", "image/png")
    assert kinds.detect("dat", b"%PDF-1.7\n") == ("document", "application/pdf")
    assert kinds.detect(None, b"\x7fELF\x02\x01") == ("executable", "application/x-executable")


def test_container_signatures_do_not_overrule_the_extension():
    zip_head = b"PK\x03\x04" + bytes(40)
    assert kinds.detect("docx", zip_head)[0] == "document"
    assert kinds.detect("jar", zip_head) == ("archive", "application/java-archive")
    assert kinds.detect(None, zip_head) == ("archive", "application/zip")


def test_riff_and_ftyp_forms():
    assert kinds.detect(None, b"RIFF\x00\x00\x00\x00WEBPVP8 ") == ("image", "image/webp")
    assert kinds.detect(None, b"RIFF\x00\x00\x00\x00WAVEfmt ") == ("audio", "audio/wav")
    assert kinds.detect(None, b"\x00\x00\x00\x18ftypisom") == ("video", "video/mp4")
    assert kinds.detect(None, b"\x00\x00\x00\x18ftypheic") == ("image", "image/heic")
    assert kinds.detect(None, b"\x00" * 257 + b"ustar\x0000") == ("archive", "application/x-tar")


def test_text_and_scripts_without_extension():
    assert kinds.detect(None, b"#!/bin/sh\necho hi\n") == ("code", "text/x-script")
    assert kinds.detect(None, "plain words, ünïcode\n".encode()) == ("text", "text/plain")
    cut = "ü".encode() * 10
    assert kinds.detect(None, cut[:-1])[0] == "text"          # a character cut at the end
    assert kinds.detect(None, b"\x00\x01\x02binary") == ("other", None)
    assert kinds.detect(None, b"") == ("other", None)


def test_indexer_stores_kind_and_mime(lib, tmp_path):
    root = tmp_path / "k"
    root.mkdir()
    (root / "photo.txt").write_bytes(_png())      # a PNG with the wrong extension
    (root / "script").write_text("#!/usr/bin/env python3\nprint(1)\n")
    (root / "notes.md").write_text("# hello\n")
    (root / "sub").mkdir()
    lib.index(root).wait()
    got = {r[0]: (r[1], r[2]) for r in lib.conn.execute(
        "SELECT e.name, e.kind, c.mime_type FROM entries e "
        "LEFT JOIN content_identities c ON c.id = e.content_id")}
    assert got["photo.txt"] == ("image", "image/png")
    assert got["script"] == ("code", "text/x-script")
    # the entry's kind follows its name; its content's MIME is what the bytes say (a content
    # may have copies under other names, so a name cannot decide it)
    assert got["notes.md"] == ("text", "text/plain")
    assert got["sub"] == ("directory", None)
    assert got["k"] == ("directory", None)

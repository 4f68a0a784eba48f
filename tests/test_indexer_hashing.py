"""hash_batch opens files READAHEAD ahead of hashing them (with the kernel asked for their
sampled bytes, so a cold disk has several reads in flight): the results are those of hashing
each file on its own, whatever the paths hold, and no file stays open."""
from __future__ import annotations

import os

import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.content.identity import SMALL_LIMIT, content_hash_path
from core.content.kinds import SNIFF_BYTES, content_type, detect
from core.indexer import hashing
from core.indexer.hashing import hash_batch, hash_one


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_batch_hashes_as_one_by_one_and_closes_every_file(tmp_path, monkeypatch):
    monkeypatch.setattr(hashing, "READAHEAD", 3)
    items = []
    for i in range(12):
        p = tmp_path / f"f{i}.bin"
        p.write_bytes(bytes([i]) * (50 + i * 30000))   # small and sampled (> 100 KiB) files
        items.append((i, str(p), p.stat().st_size, "bin"))
    (tmp_path / "dir").mkdir()
    os.mkfifo(tmp_path / "fifo")
    os.symlink(tmp_path / "f0.bin", tmp_path / "link")
    items += [(20, str(tmp_path / "gone"), 5, None), (21, str(tmp_path / "dir"), 5, None),
              (22, str(tmp_path / "fifo"), 5, None), (23, str(tmp_path / "link"), 50, None),
              (24, str(tmp_path / "f1.bin"), 7, "bin")]           # size changed since the walk
    before = open_fds()
    results = hash_batch(items)
    assert open_fds() == before
    assert results == [hash_one(item) for item in items]
    assert [r[1] for r in results[:12]] == [content_hash_path(it[1]) for it in items[:12]]
    assert [r[4] is not None for r in results] == [False] * 12 + [True] * 5


def test_an_interrupted_batch_closes_the_files_opened_ahead(tmp_path, monkeypatch):
    """Stopped mid-batch (a signal raising in the loop), the files opened ahead are closed."""
    monkeypatch.setattr(hashing, "READAHEAD", 4)
    items = []
    for i in range(8):
        p = tmp_path / f"f{i}"
        p.write_bytes(b"x" * (i + 1))
        items.append((i, str(p), i + 1, None))
    real, calls = hashing.hash_one, []

    def interrupted_at_the_third(item, opened=None):
        calls.append(item[0])
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(item, opened)
    monkeypatch.setattr(hashing, "hash_one", interrupted_at_the_third)
    before = open_fds()
    try:
        hash_batch(items)
    except KeyboardInterrupt:
        pass
    assert calls == [0, 1, 2]
    assert open_fds() == before


_HEADS = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"#!/bin/sh\n", b"%PDF-1.7\n",
          b"PK\x03\x04", b"RIFF\x00\x00\x00\x00WEBP", b"\x00\x00\x00\x18ftypheic", "é".encode()]
_EXTS = [None, "txt", "jpg", "png", "pdf", "zip", "sh", "heic", "bin"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(head=st.sampled_from(_HEADS), ext=st.sampled_from(_EXTS),
       size=st.sampled_from([1, 2, 511, 512, 513, 4096, SMALL_LIMIT - 1, SMALL_LIMIT,
                             SMALL_LIMIT + 1, 3 * SMALL_LIMIT + 7]),
       fill=st.binary(min_size=1, max_size=64))
def test_a_file_hashes_and_sniffs_as_the_reference_says(tmp_path, head, ext, size, fill):
    """Whatever its size (whole or sampled, around SNIFF_BYTES and SMALL_LIMIT) and first
    bytes, hash_one gives the reference hash, entry kind and content type (read once for a
    small file, sniffed once for both)."""
    data = (head + fill * (size // len(fill) + 1))[:size]
    p = tmp_path / "f"
    p.write_bytes(data)
    eid, digest, kind, ctype, error = hash_one((7, str(p), size, ext))
    first = data[:SNIFF_BYTES]
    assert (eid, error) == (7, None)
    assert digest == content_hash_path(str(p))
    assert kind == detect(ext, first)[0] and ctype == content_type(first)


def test_a_small_file_that_shrank_since_the_walk_is_not_hashed(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"x" * 100)
    assert hash_one((1, str(p), 100, None))[4] is None
    assert "size differs" in hash_one((1, str(p), 120, None))[4]


@pytest.mark.parametrize("size", [100, 3 * SMALL_LIMIT])
def test_a_file_cut_short_between_its_stat_and_its_read_is_not_hashed(tmp_path, monkeypatch,
                                                                      size):
    """Whole (small) or sampled: a read that returns less than the stat promised is an error
    for this file, never a hash of what happened to be read."""
    p = tmp_path / "f"
    p.write_bytes(b"x" * size)
    real = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, off: real(fd, n, off)[:-1])
    eid, digest, _, _, error = hash_one((1, str(p), size, None))
    assert digest is None and "shrank" in error

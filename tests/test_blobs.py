"""Blob storage: compact array encoding, content addressing, refcounts, integrity."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from core.domain import blobs
from core.store.txn import transaction
from tests.helpers_rows import add_content


def _count(lib) -> int:
    return lib.conn.execute("SELECT count(*) FROM metadata_blobs").fetchone()[0]


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(dtype=st.sampled_from(["<f4", "<f8", "<i8", "<u2", "i1", ">f4"]),
                  shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=6)))
def test_array_round_trip_is_exact(arr):
    raw, kind = blobs.encode_value(arr)
    back = blobs.decode_value(raw, kind)
    assert kind == "ndarray"
    assert back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)


@settings(max_examples=40, deadline=None)
@given(st.one_of(st.binary(max_size=64), st.text(max_size=32),
                 st.dictionaries(st.text(max_size=5), st.integers(), max_size=4),
                 st.lists(st.lists(st.floats(allow_nan=False, width=64), min_size=2, max_size=2),
                          min_size=1, max_size=4)))
def test_other_values_round_trip(value):
    raw, kind = blobs.encode_value(value)
    assert blobs.decode_value(raw, kind) == value


def test_float_arrays_are_raw_buffers_not_json():
    vec = np.random.default_rng(1).standard_normal(512).astype(np.float32)
    raw, _ = blobs.encode_value(vec)
    assert 2048 < len(raw) < 2048 + 80          # 4 bytes a float plus a small header
    assert raw.endswith(vec.tobytes())          # the buffer itself, not JSON text


def test_quantisation_shrinks_and_stays_close():
    vecs = np.random.default_rng(2).standard_normal((8, 512)).astype(np.float32)
    full, _ = blobs.encode_value(vecs)
    half, _ = blobs.encode_value(vecs, quantize="float16")
    q8, _ = blobs.encode_value(vecs, quantize="int8")
    assert len(half) < len(full) * 0.51 and len(q8) < len(full) * 0.27
    np.testing.assert_allclose(blobs.decode_value(half, "ndarray"), vecs, atol=5e-3)
    back = blobs.decode_value(q8, "ndarray")
    assert back.dtype == np.float32
    assert np.abs(back - vecs).max() <= np.abs(vecs).max() / 127 + 1e-6
    with pytest.raises(blobs.BlobEncodingError, match="float array"):
        blobs.encode_value(np.arange(4), quantize="int8")
    with pytest.raises(blobs.BlobEncodingError, match="quantize"):
        blobs.encode_value(vecs, quantize="int4")


def test_same_bytes_are_stored_once_and_freed_with_the_last_reference(lib):
    raw = np.arange(1000, dtype=np.float32).tobytes()
    with transaction(lib.conn) as conn:
        a = blobs.put_blob(conn, raw, "bytes")
        b = blobs.put_blob(conn, raw, "bytes")
    assert a == b and _count(lib) == 1
    row = lib.conn.execute("SELECT reference_count, size_bytes, compression, blob_hash, "
                           "length(blob_data) FROM metadata_blobs").fetchone()
    assert row[:3] == (2, 4000, "zstd")
    assert row[3] == blobs.blob_hash(raw) and row[4] < 4000   # hash of the uncompressed bytes
    assert blobs.release_blob(lib.conn, a) is False and _count(lib) == 1
    assert blobs.release_blob(lib.conn, a) is True and _count(lib) == 0


def test_corruption_is_reported_with_its_owner(lib):
    raw = b"hello world" * 100
    bid = blobs.put_blob(lib.conn, raw, "bytes", compression=None)
    assert blobs.read_blob(lib.conn, bid, what="x") == raw
    lib.conn.execute("UPDATE metadata_blobs SET blob_data = ? WHERE id = ?",
                     (b"hellO world" + raw[11:], bid))
    with pytest.raises(blobs.BlobIntegrityError, match="thumbnail of cat.jpg"):
        blobs.read_blob(lib.conn, bid, what="thumbnail of cat.jpg")
    zid = blobs.put_blob(lib.conn, b"other" * 50, "bytes")
    lib.conn.execute("UPDATE metadata_blobs SET blob_data = x'00112233' WHERE id = ?", (zid,))
    with pytest.raises(blobs.BlobIntegrityError, match="cannot be decompressed"):
        blobs.read_blob(lib.conn, zid, what="w")


def test_reads_are_counted_and_unknown_options_refused(lib):
    counters = blobs.BlobStats()
    bid = blobs.put_blob(lib.conn, b"x" * 10, "bytes", counters=counters)
    blobs.read_blobs(lib.conn, {bid: "a"}, counters=counters)
    assert (counters.writes, counters.reads) == (1, 1)
    with pytest.raises(blobs.BlobEncodingError, match="compression"):
        blobs.put_blob(lib.conn, b"x", "bytes", compression="lz4")
    with pytest.raises(blobs.BlobIntegrityError, match="missing"):
        blobs.read_blob(lib.conn, 999, what="ghost")


def test_metadata_blobs_on_content_share_storage_and_replace(lib):
    api = lib.vdfs()
    c1, c2 = add_content(lib, "aa" * 8), add_content(lib, "bb" * 8)
    vec = np.ones((4, 16), dtype=np.float32)
    api.set_metadata_blob(c1, "clip", vec, scope="content")
    api.set_metadata_blob(c2, "clip", vec, scope="content")
    assert _count(lib) == 1
    np.testing.assert_array_equal(api.get_metadata_blob(c1, "clip", scope="content"), vec)
    api.set_metadata_blob(c1, "clip", vec * 2, scope="content")
    assert _count(lib) == 2
    api.set_metadata_blob(c2, "clip", None, scope="content")
    assert _count(lib) == 1
    assert api.get_metadata_blob(c2, "clip", scope="content") is None


def test_reading_never_waits_for_a_writer_and_refreshes_access_time(lib):
    bid = blobs.put_blob(lib.conn, b"payload" * 10, "bytes")
    lib.conn.execute("UPDATE metadata_blobs SET last_accessed_at = '2000-01-01T00:00:00.000000Z'")
    other = lib.connect()
    other.execute("BEGIN IMMEDIATE")                 # another writer holds the lock
    try:
        assert blobs.read_blob(lib.conn, bid, what="w") == b"payload" * 10
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert lib.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
    blobs.read_blob(lib.conn, bid, what="w")
    seen = lib.conn.execute("SELECT last_accessed_at FROM metadata_blobs").fetchone()[0]
    assert seen > "2020"

"""Content identity: the sampled hash equals an independent computation of the scheme in
docs/architecture.md §3, and the indexer gives identical bytes one identity, empty files none."""
from __future__ import annotations

import os
import uuid

import blake3
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from core.content import identity

KIB = 1024


def reference_hash(data: bytes) -> str:
    """docs/architecture.md §3 written out again, without core.content.identity."""
    n = len(data)
    h = blake3.blake3()
    h.update(n.to_bytes(8, "little"))
    if n <= 100 * KIB:
        h.update(data)
    else:
        h.update(data[:8 * KIB])
        step = (n - 16 * KIB) // 4
        for i in range(4):
            start = 8 * KIB + i * step
            h.update(data[start:start + 10 * KIB])
        h.update(data[n - 8 * KIB:])
    return h.hexdigest()[:16]


@pytest.mark.parametrize("size", [1, 17, 100 * KIB - 1, 100 * KIB, 100 * KIB + 1,
                                  16 * KIB * 10 + 3, 5 * 1024 * KIB + 7])
def test_hash_matches_independent_computation(tmp_path, size):
    data = os.urandom(size)
    p = tmp_path / "f"
    p.write_bytes(data)
    got = identity.content_hash_path(p)
    assert got == reference_hash(data)
    assert identity.content_uuid(got) == uuid.uuid5(uuid.NAMESPACE_DNS, got)


def test_large_file_hash_ignores_bytes_between_samples(tmp_path):
    """The sampled scheme reads ≤ 58 KiB: a change between samples keeps the hash (which is
    why destructive actions verify with a full hash), a change inside a sample does not."""
    size = 1024 * KIB
    data = bytearray(os.urandom(size))
    a = tmp_path / "a"
    a.write_bytes(data)
    before, full_before = identity.content_hash_path(a), identity.full_hash_path(a)
    data[8 * KIB + 20 * KIB] ^= 0xFF        # between the first and second sample
    a.write_bytes(data)
    assert identity.content_hash_path(a) == before
    assert identity.full_hash_path(a) != full_before
    assert identity.full_hash_path(a) == blake3.blake3(bytes(data)).hexdigest()
    data[size - 1] ^= 0xFF                  # inside the last 8 KiB
    a.write_bytes(data)
    assert identity.content_hash_path(a) != before


def test_empty_file_has_no_identity(tmp_path):
    p = tmp_path / "empty"
    p.write_bytes(b"")
    assert identity.content_hash_path(p) is None


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.one_of(st.integers(1, 300 * KIB), st.sampled_from([100 * KIB, 100 * KIB + 1,
                                                                    16 * KIB + 4])),
       seed=st.integers(0, 2**32 - 1))
def test_hash_property(tmp_path, size, seed):
    import random
    data = random.Random(seed).randbytes(size)
    p = tmp_path / "prop"
    p.write_bytes(data)
    assert identity.content_hash_path(p) == reference_hash(data)


def test_identical_files_share_one_identity(lib, tmp_path):
    root = tmp_path / "tree"
    (root / "a" / "deep").mkdir(parents=True)
    (root / "b").mkdir()
    big = os.urandom(250 * KIB)
    small = b"same small bytes\n"
    for p in (root / "one.bin", root / "a" / "deep" / "two.bin", root / "b" / "three.dat"):
        p.write_bytes(big)
    (root / "a" / "s1.txt").write_bytes(small)
    (root / "b" / "s2.md").write_bytes(small)
    (root / "e1").write_bytes(b"")
    (root / "b" / "e2").write_bytes(b"")
    (root / "other.bin").write_bytes(os.urandom(100 * KIB))
    lib.index(root).wait()
    rows = dict(lib.conn.execute(
        "SELECT c.content_hash, c.entry_count FROM content_identities c"))
    assert rows == {reference_hash(big): 3, reference_hash(small): 2,
                    reference_hash((root / "other.bin").read_bytes()): 1}
    uuids = {bytes(r[0]) for r in lib.conn.execute(
        "SELECT c.uuid FROM entries e JOIN content_identities c ON c.id = e.content_id "
        "WHERE e.name LIKE '%.bin' AND e.size = ?", (len(big),))}
    assert uuids == {uuid.uuid5(uuid.NAMESPACE_DNS, reference_hash(big)).bytes}
    empties = lib.conn.execute("SELECT content_id FROM entries WHERE name IN ('e1', 'e2')"
                               ).fetchall()
    assert empties == [(None,), (None,)]


@settings(max_examples=200, deadline=None)
@given(digest=st.text(alphabet="0123456789abcdef", min_size=16, max_size=16))
def test_fast_content_uuid_is_uuid5(digest):
    assert identity.content_uuid_bytes(digest) == uuid.uuid5(uuid.NAMESPACE_DNS, digest).bytes
    assert identity.content_uuid(digest) == uuid.uuid5(uuid.NAMESPACE_DNS, digest)

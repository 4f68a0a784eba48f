"""Content identity, compatible with Spacedrive v2 (docs/architecture.md §3).

content_hash = first 16 hex chars of BLAKE3(size as u64 LE ‖ content or samples);
content UUID = uuid5(NAMESPACE_DNS, content_hash). Empty files have no identity.
"""
from __future__ import annotations

import hashlib
import os
import uuid

import blake3

SMALL_LIMIT = 100 * 1024      # files up to this size are hashed whole
HEADER = 8 * 1024
FOOTER = 8 * 1024
SAMPLE = 10 * 1024
SAMPLE_COUNT = 4


def sample_plan(size: int) -> list[tuple[int, int]]:
    """(offset, length) pairs the sampled hash reads for a file of `size` bytes."""
    if size <= SMALL_LIMIT:
        return [(0, size)]
    step = (size - HEADER - FOOTER) // SAMPLE_COUNT
    plan = [(0, HEADER)]
    plan += [(HEADER + i * step, SAMPLE) for i in range(SAMPLE_COUNT)]
    plan.append((size - FOOTER, FOOTER))
    return plan


def content_hash_fd(fd: int, size: int) -> str:
    """Sampled content hash of an open file whose size is `size` (from the same stat)."""
    return hash_and_head(fd, size, 0)[0]


def hash_and_head(fd: int, size: int, head: int) -> tuple[str, bytes]:
    """(content_hash_fd(fd, size), the file's first `head` bytes, head ≤ HEADER): the hash
    reads them anyway (a whole small file, or a sampled file's first sample), so the indexer
    gets a file's hash and the bytes that tell its kind from the same reads."""
    h = blake3.blake3(size.to_bytes(8, "little"))
    if size <= SMALL_LIMIT:            # most files: hashed whole, in one read
        data = _read(fd, size, 0)
        h.update(data)
        return h.hexdigest()[:16], data[:head]
    first = b""
    for offset, length in sample_plan(size):
        data = _read(fd, length, offset)
        h.update(data)
        if offset == 0:
            first = data[:head]
    return h.hexdigest()[:16], first


def _read(fd: int, length: int, offset: int) -> bytes:
    data = os.pread(fd, length, offset)
    if len(data) != length:
        raise OSError(f"file shrank while hashing (wanted {length} bytes at {offset})")
    return data


def content_hash_path(path: str | bytes | os.PathLike, size: int | None = None) -> str | None:
    """Sampled content hash of a file, or None for an empty file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if size is None:
            size = os.fstat(fd).st_size
        if size == 0:
            return None
        return content_hash_fd(fd, size)
    finally:
        os.close(fd)


_DNS = uuid.NAMESPACE_DNS.bytes


def content_uuid_bytes(content_hash: str) -> bytes:
    """uuid5(NAMESPACE_DNS, content_hash).bytes without building UUID objects: the indexer
    makes one per distinct file, and uuid.uuid5 costs 5 us each."""
    d = bytearray(hashlib.sha1(_DNS + content_hash.encode()).digest()[:16])
    d[6] = (d[6] & 0x0F) | 0x50     # version 5
    d[8] = (d[8] & 0x3F) | 0x80     # RFC 4122 variant
    return bytes(d)


def content_uuid(content_hash: str) -> uuid.UUID:
    return uuid.UUID(bytes=content_uuid_bytes(content_hash))


def full_hash_path(path: str | bytes | os.PathLike) -> str:
    """Full BLAKE3 of a file: the integrity hash checked before anything destructive."""
    h = blake3.blake3(max_threads=blake3.blake3.AUTO)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

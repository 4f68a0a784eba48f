"""Blobs in sync. Which travel: those the records being sent refer to, minus those the peer is
known to hold, plus those it said it lacks. Arriving ones are stored unlinked until a record
links them. Blobs are content-addressed (BLAKE3 of the bytes): a hash names the same bytes on
every device.
"""
from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from core.store.clock import now_iso
from . import state

if TYPE_CHECKING:  # pragma: no cover
    from .records import Record


@dataclass(frozen=True)
class BlobRow:
    """A blob as it travels: content-addressed by the BLAKE3 of its uncompressed bytes."""
    hash: str
    blob_type: str
    compression: str | None
    size: int
    data: bytes             # as stored (compressed when `compression` says so)

    def verify(self) -> bool:
        import blake3
        import zstandard
        try:
            raw = zstandard.ZstdDecompressor().decompress(self.data) \
                if self.compression == "zstd" else self.data
        except zstandard.ZstdError:
            return False
        return len(raw) == self.size and blake3.blake3(raw).hexdigest() == self.hash


def _referenced(values: Iterable[tuple[str, str | None]]) -> set[str]:
    """Blob hashes named by model records (their blob fields) and by note blobs."""
    out = set()
    for key, value in values:
        kind = state.kind_of(key)
        if value is not None and kind == "model":
            out.update(json.loads(value)["blobs"].values())
        elif value is not None and kind == "mblob":
            out.add(json.loads(value)["hash"])
    return out


def missing(conn: sqlite3.Connection) -> list[str]:
    """Blob hashes this device's waiting model records need and it does not have."""
    wanted = _referenced(conn.execute(
        "SELECT key, value FROM sync_records WHERE pending = 1 AND ((key >= 'model/' "
        "AND key < 'model0') OR (key >= 'mblob/' AND key < 'mblob0'))"))
    return sorted(h for h in wanted if conn.execute(
        "SELECT 1 FROM metadata_blobs WHERE blob_hash = ?", (h,)).fetchone() is None)


def to_send(conn: sqlite3.Connection, recs: "list[Record]", peer: uuid.UUID | None,
            acked_seq: int, need: list[str]) -> list[BlobRow]:
    """The blobs for a bundle: referenced by `recs`, unless `peer` holds them, and what it
    needs. Without a peer: every referenced blob."""
    wanted = _referenced((r.key, r.value) for r in recs)
    if peer is not None:
        held = {h for (h,) in conn.execute(
            "SELECT hash FROM sync_blob_peers WHERE peer = ? AND seq <= ?", (peer.bytes, acked_seq))}
        wanted = (wanted - held) | set(need)
    out = []
    ordered = sorted(wanted)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start:start + 500]
        out += [BlobRow(h, t, c, n, bytes(d)) for h, t, c, n, d in conn.execute(
            "SELECT blob_hash, blob_type, compression, size_bytes, blob_data FROM metadata_blobs "
            f"WHERE blob_hash IN ({','.join('?' * len(chunk))})", chunk)]
    return out


def sent(conn: sqlite3.Connection, peer: uuid.UUID, sent_blobs: list[BlobRow], seq: int) -> None:
    """The peer holds these once it acknowledges `seq` (an earlier, lower seq is kept)."""
    conn.executemany("INSERT INTO sync_blob_peers (peer, hash, seq) VALUES (?, ?, ?) "
                     "ON CONFLICT(peer, hash) DO UPDATE SET seq = min(seq, excluded.seq)",
                     [(peer.bytes, b.hash, seq) for b in sent_blobs])


def received(conn: sqlite3.Connection, peer: uuid.UUID, got: list[BlobRow],
             need: list[str]) -> None:
    """A peer sent these blobs (so it holds them) and said it lacks `need`."""
    conn.executemany("INSERT INTO sync_blob_peers (peer, hash, seq) VALUES (?, ?, 0) "
                     "ON CONFLICT(peer, hash) DO UPDATE SET seq = 0",
                     [(peer.bytes, b.hash) for b in got])
    conn.executemany("DELETE FROM sync_blob_peers WHERE peer = ? AND hash = ?",
                     [(peer.bytes, h) for h in need])
    conn.execute("UPDATE sync_peers SET need = ? WHERE device_uuid = ?",
                 (json.dumps(sorted(need)), peer.bytes))


def receive_blobs(conn: sqlite3.Connection, incoming: list[BlobRow]) -> list[str]:
    """Store the bundle's blobs this device lacks, unreferenced for now (records link them);
    returns the hashes stored, for `drop_unused_blobs` once the records are applied."""
    stored = []
    for b in incoming:
        if conn.execute("SELECT 1 FROM metadata_blobs WHERE blob_hash = ?",
                        (b.hash,)).fetchone() is None:
            now = now_iso()
            conn.execute("INSERT INTO metadata_blobs (blob_hash, blob_data, blob_type, size_bytes, "
                         "compression, reference_count, created_at, last_accessed_at) "
                         "VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
                         (b.hash, b.data, b.blob_type, b.size, b.compression, now, now))
            stored.append(b.hash)
    return stored


def drop_unused_blobs(conn: sqlite3.Connection, hashes: list[str]) -> None:
    for start in range(0, len(hashes), 500):
        chunk = hashes[start:start + 500]
        conn.execute(f"DELETE FROM metadata_blobs WHERE reference_count <= 0 AND blob_hash IN "
                     f"({','.join('?' * len(chunk))})", chunk)

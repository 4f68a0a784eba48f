"""Content-addressed blob storage for large model and metadata fields (`metadata_blobs`).

A blob is keyed by the BLAKE3 of its *uncompressed* bytes, stored once (zstd-compressed) and
reference-counted: one count per link row in `model_blobs` or `user_metadata_blobs`. Releasing
the last link deletes the blob. `size_bytes` is the uncompressed size; `length(blob_data)` the
stored one. `last_accessed_at` is refreshed on read at most once a minute, never waiting. Reads verify the hash, so silent corruption surfaces as a
`BlobIntegrityError` naming the owner and field instead of as wrong numbers.

Arrays are serialised compactly: a small JSON header (dtype, shape) followed by the raw
C-ordered buffer, never JSON lists of floats. About compression, honestly: zstd barely shrinks
float32 embeddings (ratio ~1.08, their mantissas look random). Real savings need lossy
quantisation, offered per field: `quantize="float16"` (~2x) or `quantize="int8"` (~4x, one
float32 scale per row).
"""
from __future__ import annotations

import json
import sqlite3
import struct
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import ModuleType
from typing import TYPE_CHECKING, Any, Iterable

import blake3
import zstandard

from core.store.clock import now_iso
from core.errors import VdfsError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


def numpy_module() -> ModuleType:
    """numpy, imported on first use: it costs ~100 ms, and only array values need it, so an
    open or a CLI lookup never pays for it (start-up time)."""
    import numpy
    return numpy


def loaded_numpy() -> ModuleType | None:
    """numpy if something already imported it, else None: a value cannot be an array of a
    module nobody has loaded, so type checks need not import it."""
    return sys.modules.get("numpy")
from core.store.faults import storage_faults

MAGIC = b"VDNA"            # vdfs n-dimensional array
COMPRESSIONS = ("zstd", None)
QUANTIZE = ("float16", "int8", None)
ZSTD_LEVEL = 3
TOUCH_EVERY = timedelta(seconds=60)  # last_accessed_at is refreshed at most this often


class BlobIntegrityError(VdfsError):
    """A stored blob's bytes no longer match the hash it is filed under."""


class BlobEncodingError(VdfsError, ValueError):
    """A value cannot be stored as a blob (or the options asked for are unknown)."""


@dataclass
class BlobStats:
    """Per-library counters, so tests and benchmarks can prove which paths read blobs."""
    reads: int = 0
    bytes_read: int = 0
    writes: int = 0
    deduplicated: int = 0



# ---- value <-> bytes ----------------------------------------------------------------------
def encode_value(value: Any, *, quantize: str | None = None) -> tuple[bytes, str]:
    """(uncompressed bytes, blob_type) for a field value: array, bytes, str or JSON-able."""
    if quantize not in QUANTIZE:
        raise BlobEncodingError(f"quantize must be one of float16, int8 or None, not {quantize!r}")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value), "bytes"
    if isinstance(value, str):
        try:
            return value.encode("utf-8"), "text"
        except UnicodeEncodeError as exc:    # a lone surrogate: text no file or database holds
            raise BlobEncodingError(f"cannot store text that is not valid Unicode: {exc}") from None
    if is_array(value):
        return encode_array(value, quantize=quantize), "ndarray"
    if isinstance(value, (list, tuple)) and value:
        try:
            arr = numpy_module().asarray(value)
        except (ValueError, TypeError, OverflowError):   # ragged or too deep: not an array
            arr = None
        if arr is not None and arr.dtype.kind in "biuf":
            return encode_array(arr, quantize=quantize, as_list=True), "ndarray"
    try:
        return json.dumps(value, separators=(",", ":"), sort_keys=True).encode("utf-8"), "json"
    except (TypeError, ValueError, RecursionError) as exc:
        raise BlobEncodingError(f"cannot store a {type(value).__name__} as a blob: {exc}") from exc


def decode_value(raw: bytes, blob_type: str) -> Any:
    if blob_type == "bytes":
        return raw
    if blob_type == "text":
        return raw.decode("utf-8")
    if blob_type == "ndarray":
        return decode_array(raw)
    if blob_type == "json":
        return json.loads(raw)
    raise BlobEncodingError(f"unknown blob_type {blob_type!r}")


def encode_array(arr: np.ndarray, *, quantize: str | None = None, as_list: bool = False) -> bytes:
    """MAGIC, u32 header length, JSON header, [int8 row scales], raw C-order buffer."""
    np = numpy_module()
    arr = np.asarray(arr, order="C")  # (ascontiguousarray would turn 0-d into 1-d)
    if arr.dtype.kind not in "biuf":
        raise BlobEncodingError(f"only numeric arrays can be stored as blobs, not dtype {arr.dtype}")
    header: dict[str, Any] = {"shape": list(arr.shape)}
    extra = b""
    if quantize and arr.dtype.kind != "f":
        raise BlobEncodingError(f"quantize={quantize!r} needs a float array, not dtype {arr.dtype}")
    if quantize == "float16":
        header["q"] = "float16"
        arr = arr.astype("<f2")
    elif quantize == "int8":
        header["q"] = "int8"
        rows = arr.reshape(-1, arr.shape[-1]) if arr.ndim else arr.reshape(1, 1)
        scale = np.abs(rows).max(axis=1).astype("<f4") / 127.0
        scale[scale == 0] = 1.0
        arr = np.clip(np.rint(rows / scale[:, None]), -127, 127).astype("i1")
        extra = scale.tobytes()
    else:
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
    header["dtype"] = arr.dtype.str
    if as_list:
        header["list"] = True
    head = json.dumps(header, separators=(",", ":"), sort_keys=True).encode("ascii")
    return MAGIC + struct.pack("<I", len(head)) + head + extra + arr.tobytes()


def decode_array(raw: bytes) -> Any:
    np = numpy_module()
    if raw[:4] != MAGIC:
        raise BlobEncodingError("not an encoded array (bad magic)")
    (hlen,) = struct.unpack_from("<I", raw, 4)
    header = json.loads(raw[8:8 + hlen])
    shape = tuple(header["shape"])
    body = memoryview(raw)[8 + hlen:]
    q = header.get("q")
    if q == "int8":
        rows = int(np.prod(shape[:-1])) if len(shape) > 0 else 1
        scale = np.frombuffer(body[:rows * 4], dtype="<f4")
        data = np.frombuffer(body[rows * 4:], dtype="i1").reshape(rows, -1)
        arr = (data.astype(np.float32) * scale[:, None]).reshape(shape)
    else:
        arr = np.frombuffer(body, dtype=np.dtype(header["dtype"])).reshape(shape)
        arr = arr.astype(np.float32) if q == "float16" else arr.copy()
    return arr.tolist() if header.get("list") else arr


# ---- compression --------------------------------------------------------------------------
_codecs = threading.local()  # zstd (de)compressors are not safe to share between threads


def _compressor() -> zstandard.ZstdCompressor:
    c = getattr(_codecs, "c", None)
    if c is None:
        c = _codecs.c = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    return c


def _decompressor() -> zstandard.ZstdDecompressor:
    d = getattr(_codecs, "d", None)
    if d is None:
        d = _codecs.d = zstandard.ZstdDecompressor()
    return d


def blob_hash(raw: bytes) -> str:
    return blake3.blake3(raw).hexdigest()


# ---- the store ----------------------------------------------------------------------------
def put_blob(conn: sqlite3.Connection, raw: bytes, blob_type: str, *,
             compression: str | None = "zstd", counters: BlobStats | None = None) -> int:
    """Store `raw` (or add a reference to the identical blob already stored); return its id.

    Call inside a transaction together with the link row that holds the new reference.
    """
    if compression not in COMPRESSIONS:
        raise BlobEncodingError(f"compression must be 'zstd' or None, not {compression!r}")
    digest = blob_hash(raw)
    row = conn.execute("SELECT id FROM metadata_blobs WHERE blob_hash = ?", (digest,)).fetchone()
    if row:
        conn.execute("UPDATE metadata_blobs SET reference_count = reference_count + 1 "
                     "WHERE id = ?", (row[0],))
        if counters:
            counters.deduplicated += 1
        return int(row[0])
    stored = _compressor().compress(raw) if compression == "zstd" else raw
    now = now_iso()
    with storage_faults(conn):   # disk full: a clear error; the caller's transaction rolls back
        cur = conn.execute(
            "INSERT INTO metadata_blobs (blob_hash, blob_data, blob_type, size_bytes, compression, "
            "reference_count, created_at, last_accessed_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
            (digest, stored, blob_type, len(raw), compression, now, now))
    if counters:
        counters.writes += 1
    return int(cur.lastrowid)


def release_blob(conn: sqlite3.Connection, blob_id: int) -> bool:
    """Drop one reference; delete the blob when none is left. True if it was freed."""
    conn.execute("UPDATE metadata_blobs SET reference_count = reference_count - 1 WHERE id = ?",
                 (blob_id,))
    cur = conn.execute("DELETE FROM metadata_blobs WHERE id = ? AND reference_count <= 0",
                       (blob_id,))
    return cur.rowcount > 0


def read_blobs(conn: sqlite3.Connection, wanted: dict[int, str], *,
               counters: BlobStats | None = None) -> dict[int, Any]:
    """Decoded values of blobs by id; `wanted` maps each id to the owner named in errors.

    Every blob is verified against its hash. Missing blobs raise too: a link to nothing is
    corruption, not an empty field.
    """
    out: dict[int, Any] = {}
    ids = list(wanted)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT id, blob_hash, blob_data, blob_type, compression FROM metadata_blobs "
            f"WHERE id IN ({marks})", chunk).fetchall()
        for blob_id, digest, stored, blob_type, compression in rows:
            out[blob_id] = _verify_decode(blob_id, digest, stored, blob_type, compression,
                                          wanted[blob_id], counters)
        for blob_id in chunk:
            if blob_id not in out:
                raise BlobIntegrityError(f"{wanted[blob_id]}: blob {blob_id} is missing")
    _touch(conn, ids)
    return out


def read_blob(conn: sqlite3.Connection, blob_id: int, *, what: str,
              counters: BlobStats | None = None) -> Any:
    return read_blobs(conn, {blob_id: what}, counters=counters)[blob_id]


def _verify_decode(blob_id: int, digest: str, stored: bytes, blob_type: str,
                   compression: str | None, what: str, counters: BlobStats | None) -> Any:
    if counters:
        counters.reads += 1
        counters.bytes_read += len(stored)
    try:
        raw = _decompressor().decompress(stored) if compression == "zstd" else bytes(stored)
    except zstandard.ZstdError as exc:
        raise BlobIntegrityError(f"{what}: blob {blob_id} cannot be decompressed ({exc})") from exc
    if blob_hash(raw) != digest:
        raise BlobIntegrityError(
            f"{what}: blob {blob_id} is corrupt (its bytes no longer match BLAKE3 {digest[:16]}…)")
    return decode_value(raw, blob_type)


def _touch(conn: sqlite3.Connection, ids: Iterable[int]) -> None:
    """Refresh last_accessed_at, at most once a minute per blob, so reads rarely write."""
    ids = list(ids)
    if not ids:
        return
    now = datetime.now(timezone.utc)
    stale = (now - TOUCH_EVERY).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # A read must never wait for a writer: outside a transaction, try once without waiting.
    waited = None if conn.in_transaction else conn.execute("PRAGMA busy_timeout").fetchone()[0]
    if waited is not None:
        conn.execute("PRAGMA busy_timeout = 0")
    try:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            conn.execute(f"UPDATE metadata_blobs SET last_accessed_at = ? WHERE id IN ({marks}) "
                         f"AND last_accessed_at < ?", [stamp, *chunk, stale])
    except sqlite3.OperationalError:  # read-only or busy: access time is best effort
        pass
    finally:
        if waited is not None:
            conn.execute(f"PRAGMA busy_timeout = {int(waited)}")


def blob_totals(conn: sqlite3.Connection) -> dict[str, int]:
    """Count, uncompressed and stored bytes, and references of every blob (for reports)."""
    row = conn.execute("SELECT count(*), coalesce(sum(size_bytes), 0), "
                       "coalesce(sum(length(blob_data)), 0), coalesce(sum(reference_count), 0) "
                       "FROM metadata_blobs").fetchone()
    return {"blobs": row[0], "raw_bytes": row[1], "stored_bytes": row[2], "references": row[3]}


def is_array(value: Any) -> bool:
    np = loaded_numpy()
    return np is not None and isinstance(value, np.ndarray)

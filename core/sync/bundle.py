"""The bundle file: a versioned, checksummed, zstd-compressed batch of records.

    b"VDFSSYNC" | version u16 | header length u32 | header JSON | zstd(JSON lines) | BLAKE3

The BLAKE3 digest (32 bytes) covers everything before it, so a corrupt or truncated bundle is
refused before a single record is read. The header says who sent it, for which library, the
range of the sender's sequence numbers it covers and what it acknowledges (docs/sync.md).
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import struct
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import blake3
import zstandard

from . import state
from .errors import BundleCorruptError, BundleVersionError, SyncError
from .hlc import parse_stamp
from .blobs import BlobRow
from .records import Record

MAGIC = b"VDFSSYNC"
VERSION = 1
_FIXED = struct.Struct(">HI")
_DIGEST = 32
_MAX_HEADER = 1 << 20


@dataclass
class Bundle:
    library_id: str
    sender: str                 # device uuid
    sender_name: str
    to: str | None              # the device it was made for (its ack is about that device)
    from_seq: int               # the records are the sender's changes after from_seq …
    to_seq: int                 # … up to to_seq
    ack: int                    # the receiver's seq the sender has applied
    records: list[Record] = field(default_factory=list)
    blobs: list[BlobRow] = field(default_factory=list)   # the blobs its records refer to
    need: list[str] = field(default_factory=list)        # blob hashes the sender lacks

    def header(self, payload_len: int) -> dict[str, Any]:
        return {"library_id": self.library_id, "sender": self.sender,
                "sender_name": self.sender_name, "to": self.to, "from_seq": self.from_seq,
                "to_seq": self.to_seq, "ack": self.ack, "count": len(self.records), "blobs": len(self.blobs),
                "need": self.need,
                "payload_bytes": payload_len}


def encode(bundle: Bundle) -> bytes:
    lines = "".join(json.dumps([r.key, r.hlc, r.value], ensure_ascii=False) + "\n"
                    for r in bundle.records)
    lines += "".join(json.dumps([b.hash, b.blob_type, b.compression, b.size,
                                 base64.b64encode(b.data).decode()]) + "\n" for b in bundle.blobs)
    payload = zstandard.ZstdCompressor(level=10).compress(lines.encode())
    head = json.dumps(bundle.header(len(payload)), sort_keys=True).encode()
    body = MAGIC + _FIXED.pack(VERSION, len(head)) + head + payload
    return body + blake3.blake3(body).digest()


def decode(data: bytes) -> Bundle:
    """The bundle in `data`; BundleCorruptError / BundleVersionError say what is wrong."""
    if len(data) < len(MAGIC) + _FIXED.size + _DIGEST or not data.startswith(MAGIC):
        raise BundleCorruptError("not a vdfs sync bundle (no VDFSSYNC header)")
    body, digest = data[:-_DIGEST], data[-_DIGEST:]
    version, head_len = _FIXED.unpack_from(data, len(MAGIC))
    if version != VERSION:
        raise BundleVersionError(f"sync bundle format {version}; this vdfs reads format "
                                 f"{VERSION}: upgrade vdfs on this device")
    if blake3.blake3(body).digest() != digest:
        raise BundleCorruptError("sync bundle checksum mismatch: it is damaged or truncated")
    start = len(MAGIC) + _FIXED.size
    try:
        if head_len > _MAX_HEADER:
            raise ValueError("header too large")
        head = json.loads(body[start:start + head_len])
        payload = body[start + head_len:]
        if len(payload) != head["payload_bytes"]:
            raise ValueError("payload length differs from the header")
        text = zstandard.ZstdDecompressor().decompress(payload).decode() if payload else ""
        lines = [json.loads(line) for line in text.splitlines() if line]
        count, nblobs = int(head["count"]), int(head.get("blobs", 0))
        if len(lines) != count + nblobs:
            raise ValueError("record count differs from the header")
        records = [Record(*_record(item)) for item in lines[:count]]
        blobs = [_blob(item) for item in lines[count:]]
        uuid.UUID(str(head["sender"]))
        return Bundle(library_id=str(head["library_id"]), sender=str(head["sender"]),
                      sender_name=str(head["sender_name"]), to=head["to"],
                      from_seq=int(head["from_seq"]), to_seq=int(head["to_seq"]),
                      ack=int(head["ack"]), records=records, blobs=blobs,
                      need=[str(h) for h in head.get("need", [])])
    except (ValueError, KeyError, TypeError, zstandard.ZstdError, UnicodeDecodeError,
            binascii.Error) as exc:
        raise BundleCorruptError(f"sync bundle is malformed: {exc}") from None


def _record(item: Any) -> tuple[str, str, str | None]:
    if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)
            and isinstance(item[1], str) and (item[2] is None or isinstance(item[2], str))):
        raise ValueError(f"not a record: {item!r}")
    if state.kind_of(item[0]) not in state.APPLY_ORDER:
        raise ValueError(f"unknown record kind in {item[0]!r}")
    try:
        parse_stamp(item[1])
        if item[2] is not None:
            json.loads(item[2])
    except SyncError as exc:
        raise ValueError(str(exc)) from None
    return item[0], item[1], item[2]


def _blob(item: Any) -> BlobRow:
    if not (isinstance(item, list) and len(item) == 5):
        raise ValueError(f"not a blob: {str(item)[:80]}")
    b = BlobRow(str(item[0]), str(item[1]), item[2], int(item[3]),
                base64.b64decode(item[4], validate=True))
    if not b.verify():
        raise ValueError(f"blob {b.hash[:16]}… does not match its hash")
    return b


def write(path: str | os.PathLike[str], bundle: Bundle) -> int:
    """Write atomically (a reader of a shared folder never sees half a bundle); returns bytes."""
    path = Path(path)
    data = encode(bundle)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SyncError(f"cannot write sync bundle {path}: {exc.strerror or exc}") from None
    return len(data)


def read(path: str | os.PathLike[str]) -> Bundle:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BundleCorruptError(f"cannot read sync bundle {path}: {exc.strerror or exc}") \
            from None
    return decode(data)

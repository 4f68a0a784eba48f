"""Sampled identity is not proof of equality: full BLAKE3 of every copy, on request.

A content identity (core/content/identity.py, Spacedrive's scheme) hashes a file over 100 KiB by
samples, so two files whose samples match share an identity even when bytes elsewhere differ.
That is right for finding candidates and wrong for acting on them. So:

* `verify_duplicates(lib)` computes the full BLAKE3 of every copy of each duplicate group (once:
  it is stored in `entries.full_hash`, which the indexer clears when a file changes) and sets
  `content_identities.integrity_hash` to the common hash when every copy was hashed and all
  agree, NULL otherwise. The query language's `verified` field of `content` is true exactly
  then; a copy added later, or one that changed, makes it false again until the next run.
* `require_identical(lib, entries)` is what a destructive action that relies on sameness calls
  right before acting: it re-reads every file in full (never trusting a stored hash) and
  raises `NotIdenticalError` unless all are byte-for-byte equal.
"""
from __future__ import annotations

import os
import stat
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from core.store.clock import now_iso
from core.errors import VdfsError
from .identity import full_hash_path
from core.store.ids import as_uuid as _as_uuid
from core.store.txn import transaction

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library
    from core.store.ids import UuidLike


class VerifyError(VdfsError):
    """A verification cannot run as asked (unknown content or entry, not a uuid)."""


class NotIdenticalError(VerifyError):
    """Files taken for copies of one content are not byte-for-byte equal (or cannot be read
    in full), so nothing that relies on their sameness may run."""


def as_uuid(value: UuidLike | bytearray | memoryview, what: str) -> uuid.UUID:
    """A uuid from uuid.UUID, its text or 16 bytes; VerifyError otherwise."""
    try:
        return _as_uuid(value, what)
    except ValueError as exc:
        raise VerifyError(str(exc)) from None


@dataclass
class VerifyReport:
    groups: int = 0                      # identities looked at
    verified: int = 0                    # every copy hashed, all equal
    hashed: int = 0                      # files read in full by this run
    bytes: int = 0
    mismatched: list[str] = field(default_factory=list)    # content_hash of groups that differ
    unverifiable: list[dict[str, str]] = field(default_factory=list)   # path, reason


def _lookup(conn: Any, table: str, columns: str, value: Any, what: str) -> tuple:
    u = as_uuid(value, what)
    row = conn.execute(f"SELECT {columns} FROM {table} WHERE uuid = ?", (u.bytes,)).fetchone()
    if row is None:
        raise VerifyError(f"no {what} {u} in this library")
    return row


def _os_path(path: str, raw: bytes | None) -> str | bytes:
    return raw if raw is not None else path


def _hash_copy(path: str | bytes, size: int, mtime_ns: int | None) -> str:
    """Full BLAKE3 of a copy, refusing a file that is not what the index saw: its hash would
    describe other bytes than the row's."""
    before = os.stat(path, follow_symlinks=False)
    if not stat.S_ISREG(before.st_mode):     # a FIFO would block the read; a symlink mislead it
        raise OSError("no longer a regular file (re-index it)")
    if before.st_size != size or (mtime_ns is not None and before.st_mtime_ns != mtime_ns):
        raise OSError("changed since it was indexed (re-index it)")
    digest = full_hash_path(path)
    after = os.stat(path, follow_symlinks=False)
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        raise OSError("changed while it was read")
    return digest


def verify_duplicates(lib: Library, contents: Iterable[Any] | None = None) -> VerifyReport:
    """Verify every duplicate group (entry_count > 1), or the given content uuids; copies on
    other devices cannot be read here, so their groups stay unverified."""
    conn = lib.conn
    if contents is None:
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM content_identities WHERE entry_count > 1 ORDER BY id")]
    else:
        ids = [_lookup(conn, "content_identities", "id", c, "content")[0] for c in contents]
    report = VerifyReport()
    for cid in ids:
        _verify_one(lib, cid, report)
    return report


def _verify_one(lib: Library, cid: int, report: VerifyReport) -> None:
    conn = lib.conn
    digest_of_content = conn.execute("SELECT content_hash FROM content_identities WHERE id = ?",
                                     (cid,)).fetchone()[0]
    copies = conn.execute(
        "SELECT e.id, e.path, e.raw_path, e.size, e.mtime_ns, e.full_hash, l.device_id "
        "FROM entries e JOIN locations l ON l.id = e.location_id "
        "WHERE e.content_id = ? ORDER BY e.id", (cid,)).fetchall()
    report.groups += 1
    computed: list[tuple[str, int]] = []
    hashes: list[str | None] = []
    for eid, path, raw, size, mtime_ns, stored, device in copies:
        if stored is None and device == lib.device_id:
            try:
                stored = _hash_copy(_os_path(path, raw), size, mtime_ns)
            except OSError as exc:
                report.unverifiable.append({"path": path, "reason": exc.strerror or str(exc)})
            else:
                computed.append((stored, eid))
                report.hashed += 1
                report.bytes += size
        elif stored is None:
            report.unverifiable.append({"path": path, "reason": "on another device"})
        hashes.append(stored)
    distinct = {h for h in hashes if h is not None}
    common = next(iter(distinct)) if len(distinct) == 1 and None not in hashes else None
    if len(distinct) > 1:
        report.mismatched.append(digest_of_content)
    with transaction(conn):
        conn.executemany("UPDATE entries SET full_hash = ? WHERE id = ?", computed)
        conn.execute("UPDATE content_identities SET integrity_hash = ?, last_verified_at = ? "
                     "WHERE id = ?", (common, now_iso(), cid))
    if common is not None:
        report.verified += 1


def require_identical(lib: Library, entry_uuids: Iterable[Any]) -> str:
    """Read every listed file in full now; return their common BLAKE3, or raise
    NotIdenticalError naming what differs (or could not be read)."""
    conn = lib.conn
    seen: dict[str, list[str]] = {}
    for e in entry_uuids:
        path, raw, size, mtime_ns = _lookup(conn, "entries", "path, raw_path, size, mtime_ns",
                                            e, "entry")
        try:
            digest = _hash_copy(_os_path(path, raw), size, mtime_ns)
        except OSError as exc:
            raise NotIdenticalError(f"cannot confirm {path} is a copy: "
                                    f"{exc.strerror or exc}") from None
        seen.setdefault(digest, []).append(path)
    if len(seen) != 1:
        groups = "; ".join(", ".join(paths) for paths in seen.values())
        raise NotIdenticalError(f"these files share a sampled content identity but differ in "
                                f"full BLAKE3, so none is a copy of another: {groups}")
    return next(iter(seen))

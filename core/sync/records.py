"""The record store (`sync_records`): find local changes, merge received ones, pick what to send.

Every function runs on the caller's connection inside the caller's transaction.
"""
from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Iterable

from . import apply, state
from .rows import Touched
from .blobs import BlobRow, drop_unused_blobs, receive_blobs
from .errors import BundleCorruptError, ForeignWriteError
from .hlc import SyncClock, stamp_device


@dataclass(frozen=True)
class Record:
    key: str
    hlc: str
    value: str | None       # canonical JSON; None is a tombstone


def _last_seq(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM sync_meta WHERE key = 'seq'").fetchone()
    return int(row[0]) if row else 0


def _save_seq(conn: sqlite3.Connection, seq: int) -> None:
    conn.execute("INSERT INTO sync_meta (key, value) VALUES ('seq', ?) ON CONFLICT(key) "
                 "DO UPDATE SET value = excluded.value", (str(seq),))


def high_water(conn: sqlite3.Connection) -> int:
    """This device's last sequence number: what a peer has when it acknowledges it."""
    return _last_seq(conn)


def bump(conn: sqlite3.Connection) -> int:
    """A new sequence number with no record: marks news that is not a record (a need)."""
    seq = _last_seq(conn) + 1
    _save_seq(conn, seq)
    return seq


def _is_mine_to_scan(key: str, hlc: str, value: str | None, me: str) -> bool:
    """Shared records are compared with the tables; device-owned ones only when they are ours
    (a peer's entries and device-owned models are its word, not a change of ours)."""
    kind = state.kind_of(key)
    if kind == "model":
        owner = None if value is None else state.model_owner(json.loads(value))
        return owner is None or owner == me
    return kind in state.SHARED_KINDS or stamp_device(hlc) == me


def scan(conn: sqlite3.Connection, clock: SyncClock, device_id: int) -> int:
    """Stamp every difference between the tables and the records held: local changes since the
    last scan. Only the halves (shared, owned) whose tables were written since are read.
    Returns how many records it wrote."""
    parts = [r[0] for r in conn.execute("SELECT part FROM sync_dirty")]
    if not parts:
        return 0
    kinds = tuple(k for p in parts for k in state.PARTS[p])
    me = str(clock.device)
    current = state.extract(conn, device_id, parts)
    changed: list[tuple[str, str | None]] = []
    clear_pending: list[str] = []
    ranges = " OR ".join("(key >= ? AND key < ?)" for _ in kinds)   # 'tag/' <= key < 'tag0'
    bounds = [b for k in kinds for b in (f"{k}/", f"{k}0")]
    for key, hlc, value, pending in conn.execute(
            f"SELECT key, hlc, value, pending FROM sync_records WHERE {ranges}", bounds):
        if not _is_mine_to_scan(key, hlc, value, me):
            current.pop(key, None)
            continue
        now = current.pop(key, None)
        if now is None:
            if value is not None and not pending:
                changed.append((key, None))         # deleted here: a tombstone
        elif now != value:
            changed.append((key, now))
        elif pending:
            clear_pending.append(key)
    changed.extend(current.items())                 # new here
    seq = _last_seq(conn)
    stamps = clock.tick(conn, len(changed))
    rows = []
    for (key, value), stamp in zip(changed, stamps):
        seq += 1
        rows.append((key, stamp, value, seq))
    conn.executemany("INSERT INTO sync_records (key, hlc, value, seq, pending, via) "
                     "VALUES (?, ?, ?, ?, 0, NULL) ON CONFLICT(key) DO UPDATE SET "
                     "hlc = excluded.hlc, value = excluded.value, seq = excluded.seq, "
                     "pending = 0, via = NULL", rows)
    conn.executemany("UPDATE sync_records SET pending = 0 WHERE key = ?",
                     [(k,) for k in clear_pending])
    _save_seq(conn, seq)
    conn.execute("DELETE FROM sync_dirty")
    return len(rows)


def _owner(key: str, value: str | None) -> str | None:
    kind = state.kind_of(key)
    if kind == "device":
        return key.split("/", 1)[1]
    if value is None:
        return None
    v = json.loads(value)
    if kind == "model":
        return state.model_owner(v)
    return v["device"] if isinstance(v, dict) else None


def held(conn: sqlite3.Connection, keys: Iterable[str]) -> dict[str, tuple[str, str | None]]:
    """{key: (hlc, value)} of the records held for `keys` (one query per 500 keys)."""
    out: dict[str, tuple[str, str | None]] = {}
    keys = sorted(set(keys))
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        out.update((k, (h, v)) for k, h, v in conn.execute(
            f"SELECT key, hlc, value FROM sync_records WHERE key IN ({','.join('?' * len(chunk))})",
            chunk))
    return out


def check_owners(conn: sqlite3.Connection, records: Iterable[Record],
                 known: dict[str, tuple[str, str | None]]) -> None:
    """Refuse a device-owned record not stamped by the device that owns the row, or one that
    would hand a row to another owner. `known` is `held()` of the records' keys. (A record of
    this device's own rows, stamped by it, is accepted: after restoring a backup, its peers
    hand back what it wrote since.)"""
    for r in records:
        kind = state.kind_of(r.key)
        if kind not in state.OWNED_KINDS and kind != "model":
            continue
        writer = stamp_device(r.hlc)
        owner = _owner(r.key, r.value)
        h = known.get(r.key)
        if kind == "model":     # shared models are anyone's; device-owned ones their owner's
            held_owner = _owner(r.key, h[1]) if h and h[1] is not None else None
            if owner is None and held_owner is None:
                continue
        else:
            held_owner = _owner(r.key, h[1]) if h and h[1] is not None else \
                (stamp_device(h[0]) if h else None)
        problems = []
        if owner is not None and owner != writer:
            problems.append(f"device {writer} wrote {r.key}, which device {owner} owns")
        if held_owner is not None and held_owner != writer:
            problems.append(f"device {writer} wrote {r.key}, which device {held_owner} owns")
        if problems:
            raise ForeignWriteError("refused: " + problems[0])


def merge(conn: sqlite3.Connection, records: list[Record], via: uuid.UUID | None,
          known: dict[str, tuple[str, str | None]],
          blobs: list[BlobRow] = ()) -> int:  # type: ignore[assignment]
    """Apply the records that win by HLC (greater stamp than the one held, `known` being
    `held()` of their keys); returns how many. Records are applied in dependency order, then
    earlier pending ones are retried."""
    touched = Touched()
    arrived = receive_blobs(conn, list(blobs))
    seq = _last_seq(conn)
    stamps = {k: h for k, (h, _) in known.items()}
    rows = []
    ordered = sorted(records, key=lambda r: (state.APPLY_ORDER[state.kind_of(r.key)],
                                             r.value is not None, _depth(r)))
    for r in ordered:
        h = stamps.get(r.key)
        if h is not None and h >= r.hlc:
            continue
        seq += 1
        try:
            ok = apply.materialize(conn, r.key, r.value, touched)
        except (KeyError, TypeError, ValueError, AttributeError, sqlite3.IntegrityError) as exc:
            raise BundleCorruptError(f"record {r.key!r} cannot be applied: {exc!r}") from None
        stamps[r.key] = r.hlc
        rows.append((r.key, r.hlc, r.value, seq, 0 if ok else 1, via.bytes if via else None))
    conn.executemany("INSERT INTO sync_records (key, hlc, value, seq, pending, via) "
                     "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                     "hlc = excluded.hlc, value = excluded.value, seq = excluded.seq, "
                     "pending = excluded.pending, via = excluded.via", rows)
    _save_seq(conn, seq)
    retry_pending(conn, touched)
    touched.recount(conn)
    drop_unused_blobs(conn, arrived)
    return len(rows)


def _depth(r: Record) -> int:
    """Parents before children, so an entry's parent row exists when it is applied."""
    if r.value is None or state.kind_of(r.key) != "entry":
        return 0
    return json.loads(r.value)["path"].count("/")


def retry_pending(conn: sqlite3.Connection, touched: Touched) -> None:
    """Apply waiting records whose targets have arrived, until no more can be applied."""
    while True:
        rows = conn.execute("SELECT key, value FROM sync_records WHERE pending = 1").fetchall()
        rows.sort(key=lambda kv: state.APPLY_ORDER[state.kind_of(kv[0])])
        done = [k for k, v in rows if apply.materialize(conn, k, v, touched)]
        if not done:
            return
        conn.executemany("UPDATE sync_records SET pending = 0 WHERE key = ?", [(k,) for k in done])


def outgoing(conn: sqlite3.Connection, after_seq: int, exclude_via: uuid.UUID | None
             ) -> list[Record]:
    """Records changed after `after_seq`, except those that came from the peer itself."""
    rows = conn.execute("SELECT key, hlc, value FROM sync_records WHERE seq > ? AND "
                        "(via IS NULL OR via IS NOT ?) ORDER BY seq",
                        (after_seq, exclude_via.bytes if exclude_via else None)).fetchall()
    return [Record(*r) for r in rows]

"""Peers: the devices this one exchanges with, their cursors, secrets and pairing codes."""
from __future__ import annotations

import datetime as _dt
import hashlib
import secrets
import sqlite3
import uuid
from dataclasses import dataclass

from core.store.clock import now_iso, utc_now
from .errors import PairingError

CODE_TTL = _dt.timedelta(minutes=10)
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"     # no 0/O, 1/I: read aloud, typed by hand


@dataclass(frozen=True)
class Peer:
    device_uuid: uuid.UUID
    name: str | None
    url: str | None
    secret: str | None
    acked_seq: int
    recv_seq: int
    paired_at: str | None
    revoked_at: str | None
    last_sync_at: str | None
    need: str = "[]"           # JSON list of blob hashes the peer lacks
    resend_below: int = 0      # it lost records (a restored backup): send it its own ones too

    @property
    def lost_records(self) -> bool:
        """Until it acknowledges `resend_below`, records that came from the peer are sent back
        to it as well: after restoring a backup it no longer has them."""
        return self.acked_seq < self.resend_below


_COLS = ("device_uuid, name, url, secret, acked_seq, recv_seq, paired_at, revoked_at, "
         "last_sync_at, need, resend_below")


def _peer(row: tuple) -> Peer:
    return Peer(uuid.UUID(bytes=row[0]), *row[1:])


def get(conn: sqlite3.Connection, device: uuid.UUID) -> Peer | None:
    row = conn.execute(f"SELECT {_COLS} FROM sync_peers WHERE device_uuid = ?",
                       (device.bytes,)).fetchone()
    return _peer(row) if row else None


def find(conn: sqlite3.Connection, name_or_uuid: str) -> Peer | None:
    """A peer by device uuid or name (a device seen in a bundle is a peer too)."""
    try:
        return get(conn, uuid.UUID(str(name_or_uuid)))
    except ValueError:
        pass
    row = conn.execute(f"SELECT {_COLS} FROM sync_peers WHERE name = ? ORDER BY paired_at DESC",
                       (name_or_uuid,)).fetchone()
    return _peer(row) if row else None


def all_peers(conn: sqlite3.Connection) -> list[Peer]:
    return [_peer(r) for r in conn.execute(f"SELECT {_COLS} FROM sync_peers ORDER BY name")]


def ensure(conn: sqlite3.Connection, device: uuid.UUID, name: str | None) -> Peer:
    conn.execute("INSERT INTO sync_peers (device_uuid, name) VALUES (?, ?) ON CONFLICT"
                 "(device_uuid) DO UPDATE SET name = coalesce(excluded.name, name)",
                 (device.bytes, name))
    return get(conn, device)  # type: ignore[return-value]


def advance(conn: sqlite3.Connection, device: uuid.UUID, *, recv_seq: int | None = None,
            acked_seq: int | None = None, exact: bool = False) -> None:
    """Move a peer's cursors forward: never back, since a bundle file with an old ack may
    arrive late. `exact` (a live link, where answers come in order): the peer's word is taken
    even when lower, as after it restored a backup (see `forgot`)."""
    pick = "?" if exact else "max({col}, ?)"
    if recv_seq is not None:
        conn.execute(f"UPDATE sync_peers SET recv_seq = {pick.format(col='recv_seq')} "
                     "WHERE device_uuid = ?", (recv_seq, device.bytes))
    if acked_seq is not None:
        conn.execute(f"UPDATE sync_peers SET acked_seq = {pick.format(col='acked_seq')} "
                     "WHERE device_uuid = ?", (acked_seq, device.bytes))
    conn.execute("UPDATE sync_peers SET last_sync_at = ? WHERE device_uuid = ?",
                 (now_iso(), device.bytes))


def forgot(conn: sqlite3.Connection, device: uuid.UUID, acked_seq: int) -> None:
    """The peer lost records (it restored a backup): it has our changes only up to
    `acked_seq`, and not all it once sent us. Send from there, including what came from it,
    until it has caught up."""
    high = conn.execute("SELECT value FROM sync_meta WHERE key = 'seq'").fetchone()
    conn.execute("UPDATE sync_peers SET resend_below = ?, acked_seq = ? WHERE device_uuid = ?",
                 (int(high[0]) if high else 0, acked_seq, device.bytes))


def set_secret(conn: sqlite3.Connection, device: uuid.UUID, name: str | None, secret: str,
               url: str | None = None) -> None:
    ensure(conn, device, name)
    conn.execute("UPDATE sync_peers SET secret = ?, url = coalesce(?, url), paired_at = ?, "
                 "revoked_at = NULL WHERE device_uuid = ?", (secret, url, now_iso(), device.bytes))


def revoke(conn: sqlite3.Connection, device: uuid.UUID) -> bool:
    return conn.execute("UPDATE sync_peers SET secret = NULL, revoked_at = ? WHERE device_uuid = ? "
                        "AND revoked_at IS NULL", (now_iso(), device.bytes)).rowcount > 0


def secret_of(conn: sqlite3.Connection, device: uuid.UUID) -> str | None:
    """The live secret of a paired, unrevoked peer; None for anyone else."""
    row = conn.execute("SELECT secret FROM sync_peers WHERE device_uuid = ? AND revoked_at IS NULL",
                       (device.bytes,)).fetchone()
    return row[0] if row else None


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().replace("-", "").encode()).hexdigest()


def new_code(conn: sqlite3.Connection) -> str:
    """A one-time pairing code (about 50 bits, valid CODE_TTL); only its hash is stored."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    expires = (utc_now() + CODE_TTL).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    conn.execute("DELETE FROM sync_pairing WHERE expires_at < ?", (now_iso(),))
    conn.execute("INSERT INTO sync_pairing (code_hash, expires_at) VALUES (?, ?)",
                 (_hash(raw), expires))
    return f"{raw[:5]}-{raw[5:]}"


def redeem(conn: sqlite3.Connection, code: str) -> None:
    """Use up a pairing code; PairingError if it is unknown, used or expired."""
    if not isinstance(code, str) or not code:
        raise PairingError("a pairing code is required")
    row = conn.execute("DELETE FROM sync_pairing WHERE code_hash = ? RETURNING expires_at",
                       (_hash(code),)).fetchone()
    if row is None or row[0] < now_iso():
        raise PairingError("pairing code is wrong, already used or expired: run `vdfs pair` "
                           "again on the other device")


def new_secret() -> str:
    return secrets.token_hex(32)

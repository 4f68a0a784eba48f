"""Sync between devices: `lib.sync` (docs/sync.md).

`Sync` ties the parts together: the clock (hlc.py), the scan and merge of records
(records.py), the tables they are applied to (apply.py), bundle files (bundle.py), peers
(peers.py) and the HTTP transport (http.py).
"""
from __future__ import annotations

import json
import os
import sqlite3
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.store.clock import now_iso
from core.store.txn import transaction
from . import blobs, bundle as bundles, peers, records, state
from .errors import (BundleOutOfOrderError, BundleReplayedError, ForeignLibraryError,
                     ForeignWriteError, PairingError, SyncError)
from .hlc import SyncClock
from .http import sync_with, SyncServer
from .job import JOB_NAME

if TYPE_CHECKING:  # pragma: no cover
    from core.jobs import Job
    from core.library import Library

    from .http import SyncServer

__all__ = ["Sync", "SyncError", "ImportResult", "devices"]


@dataclass(frozen=True)
class ImportResult:
    sender: str
    received: int           # records in the bundle
    applied: int            # records that won and were applied
    local_changes: int      # local changes stamped before applying


class Sync:
    """One library's sync endpoint. Every operation is one transaction: all or nothing."""

    def __init__(self, lib: Library):
        self.lib = lib
        self.clock = SyncClock(lib.device_uuid)

    # ---- identity -------------------------------------------------------------------------
    def library_id(self, conn: sqlite3.Connection | None = None) -> str:
        row = (conn or self.lib.conn).execute(
            "SELECT value FROM sync_meta WHERE key = 'library_id'").fetchone()
        return row[0] if row else str(self.lib.info["id"])

    def _joinable(self, conn: sqlite3.Connection) -> bool:
        """Never exchanged with anyone: may still adopt another library's id."""
        return conn.execute("SELECT 1 FROM sync_peers LIMIT 1").fetchone() is None

    def _check_library(self, conn: sqlite3.Connection, other: str, join: bool) -> None:
        mine = self.library_id(conn)
        if other == mine:
            return
        if join and self._joinable(conn):
            conn.execute("INSERT INTO sync_meta (key, value) VALUES ('library_id', ?) "
                         "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (other,))
            return
        hint = "" if join else " (a new, empty library joins it with join=True / --join)"
        raise ForeignLibraryError(f"this bundle or peer belongs to library {other}, not to this "
                                  f"library {mine}{hint}")

    # ---- local changes --------------------------------------------------------------------
    def scan(self) -> int:
        """Stamp local changes since the last scan (every export and import does this first)."""
        with transaction(self.lib.conn) as conn:
            return records.scan(conn, self.clock, self.lib.device_id)

    def digest(self) -> str:
        """A hash of every replicated table: equal on two devices exactly when they agree."""
        return state.digest(self.lib.conn)

    def pending(self, peer: str | None = None) -> int:
        """How many records a peer has not acknowledged (all records when no peer is named)."""
        self.scan()
        conn = self.lib.conn
        p = peers.find(conn, peer) if peer else None
        return conn.execute("SELECT count(*) FROM sync_records WHERE seq > ?",
                            (p.acked_seq if p else 0,)).fetchone()[0]

    # ---- bundles --------------------------------------------------------------------------
    def make_bundle(self, peer: str | uuid.UUID | None = None) -> bundles.Bundle:
        """The records `peer` has not acknowledged (every record when None), with our ack."""
        with transaction(self.lib.conn) as conn:
            records.scan(conn, self.clock, self.lib.device_id)
            p = None
            if peer is not None:
                p = peers.find(conn, str(peer))
                if p is None:
                    raise PairingError(f"no peer {peer!s}: import a bundle from it or pair first")
            after = p.acked_seq if p else 0
            recs = records.outgoing(conn, after, p.device_uuid if p and not p.lost_records
                                    else None)
            need = blobs.missing(conn)
            # Asking for blobs is news even when no record changed: a new seq, not a replay.
            high = records.bump(conn) if need else records.high_water(conn)
            sending = blobs.to_send(conn, recs, p.device_uuid if p else None, after,
                                    json.loads(p.need) if p else [])
            if p:
                blobs.sent(conn, p.device_uuid, sending, high)
            return bundles.Bundle(
                library_id=self.library_id(conn), sender=str(self.lib.device_uuid),
                sender_name=self.lib.device_name, to=str(p.device_uuid) if p else None,
                from_seq=after, to_seq=high, ack=p.recv_seq if p else 0,
                records=recs, blobs=sending, need=need)

    def export(self, path: str | os.PathLike[str], peer: str | uuid.UUID | None = None) -> int:
        """Write a bundle file for `peer` (or a full one); returns its size in bytes."""
        return bundles.write(path, self.make_bundle(peer))

    def import_(self, path: str | os.PathLike[str], *, join: bool = False) -> ImportResult:
        """Apply a bundle file; refuses corrupt, truncated, replayed, out-of-order and
        foreign-library bundles with a SyncError, changing nothing."""
        return self.receive(bundles.read(path), join=join)

    def receive(self, b: bundles.Bundle, *, join: bool = False, live: bool = False
                ) -> ImportResult:
        """Apply a decoded bundle. `live` (HTTP): a push of records the receiver already has
        is normal there (acknowledgements lag one round trip), so it is applied (idempotently)
        instead of being refused as a replay, and the peer's ack is taken as it is."""
        conn = self.lib.conn
        sender = uuid.UUID(b.sender)
        if sender == self.lib.device_uuid:
            raise SyncError("this bundle was written by this device itself")
        try:
            with transaction(conn):
                self._check_library(conn, b.library_id, join)
                p = peers.ensure(conn, sender, b.sender_name)
                _check_order(b, p, live)
                local = records.scan(conn, self.clock, self.lib.device_id)
                known = records.held(conn, (r.key for r in b.records))
                records.check_owners(conn, b.records, known)
                if b.records:
                    self.clock.observe(conn, max(r.hlc for r in b.records))
                applied = records.merge(conn, b.records, sender, known, b.blobs)
                # The scan above read this device's own rows; the peer's rows just written are
                # not ours, so they need no second look (shared side effects keep their mark).
                conn.execute("DELETE FROM sync_dirty WHERE part = 'owned'")
                blobs.received(conn, sender, b.blobs, b.need)
                to_me = b.to == str(self.lib.device_uuid)
                peers.advance(conn, sender, recv_seq=b.to_seq, acked_seq=b.ack if to_me else None,
                              exact=live)
                if live and (b.to_seq < p.recv_seq or (to_me and b.ack < p.acked_seq)):
                    peers.forgot(conn, sender, b.ack if to_me else 0)   # its counter went back
        except ForeignWriteError as exc:
            conn.execute("INSERT INTO sync_refusals (at, peer, reason) VALUES (?, ?, ?)",
                         (now_iso(), sender.bytes, str(exc)))
            raise
        return ImportResult(b.sender, len(b.records), applied, local)

    # ---- devices and peers ----------------------------------------------------------------
    def devices(self) -> list[dict[str, Any]]:
        return devices(self.lib)

    def status(self) -> list[dict[str, Any]]:
        """Every device as a row to show: name, state (this device, paired, seen), entries,
        last sync and the changes it has not acknowledged from this one."""
        rows = []
        for d in self.devices():
            state = "this device" if d["this_device"] else ("paired" if d["paired"] else "seen")
            rows.append({"device": d["name"], "state": state, "entries": d["entries"],
                         "last sync": d["last_sync_at"] or "never",
                         "to send": "" if d["this_device"] else self.pending(str(d["uuid"]))})
        return rows

    def pair(self) -> str:
        """A one-time code another device presents once to pair with this one."""
        with transaction(self.lib.conn) as conn:
            return peers.new_code(conn)

    def revoke(self, peer: str) -> bool:
        with transaction(self.lib.conn) as conn:
            p = peers.find(conn, peer)
            return bool(p and peers.revoke(conn, p.device_uuid))

    def with_peer(self, url: str, *, code: str | None = None, cafile: str | None = None
                  ) -> ImportResult:
        """Push our changes to a live peer and pull its own (pairing first with `code`;
        `cafile` to trust the self-made certificate of an https peer)."""
        return sync_with(self, url, code=code, cafile=cafile)

    def start(self, url: str | None = None) -> Job:
        """Sync with `url`, or with every paired peer, as a job (progress, resumable)."""
        return self.lib.jobs.submit(JOB_NAME, {"url": url} if url else {})

    def serve(self, port: int = 0, host: str = "127.0.0.1", *, certfile: str | None = None,
              keyfile: str | None = None) -> SyncServer:
        """Start serving this library to paired peers in a background thread."""
        return SyncServer(self, host=host, port=port, certfile=certfile, keyfile=keyfile).start()


def _check_order(b: bundles.Bundle, p: peers.Peer, live: bool) -> None:
    if b.from_seq > p.recv_seq:
        raise BundleOutOfOrderError(
            f"bundle from {b.sender_name} starts after its change {b.from_seq}, but this library "
            f"has its changes only up to {p.recv_seq}: import the earlier bundle first, or ask "
            "for a new export")
    if b.to_seq <= p.recv_seq and b.to_seq > b.from_seq and not live:
        raise BundleReplayedError(
            f"bundle from {b.sender_name} (its changes {b.from_seq + 1}..{b.to_seq}) was already "
            "imported: nothing to do")


def devices(lib: Library) -> list[dict[str, Any]]:
    """Every device of the library, with its sync state as seen from this one and what it can
    do (cpus, memory, gpu, models …: core.devices.capabilities; {} until it has said)."""
    conn = lib.conn
    rows = conn.execute(
        "SELECT d.uuid, d.name, d.hostname, d.os, d.last_seen_at, p.last_sync_at, p.paired_at, "
        "p.revoked_at, (SELECT count(*) FROM locations l WHERE l.device_id = d.id), "
        "(SELECT count(*) FROM entries e JOIN locations l ON l.id = e.location_id "
        " WHERE l.device_id = d.id), d.capabilities "
        "FROM devices d LEFT JOIN sync_peers p ON p.device_uuid = d.uuid ORDER BY d.id").fetchall()
    return [{"uuid": uuid.UUID(bytes=r[0]), "name": r[1], "hostname": r[2], "os": r[3],
             "this_device": r[0] == lib.device_uuid.bytes, "last_seen_at": r[4],
             "last_sync_at": r[5], "paired": bool(r[6]) and r[7] is None,
             "locations": r[8], "entries": r[9],
             "capabilities": json.loads(r[10]) if r[10] else {}} for r in rows]

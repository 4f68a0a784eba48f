"""The sync clock: a hybrid logical clock persisted in `sync_meta`, stamps `%016x-%016x-<uuid>`.

Fixed-width hex makes text order equal to clock order; the device uuid breaks ties. Every
operation reads and writes the persisted state on the caller's connection, inside the caller's
transaction, so two processes syncing one library never hand out the same stamp, and a stamp
received from a peer moves this device's clock forward for good.
"""
from __future__ import annotations

import sqlite3
import time
import uuid
from typing import Callable

from core.store.changelog import MAX_AHEAD_MS
from .errors import ClockSkewError, SyncError

_KEY = "hlc"


def format_stamp(ms: int, counter: int, device: uuid.UUID) -> str:
    return f"{ms:016x}-{counter:016x}-{device}"


def parse_stamp(stamp: str) -> tuple[int, int, uuid.UUID]:
    """(physical ms, counter, device) of a stamp; SyncError names a malformed one."""
    try:
        ms, counter, device = stamp.split("-", 2)
        if len(ms) != 16 or len(counter) != 16:
            raise ValueError(stamp)
        return int(ms, 16), int(counter, 16), uuid.UUID(device)
    except (AttributeError, ValueError):
        raise SyncError(f"not a sync HLC stamp: {stamp!r} (want %016x-%016x-<device uuid>)") \
            from None


def stamp_device(stamp: str) -> str:
    """The writer's uuid as text (cheap: no parsing of the clock parts)."""
    return stamp[34:]


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class SyncClock:
    """One device's sync HLC. `wall` is the wall clock in ms (tests skew it)."""

    def __init__(self, device: uuid.UUID, wall: Callable[[], int] = wall_ms):
        self.device = device
        self.wall = wall

    def _load(self, conn: sqlite3.Connection) -> tuple[int, int]:
        row = conn.execute("SELECT value FROM sync_meta WHERE key = ?", (_KEY,)).fetchone()
        if row is None:
            return 0, 0
        ms, counter, _ = parse_stamp(row[0])
        return ms, counter

    def _save(self, conn: sqlite3.Connection, ms: int, counter: int) -> str:
        stamp = format_stamp(ms, counter, self.device)
        conn.execute("INSERT INTO sync_meta (key, value) VALUES (?, ?) ON CONFLICT(key) "
                     "DO UPDATE SET value = excluded.value", (_KEY, stamp))
        return stamp

    def tick(self, conn: sqlite3.Connection, count: int = 1) -> list[str]:
        """`count` fresh stamps for local changes, each greater than any stamp seen so far."""
        ms, counter = self._load(conn)
        wall = self.wall()
        out = []
        for _ in range(count):
            if wall > ms:
                ms, counter = wall, 0
            else:
                counter += 1
            out.append(format_stamp(ms, counter, self.device))
        if out:
            self._save(conn, ms, counter)
        return out

    def observe(self, conn: sqlite3.Connection, remote: str) -> None:
        """Merge a received stamp, so the next local stamp sorts after it. A stamp more than
        MAX_AHEAD_MS ahead of this device's wall clock is refused: taken in, it would drag
        every later stamp of every device that far into the future, for good."""
        r_ms, r_counter, device = parse_stamp(remote)
        ahead = r_ms - self.wall()
        if ahead > MAX_AHEAD_MS:
            raise ClockSkewError(
                f"device {device} stamps its changes {ahead / 3_600_000:.1f} hours ahead of this "
                "device's clock: fix the clock of one of them, then sync again")
        ms, counter = self._load(conn)
        if (r_ms, r_counter) > (ms, counter):
            self._save(conn, r_ms, r_counter)

"""Hybrid logical clock and the sync log: every shared mutation gets an HLC stamp and a row.

An HLC stamp is text that sorts in causal order across devices:
`<unix ms, 13 digits>-<counter, 6 digits>-<device uuid hex>`. The physical part follows the
wall clock but never goes backwards; the counter orders events within one millisecond; the
device breaks ties. `observe()` merges a stamp received from another device (sync).
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from .clock import now_iso

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library

_COUNTER_MAX = 999_999
MAX_AHEAD_MS = 24 * 3_600_000   # a received stamp further ahead of our wall clock is refused


def format_hlc(ms: int, counter: int, device: uuid.UUID) -> str:
    return f"{ms:013d}-{counter:06d}-{device.hex}"


def parse_hlc(stamp: str) -> tuple[int, int, str]:
    """(physical ms, counter, device hex) of a stamp; ValueError names a malformed one."""
    try:
        ms, counter, device = stamp.split("-")
        return int(ms), int(counter), device
    except (AttributeError, ValueError):
        raise ValueError(f"not an HLC timestamp: {stamp!r} (want <ms>-<counter>-<device>)") from None


class HybridClock:
    """One device's HLC. Thread-safe; stamps from one clock are strictly increasing."""

    def __init__(self, device: uuid.UUID, last: str | None = None):
        self.device = device
        self._lock = threading.Lock()
        self._ms, self._counter = (0, 0)
        if last:
            self._ms, self._counter, _ = parse_hlc(last)

    def now(self) -> str:
        with self._lock:
            wall = time.time_ns() // 1_000_000
            if wall > self._ms:
                self._ms, self._counter = wall, 0
            else:
                self._advance_counter()
            return format_hlc(self._ms, self._counter, self.device)

    def observe(self, remote: str) -> str:
        """Merge a remote stamp so that the next local stamp sorts after it. A stamp more than
        MAX_AHEAD_MS ahead of the wall clock is refused (ValueError): taken in, it would drag
        every later stamp that far into the future, past the 13 digits near its end."""
        r_ms, r_counter, _ = parse_hlc(remote)
        with self._lock:
            wall = time.time_ns() // 1_000_000
            if r_ms - wall > MAX_AHEAD_MS:
                raise ValueError(f"HLC stamp {remote!r} is {(r_ms - wall) / 3_600_000:.1f} hours "
                                 "ahead of this device's clock: refused")
            if wall > self._ms and wall > r_ms:
                self._ms, self._counter = wall, 0
            elif r_ms > self._ms:
                self._ms, self._counter = r_ms, r_counter
                self._advance_counter()
            elif r_ms == self._ms:
                self._counter = max(self._counter, r_counter)
                self._advance_counter()
            else:
                self._advance_counter()
            return format_hlc(self._ms, self._counter, self.device)

    def _advance_counter(self) -> None:
        self._counter += 1
        if self._counter > _COUNTER_MAX:  # a thousand thousand events in one ms: borrow the next
            self._ms, self._counter = self._ms + 1, 0


def resume_clock(lib: Library) -> HybridClock:
    """This device's clock, resumed from the last stamp it wrote (`lib.clock` holds it)."""
    row = lib.conn.execute("SELECT max(hlc) FROM sync_log WHERE device_uuid = ?",
                           (lib.device_uuid.bytes,)).fetchone()
    return HybridClock(lib.device_uuid, row[0] if row else None)


def record(lib: Library, conn: sqlite3.Connection, table: str, record_uuid: uuid.UUID, op: str,
           data: dict[str, Any] | None = None, *, hlc: str | None = None) -> str:
    """Append one sync_log row (in the caller's transaction) and return its HLC stamp."""
    if op not in ("insert", "update", "delete"):
        raise ValueError(f"sync_log op must be insert, update or delete, not {op!r}")
    stamp = hlc or lib.clock.now()
    conn.execute(
        "INSERT INTO sync_log (hlc, device_uuid, table_name, record_uuid, op, data, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (stamp, lib.device_uuid.bytes, table, record_uuid.bytes, op,
         None if data is None else json.dumps(data, sort_keys=True, default=str), now_iso()))
    return stamp

"""Content identification: hash every file whose entry has no content identity yet.

What to hash is read from the database (files with size > 0 and content_id NULL), not from
memory, so the phase resumes after a crash by simply running again. Each batch — hashes,
new identities, entry links and entry_count increments — commits as one transaction.
Large jobs split each batch statically between this process and worker processes.

A new identity's kind and MIME come from its bytes alone (core/content/kinds.py `content_type`), so
they never depend on which copy was hashed first; identities written by an older rule are
recomputed from one readable copy in this location at the end of the phase (`refresh_kinds`).
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from typing import Callable

from core.content.identity import content_uuid_bytes
from core.content.kinds import CONTENT_RULE, content_type
from .events import payload
from .hashing import Item, Result, hash_batch, read_head
from .store import chunks, store_identities, subtree_sql, write_tx
from .hashworker import HashWorker

PARALLEL_MIN = 4096   # fewer files than this are hashed in-process only
SHARE_MIN = 64        # a batch smaller than this is not worth sending to a worker


def spawn_workers(n: int) -> list:
    """Start n hash worker processes (they take a moment to import; start them early)."""
    return [HashWorker() for _ in range(n)]


@dataclass
class ContentStats:
    hashed: int = 0
    seconds_hashing: float = 0.0   # in this process, workers' shares excluded
    seconds_waiting: float = 0.0   # for the workers' shares
    seconds_writing: float = 0.0
    bytes: int = 0
    identities_created: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    events: list[tuple[str, dict]] = field(default_factory=list)


class ContentIdentifier:
    def __init__(self, conn: sqlite3.Connection, location_id: int, root: str, whole: bool,
                 now: str, first_new_id: int, want_events: bool, workers: int):
        self.conn = conn
        self.loc = location_id
        self.root = root
        self.whole = whole
        self.now = now
        self.first_new_id = first_new_id
        self.want_events = want_events
        self.workers = max(1, workers)
        self.stats = ContentStats()
        self._pool: list = []   # HashWorker processes
        self._main_share = 1.0  # of each batch hashed here; the rest goes to the workers
        self._ready: dict[int, tuple[int, Result]] = {}

    def pending(self) -> list[tuple]:
        frag, params = subtree_sql(self.root, self.whole)
        return self.conn.execute(
            "SELECT id, uuid, path, raw_path, size, ext, kind FROM entries "
            f"WHERE location_id = ?{frag} AND is_dir = 0 AND content_id IS NULL AND size > 0 "
            "AND kind != 'symlink' ORDER BY id", (self.loc, *params)).fetchall()

    def _start(self, batch: list[tuple]) -> tuple[list[tuple], list[Item], int, list[Result]]:
        """Send the workers their static shares of `batch`; return what this process hashes
        itself (its share shrinks when writing the batches keeps it busy), and the results
        already hashed ahead (see prefetch.py)."""
        ready: list[Result] = []
        rows = batch
        if self._ready:
            rows = []
            for r in batch:
                hit = self._ready.pop(r[0], None)
                if hit is not None and hit[0] == r[4]:   # hashed at the size stored now
                    ready.append(hit[1])
                else:
                    rows.append(r)
        items = [(r[0], r[3] if r[3] is not None else r[2], r[4], r[5]) for r in rows]
        if not self._pool or len(items) < SHARE_MIN:
            return batch, items, 0, ready
        n = len(self._pool)
        keep = int(len(items) * self._main_share)
        step = -(-(len(items) - keep) // n)
        parts = [items[keep + i * step:keep + (i + 1) * step] for i in range(n)]
        for worker, part in zip(self._pool, parts):
            worker.send(part)
        return batch, items[:keep], n, ready

    def _rebalance(self, batch_len: int, worker_items: int, worker_secs: float,
                   write_secs: float) -> None:
        """Balance main = share*H + W against worker = (1-share)*H/n, where H is the time one
        process would take to hash the batch and W the time to write it."""
        if worker_items <= 0:
            return
        n = len(self._pool)
        hash_all = worker_secs / worker_items * batch_len
        share = (hash_all / n - write_secs) / (hash_all * (1 + 1 / n)) if hash_all else 0.0
        self._main_share = max(0.0, min(1 / (n + 1), share))

    def run(self, batch_size: int, after_batch: Callable[[int, int, int], None]) -> ContentStats:
        todo = self.pending()
        total = len(todo)
        if self._pool or (self.workers >= 2 and total >= PARALLEL_MIN):
            if not self._pool:
                self._pool = spawn_workers(self.workers - 1)
            self._main_share = 1 / (len(self._pool) + 1)
        try:
            batches = list(chunks(todo, batch_size))
            done = 0
            nxt = self._start(batches[0]) if batches else None
            for i in range(len(batches)):
                batch, mine, sent, ready = nxt
                t0 = time.perf_counter()
                results = ready + hash_batch(mine)
                t1 = time.perf_counter()
                worker_secs, worker_items = 0.0, len(batch) - len(mine) - len(ready)
                for worker in self._pool[:sent]:
                    part, secs = worker.receive()
                    results.extend(part)
                    worker_secs = max(worker_secs, secs)
                # the workers hash the next batch while this one is written
                nxt = self._start(batches[i + 1]) if i + 1 < len(batches) else None
                t2 = time.perf_counter()
                self._write({r[0]: r for r in batch}, results)
                t3 = time.perf_counter()
                self.stats.seconds_hashing += t1 - t0
                self.stats.seconds_waiting += t2 - t1
                self.stats.seconds_writing += t3 - t2
                if sent:
                    self._rebalance(len(batch), worker_items // sent, worker_secs, t3 - t2)
                done += len(batch)
                after_batch(done, total, self.stats.bytes)
        finally:
            self.close()
        refresh_kinds(self.conn, self.loc, self.root, self.whole)
        return self.stats

    def adopt(self, pool: list, ready: dict[int, tuple[int, Result]] | None = None) -> None:
        """Use hash workers started earlier (their start-up overlapped the walk) and the
        results they hashed ahead: entry id -> (size hashed, result)."""
        self._pool = pool
        self._ready = ready or {}

    def close(self) -> None:
        for worker in self._pool:
            worker.close()
        self._pool = []

    def _write(self, rows: dict[int, tuple], results: list[Result]) -> None:
        conn, st = self.conn, self.stats
        good = [r for r in results if r[1] is not None]
        new_ids: dict[str, tuple] = {}
        for eid, digest, _, (ckind, mime), _ in good:
            if digest not in new_ids:
                new_ids[digest] = (rows[eid][4], ckind, mime)
        per_hash: dict[str, int] = {}
        for r in good:
            per_hash[r[1]] = per_hash.get(r[1], 0) + 1
        with write_tx(conn):
            ident, created = store_identities(conn, self.now, new_ids, per_hash)
            conn.executemany("UPDATE entries SET content_id = ?, kind = ? WHERE id = ?",
                             [(ident[d][0], kind, eid) for eid, d, kind, _, _ in good])
        st.identities_created += created
        st.hashed += len(good)
        st.bytes += sum(rows[r[0]][4] for r in good)
        for eid, digest, kind, mime, error in results:
            if error is not None:
                item = {"path": rows[eid][2], "reason": error}
                (st.skipped if error.startswith(("vanished", "changed")) else st.errors
                 ).append(item)
        if self.want_events:
            for eid, digest, kind, mime, error in results:
                r = rows[eid]
                what = "entry.created" if eid >= self.first_new_id else "entry.modified"
                st.events.append((what, payload(
                    r[1], r[2], kind if digest else r[6], ident[digest][1] if digest else None)))


def refresh_kinds(conn: sqlite3.Connection, location_id: int, root: str, whole: bool) -> int:
    """Recompute kind and MIME, from the bytes of one readable copy under `root`, for every
    identity whose row an older content rule wrote; returns how many were fixed. After the
    first run the indexed `kind_rule` range is empty, so a re-index pays one index probe."""
    if conn.execute("SELECT 1 FROM content_identities WHERE kind_rule < ? LIMIT 1",
                    (CONTENT_RULE,)).fetchone() is None:
        return 0
    frag, params = subtree_sql(root, whole, "e")
    stale = conn.execute(
        "SELECT c.id, e.raw_path, e.path FROM content_identities c "
        "JOIN entries e ON e.content_id = c.id "
        f"WHERE c.kind_rule < ? AND e.location_id = ?{frag} ORDER BY c.id, e.id",
        (CONTENT_RULE, location_id, *params)).fetchall()
    fixed: dict[int, tuple] = {}
    for cid, raw, path in stale:
        if cid in fixed:
            continue
        try:
            head = read_head(raw if raw is not None else path)
        except OSError:
            continue        # try another copy; with none readable the row waits for next time
        fixed[cid] = (*content_type(head), CONTENT_RULE, cid)
    if fixed:
        with write_tx(conn):
            conn.executemany("UPDATE content_identities SET kind = ?, mime_type = ?, "
                             "kind_rule = ? WHERE id = ?", list(fixed.values()))
    return len(fixed)

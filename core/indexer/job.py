"""The "core.index" job: discovery → processing → content → aggregation → finalisation.

Crash safety: every phase writes in transactions and is idempotent, and the checkpoint (in
jobs.db) records which phase to start from. Discovery and processing run again together after
a crash (the diff against committed rows is the remaining work); content, aggregation and
finalisation read what to do from library.db. So a job killed at any point and resumed ends
with the same rows as one that never stopped.

Large trees take two faster paths (each covered by the same crash tests): a first load into an
empty library drops the entries indexes and rebuilds them after hashing (their SQL is kept in
the checkpoint, so a resumed job restores them first) and writes each row once, its folder
totals and content known ahead (firstload.py); a re-index of a big location walks in two
processes (split.py). Hashing uses worker processes in big static batches. With a
second core, a first load's name search index is built by a helper from the rows as they
commit and copied in at the end (searchworker.py); a resumed load rebuilds it instead.

Test knobs (environment variables: a crash at a chosen safe point, lower thresholds for the
faster paths) are read by knobs.py.
"""
from __future__ import annotations

import gc
import os
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator

from core.store.clock import now_iso
from core.store.events import Event
from core.domain.locations import get_location
from core.domain.metadata import delete_unused_content
from . import content, firstload
from .aggregate import aggregate
from .content import ContentIdentifier
from .knobs import CrashHook, env_int
from .lock import IndexLock
from .prefetch import Prefetcher
from .process import Processor
from .searchworker import SearchBuilder
from .split import discover_split
from .store import load_root_rows, load_stored, next_id, write_tx
from .walk import discover

if TYPE_CHECKING:  # pragma: no cover
    from core.jobs.context import JobContext

JOB_NAME = "core.index"
PHASES = ("discovery", "processing", "content", "aggregation", "finalisation")
MAX_LISTED = 1000          # errors / skipped paths kept in a result
DEFAULT_BATCH = 50000      # rows per transaction: fewer commits rewrite fewer index pages
CONTENT_BATCH = 10000      # files per hashing batch: enough stages for workers to overlap writes
SPLIT_MIN = 20000          # stored entries from which a re-index walks in two processes


def _capped(items: list[dict[str, str]]) -> list[dict[str, str]]:
    return items[:MAX_LISTED]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The walk and the diff allocate hundreds of thousands of acyclic tuples; the cyclic
    garbage collector would rescan them over and over (~15% of a re-index). Paused for the
    phase, restored after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class IndexRun:
    """One run of the job (a resumed job is a new run that starts at the saved phase)."""

    def __init__(self, ctx: JobContext, location_id: int, path: str, batch_size: int,
                 workers: int | None):
        self.ctx = ctx
        self.lib = ctx.lib
        self.loc = get_location(self.lib, int(location_id))
        self.batch = max(1, int(batch_size))
        self.workers = workers if workers is not None else (
            2 if (os.cpu_count() or 1) >= 2 else 1)
        self.crash = CrashHook()
        self.hash_pool: list = []
        self.prefetch: Prefetcher | None = None
        self.search: SearchBuilder | None = None   # a first load's search index, built apart
        self.conn = self.lib.connect()
        # Big batches rewrite the same pages; checkpointing the WAL every 80 MB rather than
        # every 4 MB copies each page back fewer times (~15% of write time). Finalise
        # checkpoints once at the end.
        self.conn.execute("PRAGMA wal_autocheckpoint = 20000")
        self.bus = self.lib.events
        self.want_events = self.bus.listener_count() > 0
        self.state: dict[str, Any] = dict(ctx.state or {})
        self.resumed = bool(self.state)
        self.now = now_iso()
        self.root, self.whole, self.root_parent_id = path, path == self.loc.path, None
        if not self.whole:
            row = self.conn.execute("SELECT id FROM entries WHERE location_id = ? AND path = ?",
                                    (self.loc.id, os.path.dirname(path))).fetchone()
            if row is None:   # the folders above were never indexed: index the location
                self.root, self.whole = self.loc.path, True
            else:
                self.root_parent_id = row[0]

    # ---- plumbing ------------------------------------------------------------------------
    @property
    def counts(self) -> dict[str, int]:
        return self.state["counts"]

    def publish(self, events: list[tuple[str, dict]]) -> None:
        extra = {"location_id": self.loc.id, "location_uuid": str(self.loc.uuid)}
        for kind, payload in events:
            payload.update(extra)
            self.bus.publish(Event(kind, payload))
        events.clear()

    def save(self, phase: str | None = None) -> None:
        if phase is not None:
            self.state["phase"] = phase
        self.ctx.checkpoint(self.state)

    def timed(self, key: str, t0: float, c0: float) -> None:
        """Add a phase's wall seconds (since `t0`) and this thread's CPU seconds (since `c0`,
        as `cpu_<key>`): on a shared machine the wall figure says little about where the
        indexer's own time goes, the CPU figure does."""
        timings = self.state["timings"]
        timings[key] = timings.get(key, 0) + time.perf_counter() - t0
        cpu = f"cpu_{key}"
        timings[cpu] = timings.get(cpu, 0) + time.thread_time() - c0

    def _timed_wait(self, wait: Callable[[int], None]) -> Callable[[int], None]:
        """`wait`, its seconds added up as timings["processing_waiting"] (for hashes)."""
        timings = self.state["timings"]

        def timed_wait(n: int) -> None:
            t0 = time.perf_counter()
            wait(n)
            timings["processing_waiting"] = timings.get("processing_waiting", 0) + \
                time.perf_counter() - t0
        return timed_wait

    # ---- the phases ----------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        try:
            if "first_new_id" not in self.state:
                self.state.update(phase="discovery", first_new_id=next_id(self.conn),
                                  timings={}, counts={}, walk_errors=[], walk_skipped=[],
                                  errors=[], skipped=[])
                self.save()
            if self.state["phase"] in ("discovery", "processing"):
                with _gc_paused():
                    self.discover_and_process()
            if self.state["phase"] == "content":
                with _gc_paused():
                    self.identify_content()
            if self.state["phase"] == "aggregation":
                self.aggregate()
            return self.finalise()
        finally:
            if self.hash_pool:               # the job stopped before the content phase
                if self.prefetch is not None:
                    self.prefetch.stop()
                for worker in self.hash_pool:
                    worker.close()
                if self.prefetch is not None:
                    self.prefetch.finish()
            if self.search is not None:
                self.search.close()
            self.conn.close()

    def discover_and_process(self) -> None:
        """Discovery and processing run again together after a crash: the diff against the
        rows committed so far is exactly the work left."""
        conn, loc, ctx, counts = self.conn, self.loc, self.ctx, self.counts
        firstload.restore_after_crash(conn, self.state, self.save)
        t0, c0 = time.perf_counter(), time.thread_time()
        ctx.progress(0, None, "walking", "discovery")
        hooks = dict(
            progress=lambda n, b: ctx.progress(n, None, f"{n} files seen", "discovery"),
            after_dir=lambda n: self.crash("discovery"))
        stored = conn.execute("SELECT count(*) FROM entries WHERE location_id = ?",
                              (loc.id,)).fetchone()[0]
        if self.workers >= 2 and stored >= env_int("VDFS_INDEX_SPLIT_MIN", SPLIT_MIN):
            disc = discover_split(conn, str(self.lib.db_path), loc.id, self.root,
                                  load_root_rows(conn, loc.id, self.root), **hooks)
        else:
            disc = discover(self.root, load_stored(conn, loc.id, self.root, self.whole),
                            **hooks)
        self.timed("discovery", t0, c0)
        to_hash = sum(1 for f in disc.changes if f.ftype == 0 and f.st.st_size > 0)
        parallel_min = env_int("VDFS_INDEX_PARALLEL_MIN", content.PARALLEL_MIN)
        if self.workers >= 2 and to_hash >= parallel_min and not self.hash_pool:
            self.hash_pool = content.spawn_workers(self.workers - 1)
            self.prefetch = Prefetcher(self.hash_pool)   # hashes while entries are written
        counts.update(files=disc.files, dirs=disc.dirs, bytes=disc.bytes)
        self.state["walk_errors"] = _capped(disc.errors)      # this walk's, not summed
        self.state["walk_skipped"] = _capped(disc.skipped)
        counts["walk_errors"], counts["walk_skipped"] = len(disc.errors), len(disc.skipped)

        t0, c0 = time.perf_counter(), time.thread_time()
        bulk = firstload.is_first_load(conn, stored, len(disc.changes))
        if bulk:         # build the indexes once, at the end
            firstload.drop_entry_indexes(conn, self.state, self.save)
        proc = Processor(conn, loc.id, self.root_parent_id, self.now, self.want_events)
        if bulk:
            self.search = firstload.plan(proc, conn, disc.changes, search=self.workers >= 2)
        if self.prefetch is not None:
            proc.to_hash = []
            if bulk:     # each row written once, with its content
                firstload.hash_ahead(proc, disc.changes, self.prefetch,
                                     self._timed_wait(self.prefetch.wait))
        base = {k: counts.get(k, 0) for k in ("created", "modified", "moved", "deleted",
                                              "hashed", "bytes_hashed", "identities_created")}

        def after_batch(done: int, total: int) -> None:
            self.publish(proc.counts.events)
            if self.search is not None:
                self.search.add(proc.search_rows)
                proc.search_rows = []
            if self.prefetch is not None:
                self.prefetch.submit(proc.to_hash)
                proc.to_hash = []
            self.crash("processing")
            c = proc.counts
            counts.update(created=base["created"] + c.created,
                          modified=base["modified"] + c.modified,
                          moved=base["moved"] + c.moved, deleted=base["deleted"] + c.deleted,
                          hashed=base["hashed"] + c.hashed,
                          bytes_hashed=base["bytes_hashed"] + c.bytes_hashed,
                          identities_created=base["identities_created"] + c.identities_created)
            ctx.progress(done, total, f"{done}/{total} entries written", "processing")
            self.save("processing")

        ctx.progress(0, None, "writing entries", "processing")
        # hashing ahead, each slice of a batch waits for its hashes: a smaller one starts
        # writing sooner, and then each write overlaps the workers hashing the next
        proc.run(disc, self.batch, after_batch,
                 wait_size=min(CONTENT_BATCH, max(1, self.batch // 5)))
        # a first load wrote its folders with their numbers; a refused row makes them wrong
        self.state["folders_exact"] = bulk and not proc.counts.errors
        if proc.counts.errors:   # entries that could not be stored: reported, never fatal
            self.state["walk_errors"] = _capped(self.state["walk_errors"] + proc.counts.errors)
            counts["walk_errors"] += len(proc.counts.errors)
        self.timed("processing", t0, c0)
        self.save("content")

    def identify_content(self) -> None:
        """Hash what has no content identity yet; the database says what that is."""
        ctx, counts = self.ctx, self.counts
        t0, c0 = time.perf_counter(), time.thread_time()
        ident = ContentIdentifier(self.conn, self.loc.id, self.root, self.whole, self.now,
                                  self.state["first_new_id"], self.want_events, self.workers)
        ident.adopt(self.hash_pool, self.prefetch.finish() if self.prefetch else None)
        self.hash_pool, self.prefetch = [], None
        base = {k: counts.get(k, 0) for k in ("hashed", "bytes_hashed", "identities_created")}

        def after_batch(done: int, total: int, nbytes: int) -> None:
            self.publish(ident.stats.events)
            self.crash("content")
            s = ident.stats
            counts["hashed"] = base["hashed"] + s.hashed
            counts["bytes_hashed"] = base["bytes_hashed"] + s.bytes
            counts["identities_created"] = base["identities_created"] + s.identities_created
            for key in ("errors", "skipped"):
                found = getattr(s, key)
                self.state[key] = (self.state[key] + found)[:MAX_LISTED]
                counts[key] = counts.get(key, 0) + len(found)
                found.clear()
            ctx.progress(done, total,
                         f"{done}/{total} files, {counts['bytes_hashed']} bytes hashed", "content")
            self.save()

        ctx.progress(0, None, "hashing", "content")
        ident.run(min(self.batch, CONTENT_BATCH), after_batch)
        self.timed("content", t0, c0)
        timings = self.state["timings"]
        for key in ("hashing", "waiting", "writing"):
            timings[f"content_{key}"] = timings.get(f"content_{key}", 0) + getattr(
                ident.stats, f"seconds_{key}")
        if self.state.get("dropped_indexes"):
            t0, c0 = time.perf_counter(), time.thread_time()
            ctx.progress(0, None, "building indexes", "content")
            firstload.build_indexes(self.conn, self.state["dropped_indexes"], self.search,
                                    self.crash)
            del self.state["dropped_indexes"]
            self.timed("indexes", t0, c0)
        self.save("aggregation")

    def aggregate(self) -> None:
        counts = self.counts
        t0, c0 = time.perf_counter(), time.thread_time()
        self.ctx.progress(0, None, "folder sizes", "aggregation")
        if self.state.get("folders_exact") and not self.resumed:
            pass                 # a first load in one run: every folder row is right already
        elif self.resumed or any(counts.get(k) for k in (
                "created", "modified", "moved", "deleted", "hashed")):
            counts["folders_updated"] = aggregate(self.conn, self.loc.id)
        self.crash("aggregation")
        self.timed("aggregation", t0, c0)
        self.save("finalisation")

    def finalise(self) -> dict[str, Any]:
        t0, c0 = time.perf_counter(), time.thread_time()
        self.ctx.progress(0, None, "finishing", "finalisation")
        with write_tx(self.conn):
            removed = delete_unused_content(self.conn)
            self.conn.execute("UPDATE locations SET last_indexed_at = ? WHERE id = ?",
                              (self.now, self.loc.id))
        self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        self.crash("finalisation")
        self.counts["identities_removed"] = self.counts.get("identities_removed", 0) + removed
        self.timed("finalisation", t0, c0)
        result = self.result()
        entries = result["files"] + result["dirs"]      # what `vdfs jobs` shows once it ended
        self.ctx.progress(entries, entries, f"{entries} entries", "finalisation")
        self.publish([("index.finished", {"job_id": self.ctx.job_id, "path": self.root, **{
            k: result[k] for k in ("files", "dirs", "created", "modified", "moved", "deleted",
                                   "hashed")}})])
        return result

    def result(self) -> dict[str, Any]:
        counts, state, loc = self.counts, self.state, self.loc
        out: dict[str, Any] = {
            "location": {"id": loc.id, "uuid": str(loc.uuid), "name": loc.name,
                         "path": loc.path},
            "path": self.root,
            "resumed": self.resumed,
        }
        for key in ("files", "dirs", "bytes", "created", "modified", "moved", "deleted",
                    "hashed", "bytes_hashed", "identities_created", "identities_removed",
                    "folders_updated"):
            out[key] = counts.get(key, 0)
        for key in ("errors", "skipped"):
            out[key] = (state[f"walk_{key}"] + state[key])[:MAX_LISTED]
            out[f"{key}_total"] = counts.get(f"walk_{key}", 0) + counts.get(key, 0)
        out["timings"] = {k: round(v, 6) for k, v in state["timings"].items()}
        return out


def run_index(ctx: JobContext, location_id: int, path: str, batch_size: int = DEFAULT_BATCH,
              workers: int | None = None, **_ignored: Any) -> dict[str, Any]:
    """Index `path` (the location's root or a folder inside it) into the location's entries.

    The process holds the library's index lock for the whole run, so a second run — however
    it was started — is refused with who runs the first instead of colliding with it."""
    lock = IndexLock(ctx.lib, ctx.job_id).acquire()
    try:
        return IndexRun(ctx, location_id, path, batch_size, workers).run()
    finally:
        lock.release()

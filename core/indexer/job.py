"""The "core.index" job: discovery → processing → content → aggregation → finalisation.

Crash safety: every phase writes in transactions and is idempotent, and the checkpoint (in
jobs.db) records which phase to start from. Discovery and processing run again together after
a crash (the diff against committed rows is the remaining work); content, aggregation and
finalisation read what to do from library.db. So a job killed at any point and resumed ends
with the same rows as one that never stopped.

Fault injection for the crash tests: VDFS_TEST_CRASH_AFTER="<phase>:<n>" makes the process
SIGKILL itself at the n-th safe point of that phase (after a commit, before its checkpoint).
"""
from __future__ import annotations

import os
import signal
import time
from typing import Any

from ..clock import now_iso
from ..events import Event
from ..locations import get_location
from .aggregate import aggregate
from .content import ContentIdentifier
from .process import Processor
from .split import discover_split
from .store import (collect_orphan_identities, drop_indexes, entry_index_specs, load_root_rows,
                    load_stored, next_id, restore_indexes, write_tx)
from .walk import discover

JOB_NAME = "core.index"
PHASES = ("discovery", "processing", "content", "aggregation", "finalisation")
MAX_LISTED = 1000          # errors / skipped paths kept in a result
DEFAULT_BATCH = 20000
SPLIT_MIN = 20000          # stored entries from which a re-index walks in two processes
BULK_MIN = 20000           # new entries from which a first load drops and rebuilds indexes


class _CrashHook:
    """SIGKILLs this process at a chosen safe point; inert unless the env var is set."""

    def __init__(self) -> None:
        spec = os.environ.get("VDFS_TEST_CRASH_AFTER", "")
        phase, _, n = spec.partition(":")
        self.phase = phase or None
        self.at = int(n or 1) if phase else 0
        self.seen = 0

    def __call__(self, phase: str) -> None:
        if phase == self.phase:
            self.seen += 1
            if self.seen >= self.at:
                os.kill(os.getpid(), signal.SIGKILL)


def _merge_list(state: dict[str, Any], key: str, items: list[dict[str, str]]) -> None:
    have = state.setdefault(key, [])
    known = {(i["path"], i["reason"]) for i in have}
    for item in items:
        if (item["path"], item["reason"]) not in known and len(have) < MAX_LISTED:
            have.append(item)
            known.add((item["path"], item["reason"]))
    state[f"{key}_total"] = state.get(f"{key}_total", 0) + len(items)


def run_index(ctx: Any, location_id: int, path: str, batch_size: int = DEFAULT_BATCH,
              workers: int | None = None, **_ignored: Any) -> dict[str, Any]:
    """Index `path` (the location's root or a folder inside it) into the location's entries."""
    lib = ctx.lib
    loc = get_location(lib, int(location_id))
    crash = _CrashHook()
    conn = lib.connect()
    bus = lib.events
    want_events = bus.listener_count() > 0
    extra = {"location_id": loc.id, "location_uuid": str(loc.uuid)}

    def publish(events: list[tuple[str, dict]]) -> None:
        for kind, payload in events:
            payload.update(extra)
            bus.publish(Event(kind, payload))
        events.clear()

    if workers is None:
        workers = 2 if (os.cpu_count() or 1) >= 2 else 1
    try:
        state: dict[str, Any] = dict(ctx.state or {})
        resumed = bool(state)
        root = path
        whole = root == loc.path
        root_parent_id = None
        if not whole:
            row = conn.execute("SELECT id FROM entries WHERE location_id = ? AND path = ?",
                               (loc.id, os.path.dirname(root))).fetchone()
            if row is None:   # the folders above were never indexed: index the location
                root, whole = loc.path, True
            else:
                root_parent_id = row[0]
        if "first_new_id" not in state:
            state.update(phase="discovery", first_new_id=next_id(conn), timings={},
                         counts={}, errors=[], skipped=[])
            ctx.checkpoint(state)
        now = now_iso()
        timings: dict[str, float] = state["timings"]
        counts: dict[str, int] = state["counts"]
        phase = state["phase"]

        if phase in ("discovery", "processing") and state.get("dropped_indexes"):
            restore_indexes(conn, state.pop("dropped_indexes"))   # resuming a bulk load
            ctx.checkpoint(state)
        if phase in ("discovery", "processing"):
            t0 = time.perf_counter()
            ctx.progress(0, None, "walking", "discovery")
            seen = dict(
                progress=lambda n, b: ctx.progress(n, None, f"{n} files seen", "discovery"),
                after_dir=lambda n: crash("discovery"))
            split_min = int(os.environ.get("VDFS_INDEX_SPLIT_MIN", SPLIT_MIN))  # tests lower it
            if workers >= 2 and conn.execute(
                    "SELECT count(*) FROM entries WHERE location_id = ?",
                    (loc.id,)).fetchone()[0] >= split_min:
                disc = discover_split(conn, str(lib.db_path), loc.id, root,
                                      load_root_rows(conn, loc.id, root), **seen)
            else:
                disc = discover(root, load_stored(conn, loc.id, root, whole), **seen)
            timings["discovery"] = timings.get("discovery", 0) + time.perf_counter() - t0
            counts.update(files=disc.files, dirs=disc.dirs, bytes=disc.bytes)
            _merge_list(state, "errors", disc.errors)
            _merge_list(state, "skipped", disc.skipped)
            t0 = time.perf_counter()
            bulk_min = int(os.environ.get("VDFS_INDEX_BULK_MIN", BULK_MIN))  # tests lower it
            if len(disc.changes) >= bulk_min and not conn.execute(
                    "SELECT EXISTS (SELECT 1 FROM entries)").fetchone()[0]:
                # first load into an empty library: build the indexes once, at the end
                state["dropped_indexes"] = entry_index_specs(conn)
                ctx.checkpoint(state)
                drop_indexes(conn, state["dropped_indexes"])
            proc = Processor(conn, loc.id, root_parent_id, now, want_events)
            base = {k: counts.get(k, 0) for k in ("created", "modified", "moved", "deleted")}

            def processed(done: int, total: int) -> None:
                publish(proc.counts.events)
                crash("processing")
                c = proc.counts
                counts.update(created=base["created"] + c.created,
                              modified=base["modified"] + c.modified,
                              moved=base["moved"] + c.moved, deleted=base["deleted"] + c.deleted)
                ctx.progress(done, total, f"{done}/{total} entries written", "processing")
                state["phase"] = "processing"
                ctx.checkpoint(state)

            ctx.progress(0, None, "writing entries", "processing")
            proc.run(disc, max(1, int(batch_size)), processed)
            timings["processing"] = timings.get("processing", 0) + time.perf_counter() - t0
            state["phase"] = phase = "content"
            ctx.checkpoint(state)

        if phase == "content":
            t0 = time.perf_counter()
            ident = ContentIdentifier(conn, loc.id, root, whole, now, state["first_new_id"],
                                      want_events, int(workers))

            def hashed(done: int, total: int, nbytes: int) -> None:
                publish(ident.stats.events)
                crash("content")
                s = ident.stats
                counts["hashed"] = counts.get("hashed_base", 0) + s.hashed
                counts["bytes_hashed"] = counts.get("bytes_hashed_base", 0) + s.bytes
                counts["identities_created"] = (counts.get("identities_base", 0)
                                                + s.identities_created)
                _merge_list(state, "errors", s.errors)
                _merge_list(state, "skipped", s.skipped)
                s.errors.clear()
                s.skipped.clear()
                ctx.progress(done, total, f"{done}/{total} files, {counts['bytes_hashed']} "
                             "bytes hashed", "content")
                ctx.checkpoint(state)

            counts["hashed_base"] = counts.get("hashed", 0)
            counts["bytes_hashed_base"] = counts.get("bytes_hashed", 0)
            counts["identities_base"] = counts.get("identities_created", 0)
            ctx.progress(0, None, "hashing", "content")
            ident.run(max(1, int(batch_size)), hashed)
            timings["content"] = timings.get("content", 0) + time.perf_counter() - t0
            if state.get("dropped_indexes"):
                t0 = time.perf_counter()
                ctx.progress(0, None, "building indexes", "content")
                restore_indexes(conn, state["dropped_indexes"])
                crash("indexes")
                del state["dropped_indexes"]
                timings["indexes"] = time.perf_counter() - t0
            state["phase"] = phase = "aggregation"
            ctx.checkpoint(state)

        if phase == "aggregation":
            t0 = time.perf_counter()
            ctx.progress(0, None, "folder sizes", "aggregation")
            if counts.get("created") or counts.get("modified") or counts.get("moved") \
                    or counts.get("deleted") or counts.get("hashed") or resumed:
                counts["folders_updated"] = aggregate(conn, loc.id)
            crash("aggregation")
            timings["aggregation"] = timings.get("aggregation", 0) + time.perf_counter() - t0
            state["phase"] = phase = "finalisation"
            ctx.checkpoint(state)

        t0 = time.perf_counter()
        ctx.progress(0, None, "finishing", "finalisation")
        with write_tx(conn):
            removed = collect_orphan_identities(conn)
            conn.execute("UPDATE locations SET last_indexed_at = ? WHERE id = ?", (now, loc.id))
        crash("finalisation")
        counts["identities_removed"] = counts.get("identities_removed", 0) + removed
        timings["finalisation"] = time.perf_counter() - t0
        result = _result(loc, root, state, resumed)
        publish([("index.finished", {"job_id": ctx.job_id, "path": root,
                                      **{k: result[k] for k in (
                                          "files", "dirs", "created", "modified", "moved",
                                          "deleted", "hashed")}})])
        return result
    finally:
        conn.close()


def _result(loc: Any, root: str, state: dict[str, Any], resumed: bool) -> dict[str, Any]:
    counts = state["counts"]
    out: dict[str, Any] = {
        "location": {"id": loc.id, "uuid": str(loc.uuid), "name": loc.name, "path": loc.path},
        "path": root,
        "resumed": resumed,
    }
    for key in ("files", "dirs", "bytes", "created", "modified", "moved", "deleted", "hashed",
                "bytes_hashed", "identities_created", "identities_removed", "folders_updated"):
        out[key] = counts.get(key, 0)
    out["errors"] = state.get("errors", [])
    out["skipped"] = state.get("skipped", [])
    out["errors_total"] = state.get("errors_total", 0)
    out["skipped_total"] = state.get("skipped_total", 0)
    out["timings"] = {k: round(v, 6) for k, v in state["timings"].items()}
    return out

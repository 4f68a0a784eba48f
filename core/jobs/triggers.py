"""on_event triggers: core events queue the jobs registered with trigger="on_event".

Events arrive in bursts (an index of 10,000 files publishes 10,000 entry.created), so events
for the same job are gathered for DEBOUNCE seconds and queued as one job whose args are
{"events": [{"kind": ..., "payload": ...}, ...]}. A job of an extension only sees events inside
what its ReadEntries grants allow (scope and glob, checked by core.access.permissions as
the host API checks reads); core jobs see everything.
"""
from __future__ import annotations

import logging
import threading
import uuid
from typing import TYPE_CHECKING, Any, Callable

from core.store.events import Event
from .registry import EVENT_KINDS, all_job_specs, when_on_event_jobs

if TYPE_CHECKING:  # pragma: no cover
    from .manager import JobManager
    from core.library import Library

log = logging.getLogger(__name__)
DEBOUNCE = 0.05
MAX_BATCH = 1000


def _location_root(lib: Library, payload: dict[str, Any]) -> str | None:
    loc_id, loc_uuid = payload.get("location_id"), payload.get("location_uuid")
    if loc_id is not None:
        row = lib.conn.execute("SELECT path FROM locations WHERE id=?", (int(loc_id),)).fetchone()
    elif loc_uuid is not None:
        row = lib.conn.execute("SELECT path FROM locations WHERE uuid=?",
                               (uuid.UUID(str(loc_uuid)).bytes,)).fetchone()
    else:
        return None
    return row[0] if row else None


def in_scope(lib: Library, extension_id: str | None, kind: str, payload: dict[str, Any]) -> bool:
    """May a job of `extension_id` see this event? Core jobs (None) see every event.

    An extension sees an entry event when its ReadEntries grants allow that path (scope and
    glob, resolved by core.access.permissions exactly as its host API checks reads), and
    index.finished when the indexed folder is inside a ReadEntries scope.
    """
    if extension_id is None:
        return True
    from core.access.permissions import Grant, GrantSet
    rows = lib.conn.execute("SELECT permission, params, scope FROM extension_grants "
                            "WHERE extension_id=? AND permission='ReadEntries'",
                            (extension_id,)).fetchall()
    if not rows:
        return False
    grants = [Grant.from_row(*r) for r in rows]
    gs = GrantSet(extension_id, [g.permission for g in grants], grants, lib)
    root = _location_root(lib, payload)
    path = payload.get("path") or root
    if not path:
        return False
    if kind == "index.finished":
        return any(gs.in_scope(g, path) for g in grants)
    return gs.entry_allowed(path, root)


class _Batcher:
    def __init__(self, manager: "JobManager"):
        self.m = manager
        self.lock = threading.Lock()
        self.pending: dict[str, list[dict[str, Any]]] = {}
        self.timers: dict[str, threading.Timer] = {}

    def on_event(self, event: Event) -> None:
        for spec in all_job_specs():
            if spec.trigger != "on_event" or event.kind not in spec.events:
                continue
            try:
                if not in_scope(self.m.lib, spec.extension_id, event.kind, event.payload):
                    continue
            except Exception:
                log.exception("scope check for %s failed", spec.name)
                continue
            self._add(spec.name, {"kind": event.kind, "payload": event.payload})

    def _add(self, name: str, item: dict[str, Any]) -> None:
        with self.lock:
            batch = self.pending.setdefault(name, [])
            batch.append(item)
            full = len(batch) >= MAX_BATCH
            if name not in self.timers and not full:
                t = threading.Timer(DEBOUNCE, self.flush, args=(name,))
                t.daemon = True
                self.timers[name] = t
                t.start()
        if full:
            self.flush(name)

    def flush(self, name: str) -> None:
        with self.lock:
            batch = self.pending.pop(name, [])
            timer = self.timers.pop(name, None)
        if timer is not None:
            timer.cancel()
        if not batch or self.m._closed:
            return
        try:
            self.m.submit(name, {"events": batch}, trigger="on_event")
        except Exception:
            log.exception("queueing on_event job %s failed", name)

    def flush_all(self) -> None:
        with self.lock:
            names = list(self.pending)
        for name in names:
            self.flush(name)


def attach_triggers(manager: "JobManager") -> Callable[[], None]:
    """Subscribe the manager to core events once any on_event job is registered (until then
    publishers such as the indexer see no listener and may skip building events); returns a
    function that detaches it."""
    batcher = _Batcher(manager)
    manager._batcher = batcher  # type: ignore[attr-defined]
    unsubscribe: list[Callable[[], None]] = []
    lock = threading.Lock()

    def subscribe() -> None:
        with lock:
            if not unsubscribe and not manager._closed:
                unsubscribe.append(manager.lib.events.subscribe(batcher.on_event,
                                                                kinds=EVENT_KINDS))

    remove_hook = when_on_event_jobs(subscribe)

    def detach() -> None:
        remove_hook()
        with lock:
            for fn in unsubscribe:
                fn()
            unsubscribe.clear()
    return detach

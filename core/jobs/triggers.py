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
from typing import TYPE_CHECKING, Any, Callable

from core.store.events import Event
from .context import job_owner
from .registry import EVENT_KINDS, all_job_specs, when_on_event_jobs

from core.access.granted import stored_grant_set
from core.access.guard import Guard
from core.access.visibility import event_visible

if TYPE_CHECKING:  # pragma: no cover
    from .manager import JobManager
    from core.library import Library

log = logging.getLogger(__name__)
DEBOUNCE = 0.05
MAX_BATCH = 1000


def in_scope(lib: Library, extension_id: str | None, kind: str, payload: dict[str, Any]) -> bool:
    """May a job of `extension_id` see this event? Core jobs (None) see every event; an
    extension's jobs see what its agent sees (core.access.visibility: entry events inside
    its ReadEntries grants, index.finished of a folder they reach)."""
    if extension_id is None:
        return True
    return event_visible(Guard(lib, stored_grant_set(lib, extension_id)), kind, payload)


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
                owner = job_owner(spec)
                if owner is not None and spec.extension_id is None:
                    continue    # an extension job's bare @job alias: its registration stands
                if not in_scope(self.m.lib, owner, event.kind, event.payload):
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

"""on_event triggers: core events queue the jobs registered with trigger="on_event".

Events arrive in bursts (an index of 10,000 files publishes 10,000 entry.created), so events
for the same job are gathered for DEBOUNCE seconds and queued as one job whose args are
{"events": [{"kind": ..., "payload": ...}, ...]}. A job of an extension only sees events inside
the locations its grants allow (extension_grants.scope: [] means everywhere; otherwise a list of
path prefixes, location ids, uuids or names); core jobs see everything.
"""
from __future__ import annotations

import json
import logging
import threading
from typing import TYPE_CHECKING, Any, Callable

from ..events import Event
from .registry import EVENT_KINDS, all_job_specs, when_on_event_jobs

if TYPE_CHECKING:  # pragma: no cover
    from .manager import JobManager

log = logging.getLogger(__name__)
DEBOUNCE = 0.05
MAX_BATCH = 1000


def _location_of(lib: Any, payload: dict[str, Any]) -> dict[str, Any] | None:
    loc_id, loc_uuid = payload.get("location_id"), payload.get("location_uuid")
    conn = lib.conn
    if loc_id is not None:
        row = conn.execute("SELECT id, uuid, name, path FROM locations WHERE id=?",
                           (int(loc_id),)).fetchone()
    elif loc_uuid is not None:
        import uuid as _uuid
        raw = _uuid.UUID(str(loc_uuid)).bytes
        row = conn.execute("SELECT id, uuid, name, path FROM locations WHERE uuid=?",
                           (raw,)).fetchone()
    else:
        return None
    if row is None:
        return None
    import uuid as _uuid
    return {"id": row[0], "uuid": str(_uuid.UUID(bytes=row[1])), "name": row[2], "path": row[3]}


def _under(path: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/")
    return path == prefix or path.startswith(prefix + "/")


def in_scope(lib: Any, extension_id: str | None, payload: dict[str, Any]) -> bool:
    """May a job of `extension_id` see this event? Core jobs (None) see every event."""
    if extension_id is None:
        return True
    rows = lib.conn.execute("SELECT scope FROM extension_grants WHERE extension_id=?",
                            (extension_id,)).fetchall()
    if not rows:
        return False
    loc = None
    path = payload.get("path") or None
    for (scope_text,) in rows:
        try:
            scope = json.loads(scope_text or "[]")
        except ValueError:
            continue
        if not scope:
            return True
        if loc is None:
            loc = _location_of(lib, payload) or {}
        for item in scope:
            if isinstance(item, int) and loc.get("id") == item:
                return True
            if isinstance(item, str):
                if item in (loc.get("uuid"), loc.get("name")):
                    return True
                if item.startswith("/"):
                    if path and _under(path, item):
                        return True
                    if not path and loc.get("path") and _under(loc["path"], item):
                        return True
    return False


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
                if not in_scope(self.m.lib, spec.extension_id, event.payload):
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

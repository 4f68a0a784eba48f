"""The library's event bus: core events and job events, for any number of listeners.

Publishing is synchronous (listeners run in the publisher's thread, in subscription order) so a
test or a job trigger sees an event before `publish` returns. A listener that raises is logged
and skipped: one broken progress bar must never fail the indexer that published the event.
"""
from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

log = logging.getLogger(__name__)

KINDS = ("job.progress", "job.status", "entry.created", "entry.modified", "entry.deleted",
         "index.finished", "tag.added", "model.created")


@dataclass(frozen=True)
class Event:
    """One thing that happened: `kind` (e.g. "entry.created") and a JSON-able `payload`."""
    kind: str
    payload: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or not self.kind:
            raise ValueError(f"Event kind must be a non-empty string, got {self.kind!r}")
        if not isinstance(self.payload, dict):
            raise TypeError(f"Event payload must be a dict, got {type(self.payload).__name__}")


Listener = Callable[[Event], Any]


class EventBus:
    """Thread-safe publish/subscribe with an optional kinds filter per listener."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[int, tuple[Listener, frozenset[str] | None]] = {}
        self._ids = itertools.count()

    def subscribe(self, callback: Listener, kinds: Iterable[str] | str | None = None
                  ) -> Callable[[], None]:
        """Call `callback(event)` for every event (or only those whose kind is in `kinds`).

        Returns a function that unsubscribes; calling it twice is harmless.
        """
        if not callable(callback):
            raise TypeError(f"subscribe needs a callable, got {type(callback).__name__}")
        if isinstance(kinds, str):
            kinds = [kinds]
        wanted = frozenset(kinds) if kinds is not None else None
        with self._lock:
            token = next(self._ids)
            self._listeners[token] = (callback, wanted)

        def unsubscribe() -> None:
            with self._lock:
                self._listeners.pop(token, None)
        return unsubscribe

    def publish(self, event: Event) -> None:
        """Deliver `event` to every matching listener now, in subscription order."""
        if not isinstance(event, Event):
            raise TypeError(f"publish needs an Event, got {type(event).__name__}")
        with self._lock:
            targets = [cb for cb, kinds in self._listeners.values()
                       if kinds is None or event.kind in kinds]
        for cb in targets:
            try:
                cb(event)
            except Exception:  # a broken listener must not break the publisher
                log.exception("event listener %r failed on %s", cb, event.kind)

    def emit(self, kind: str, **payload: Any) -> None:
        """Shorthand for `publish(Event(kind, payload))`."""
        self.publish(Event(kind, payload))

    def listener_count(self) -> int:
        with self._lock:
            return len(self._listeners)

    def close(self) -> None:
        with self._lock:
            self._listeners.clear()

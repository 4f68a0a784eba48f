"""`@agent`: an extension's event handlers, run by an `AgentRuntime` on its own thread.

Handlers are methods named after what they react to (`on_new_entry`, `on_new_photo`,
`on_tag_added`, … see HANDLERS) or marked `@on_event(kind, entry_kind=…)`. The runtime receives
library events, drops those about entries outside the extension's read scope, and calls the
handlers one event at a time, off the publisher's thread: a slow agent never slows the indexer,
and a handler that raises is recorded in the trail and does not stop the next event.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import queue
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

from core.extensions.facade import Facade

log = logging.getLogger(__name__)

# method name → (event kind, entry kind filter)
HANDLERS: dict[str, tuple[str, str | None]] = {
    "on_new_entry": ("entry.created", None),
    "on_new_photo": ("entry.created", "image"),
    "on_new_video": ("entry.created", "video"),
    "on_new_document": ("entry.created", "document"),
    "on_entry_modified": ("entry.modified", None),
    "on_entry_deleted": ("entry.deleted", None),
    "on_tag_added": ("tag.added", None),
    "on_model_created": ("model.created", None),
    "on_index_finished": ("index.finished", None),
}
ENTRY_EVENTS = ("entry.created", "entry.modified", "entry.deleted")


@dataclass(frozen=True)
class Handler:
    method: str
    event: str
    entry_kind: str | None = None


@dataclass
class AgentSpec:
    handlers: list[Handler]
    trail_level: str = "debug"


def on_event(kind: str, *, entry_kind: str | None = None) -> Callable[[Callable], Callable]:
    """Mark a method as the handler of `kind` events (optionally only entries of `entry_kind`)."""
    def mark(fn: Callable) -> Callable:
        fn.__vdfs_on_event__ = (kind, entry_kind)  # type: ignore[attr-defined]
        return fn
    return mark


def agent_trail(level: str = "debug", format: str = "jsonl") -> Callable[[type], type]:  # noqa: A002
    """`@agent_trail(level="debug", format="jsonl")`: the trail's threshold (JSON lines only)."""
    if format != "jsonl":
        raise ValueError(f"agent trails are written as jsonl, got format={format!r}")

    def mark(cls: type) -> type:
        cls.__vdfs_trail_level__ = level  # type: ignore[attr-defined]
        spec = cls.__dict__.get("__vdfs_agent__")
        if spec is not None:
            spec.trail_level = level
        return cls
    return mark


def agent(cls: type | None = None, *, trail_level: str | None = None) -> Any:
    """Declare the agent: a class (often the extension class itself) with handler methods."""
    def wrap(c: type) -> type:
        handlers = []
        for name, member in inspect.getmembers(c, callable):
            marked = getattr(member, "__vdfs_on_event__", None)
            if marked:
                handlers.append(Handler(name, marked[0], marked[1]))
            elif name in HANDLERS:
                handlers.append(Handler(name, *HANDLERS[name]))
        if not handlers:
            raise TypeError(f"@agent {c.__name__} has no handler: define one of {sorted(HANDLERS)} "
                            "or mark a method with @on_event(kind)")
        level = trail_level or getattr(c, "__vdfs_trail_level__", "debug")
        c.__vdfs_agent__ = AgentSpec(handlers, level)  # type: ignore[attr-defined]
        return c
    return wrap(cls) if cls is not None else wrap


@dataclass
class EntryRef:
    """What an entry event hands a handler (the `photo` of `on_new_photo(self, ctx, photo)`)."""
    uuid: uuid.UUID
    path: str
    kind: str
    content_uuid: uuid.UUID | None
    payload: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def id(self) -> uuid.UUID:
        return self.uuid

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> "EntryRef":
        cu = p.get("content_uuid")
        return cls(uuid.UUID(str(p["entry_uuid"])), p.get("path", ""), p.get("kind", ""),
                   uuid.UUID(str(cu)) if cu else None, dict(p))


class AgentContext(Facade):
    """What a handler gets: the extension's checked host API, its memory, AI models, the trail
    and job dispatch — through its sealed ExtensionContext, never the library itself."""

    __slots__ = ("_ext", "event")

    def __init__(self, ext_ctx: Any, event: Any):
        object.__setattr__(self, "_ext", ext_ctx)
        object.__setattr__(self, "event", event)

    @property
    def extension_id(self) -> str:
        return self._ext.extension_id

    @property
    def config(self) -> Any:
        return self._ext.config

    def vdfs(self) -> Any:
        return self._ext.vdfs()

    def memory(self) -> Any:
        return self._ext.memory()

    def ai(self) -> Any:
        return self._ext.ai()

    def models(self) -> Any:
        return self._ext.models()

    def trace(self, message: str, level: str = "debug", **data: Any) -> None:
        self._ext.trace(message, level=level, event=self.event.kind, **data)

    def dispatch_job(self, job: Any, args: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self._ext.dispatch_job(job, args, **kwargs)


class AgentRuntime:
    """Delivers the library's events to one extension's agent, on one worker thread.
    `ext_ctx` is core's ExtensionRuntime; handlers get its sealed facade."""

    def __init__(self, ext_ctx: Any, agent_obj: Any, *, seen_limit: int = 100_000):
        self.ctx = ext_ctx
        self.obj = agent_obj
        spec: AgentSpec = type(agent_obj).__vdfs_agent__ if not inspect.isclass(agent_obj) \
            else agent_obj.__vdfs_agent__
        self.handlers = spec.handlers
        self._queue: queue.Queue[Any] = queue.Queue()
        self._seen: dict[str, OrderedDict[str, None]] = {h.method: OrderedDict() for h in self.handlers}
        self._seen_limit = seen_limit
        self._unsubscribe: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None
        self.errors = 0

    def start(self) -> None:
        if self._thread is not None:
            return
        kinds = sorted({h.event for h in self.handlers})
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name=f"vdfs-agent-{self.ctx.extension_id}")
        self._thread.start()
        self._unsubscribe = self.ctx.lib.events.subscribe(self._queue.put, kinds=kinds)

    def stop(self, timeout: float = 10.0) -> None:
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def wait_idle(self, timeout: float | None = 30.0) -> bool:
        """Block until every event received so far, and every event those handlers caused,
        has been handled (for tests and notebooks)."""
        import time
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            done = threading.Event()
            self._queue.put(done)
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not done.wait(left):
                return False
            if self._queue.empty():
                return True

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            for h in self.handlers:
                if h.event == item.kind:
                    self._deliver(h, item)

    def _deliver(self, h: Handler, event: Any) -> None:
        arg: Any = event.payload
        if event.kind in ENTRY_EVENTS:
            entry = EntryRef.from_payload(event.payload)
            if h.entry_kind and entry.kind != h.entry_kind:
                return
            if h.event == "entry.created" and h.entry_kind and entry.content_uuid is None:
                return   # the indexer announces a file again once its content is known
            if not self.ctx.entry_visible(entry.path):
                return
            if h.event == "entry.created" and not self._first_time(h.method, str(entry.uuid)):
                return
            arg = entry
        elif not self.ctx.event_visible(event):
            return
        fn = getattr(self.obj, h.method)
        try:
            result = fn(AgentContext(self.ctx.facade, event), arg)
            if inspect.isawaitable(result):
                asyncio.run(result)
        except Exception as exc:  # one failing handler must not stop the agent
            self.errors += 1
            log.exception("agent %s.%s failed", self.ctx.extension_id, h.method)
            self.ctx.trace(f"{h.method} failed: {exc}", level="error", event=event.kind,
                           error=type(exc).__name__)

    def _first_time(self, method: str, key: str) -> bool:
        seen = self._seen[method]
        if key in seen:
            return False
        seen[key] = None
        if len(seen) > self._seen_limit:
            seen.popitem(last=False)
        return True

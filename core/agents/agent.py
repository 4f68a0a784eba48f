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
import json
import logging
import queue
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from core.errors import ArgumentError
from core.store.facade import Facade
from .memory import AssociativeMemory

if TYPE_CHECKING:  # pragma: no cover
    from core.ai.prompts import Prompts
    from core.ai.registry import ModelRegistry
    from core.ai.service import AiService
    from core.extensions.context import ExtensionContext
    from core.extensions.host import ScopedVdfsApi
    from core.jobs.sealed import ExtensionJob
    from core.store.events import Event

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
    """What an entry event hands a handler (the SDK's `photo: Photo`): the entry's identity, and
    `read()`, `exif` and `location()` answered through the extension's own permissions."""
    uuid: uuid.UUID
    path: str
    kind: str
    content_uuid: uuid.UUID | None
    payload: dict[str, Any] = field(default_factory=dict, repr=False)
    _entries: Any = field(default=None, repr=False, compare=False)

    @property
    def id(self) -> uuid.UUID:
        return self.uuid

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def _row(self) -> dict[str, Any]:
        if self._entries is None:
            raise ArgumentError("this entry was not delivered by an agent runtime: it cannot read")
        return {"uuid": self.uuid, "content_uuid": self.content_uuid,
                "is_dir": bool(self.payload.get("is_dir"))}

    def read(self) -> bytes:
        """The file's bytes (needs the extension's ReadEntries grant to cover it)."""
        return self._entries.read_entry(self._row()["uuid"])

    @property
    def exif(self) -> dict[str, Any] | None:
        """Core's extracted EXIF (when the extension may read the exif sidecar), else what the
        file holds; None without EXIF."""
        return self._entries.entry_exif(self._row())

    def location(self) -> str:
        """The folder of the location the entry was indexed under."""
        return self._entries.entry_location(self._row())

    @classmethod
    def from_payload(cls, p: dict[str, Any], entries: Any = None) -> "EntryRef":
        cu = p.get("content_uuid")
        return cls(uuid.UUID(str(p["entry_uuid"])), p.get("path", ""), p.get("kind", ""),
                   uuid.UUID(str(cu)) if cu else None, dict(p), entries)


class AgentContext(Facade):
    """What a handler gets: the extension's checked host API, its memory, AI models, the trail
    and job dispatch — through its sealed ExtensionContext, never the library itself."""

    __slots__ = ("_ext", "event")

    def __init__(self, ext_ctx: ExtensionContext, event: Event):
        object.__setattr__(self, "_ext", ext_ctx)
        object.__setattr__(self, "event", event)

    @property
    def extension_id(self) -> str:
        return self._ext.extension_id

    @property
    def config(self) -> Any:
        return self._ext.config

    def vdfs(self) -> ScopedVdfsApi:
        return self._ext.vdfs()

    def memory(self) -> Any:
        return self._ext.memory()

    def ai(self) -> AiService:
        return self._ext.ai()

    def models(self) -> ModelRegistry:
        return self._ext.models()

    def prompts(self) -> Prompts:
        """The extension's Jinja templates (its prompts/ folder)."""
        return self._ext.prompts()

    def trace(self, message: str, level: str = "debug", **data: Any) -> None:
        self._ext.trace(message, level=level, event=self.event.kind, **data)

    def dispatch_job(self, job: str | Callable[..., Any], args: Any = None, **kwargs: Any
                     ) -> ExtensionJob:
        """Start one of the extension's jobs: `args` is a dict of its arguments, or one value
        for its first parameter (`ctx.dispatch_job(analyze_photos, photo.location())`)."""
        if args is not None and not isinstance(args, Mapping):
            args = {_first_parameter(job): args}
        return self._ext.dispatch_job(job, args, **kwargs)

    def query_similar_faces(self, photo: Any, k: int = 5, min_score: float | None = None,
                            field: str | None = None) -> list[tuple[str, float, Any]]:
        """Known faces similar to those stored for `photo` (its `faces` sidecar, as the
        extension wrote it; needs ReadSidecars for "faces"), or to the embeddings given,
        searched in the agent memory's associative field (`field`, or its only one)."""
        faces = photo
        if isinstance(photo, EntryRef):
            if photo.content_uuid is None:
                return []
            from core.access.permissions import PermissionDenied
            from core.domain.metadata import NotFoundError
            try:
                faces = json.loads(self.vdfs().read_sidecar(photo.content_uuid, "faces"))
            except (NotFoundError, PermissionDenied, ValueError):
                return []             # not analysed yet, or not the extension's to read
        return _associative(self.memory(), field).query_similar_faces(faces, k, min_score)


def _first_parameter(job: Any) -> str:
    try:
        params = list(inspect.signature(job).parameters)[1:]
    except (TypeError, ValueError):
        params = []
    if not params:
        raise ArgumentError(f"{job!r} takes no argument after ctx: pass its arguments as a dict")
    return params[0]


def _associative(memory: Any, field: str | None) -> Any:
    names = [f.name for f in getattr(memory, "__vdfs_agent_memory__", ())
             if f.kind is AssociativeMemory]
    if field is None and len(names) == 1:
        field = names[0]
    if field not in names:
        raise ArgumentError(f"name the associative memory to search: field= one of {names}"
                            if field is None else f"{field!r} is not an associative memory "
                            f"field (have {names})")
    return getattr(memory, field)


class AgentRuntime:
    """Delivers the library's events to one extension's agent, on one worker thread.
    `ext_ctx` is core's ExtensionRuntime; handlers get its sealed facade."""

    def __init__(self, ext_ctx: ExtensionContext, agent_obj: Any, *, seen_limit: int = 100_000):
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
                    try:
                        self._deliver(h, item)
                    except Exception as exc:  # a malformed event must not end the agent
                        self.errors += 1
                        log.exception("agent %s: cannot deliver %s", self.ctx.extension_id,
                                      item.kind)
                        self.ctx.trace(f"{item.kind} not delivered to {h.method}: {exc!r}",
                                       level="error", event=item.kind,
                                       error=type(exc).__name__)

    def _deliver(self, h: Handler, event: Any) -> None:
        arg: Any = event.payload
        if event.kind in ENTRY_EVENTS:
            from core.access.entries import GuardedEntries
            entry = EntryRef.from_payload(event.payload, GuardedEntries(self.ctx.guard))
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

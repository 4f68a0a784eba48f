"""An installed extension's context, in two halves.

`ExtensionRuntime` is core's: it holds the library, the grants and the guard, and is what the
extension manager, the agent runtime and core.actions use. `ExtensionContext` is what the
extension's own code receives (init, migrate, and through its jobs, tasks, actions and agent):
the checked host API, its AI models, prompts, memory, trail and job dispatch — and no path to
the library (core.access.facade).
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from core.ai import AiService, ModelRegistry, PromptError, Prompts
from core.agents.memory import close_memory, open_memory
from core.agents.trail import Trail
from core.store.facade import Backing, Facade, passthrough
from core.jobs.sealed import sealed_handle
from .definition import ExtensionDefinition, job_short_name
from core.access.guard import Guard
from .host import ScopedVdfsApi
from core.access import visibility
from core.access.permissions import Grant, GrantSet

if TYPE_CHECKING:  # pragma: no cover
    from core.jobs.handle import Job
    from core.jobs.sealed import ExtensionJob
    from core.library import Library
    from core.store.events import Event


class ExtensionRuntime:
    """Core-internal: everything about one active extension, bound to its grants."""

    def __init__(self, lib: Library, definition: ExtensionDefinition, grants: GrantSet, config: Any):
        self.lib = lib
        self.definition = definition
        self.extension_id = definition.id
        self.grants = grants
        self.guard = Guard(lib, grants)     # the scope checks, shared with core.actions
        self.config = config
        self._memory: Any = None
        self._ai: AiService | None = None
        self._lock = threading.Lock()
        self._trail = Trail(lib.path / "logs" / "extensions" / f"{definition.id}.jsonl",
                            _trail_level(definition))
        self.facade = _backing.bind(ExtensionContext(), self)

    def __repr__(self) -> str:
        return f"<ExtensionRuntime {self.extension_id}>"

    # ---- services -------------------------------------------------------------------------
    def vdfs(self) -> ScopedVdfsApi:
        return ScopedVdfsApi(self.lib.vdfs(), self.grants)

    def models(self) -> ModelRegistry:
        return ModelRegistry(extension_id=self.extension_id)

    def ai(self) -> AiService:
        with self._lock:
            if self._ai is None:
                self._ai = AiService(ModelRegistry(extension_id=self.extension_id),
                                     preference_for=self.grants.model_preference)
            return self._ai

    def prompts(self) -> Prompts:
        root = self.definition.package_root
        folder = getattr(self.definition.cls, "prompts_dir", None) if self.definition.cls else None
        if folder is None and root is not None:
            folder = root / "prompts"
        if folder is None:
            raise PromptError(f"extension {self.extension_id} has no prompts/ folder")
        return Prompts(Path(folder))

    def memory(self) -> Any:
        with self._lock:
            if self._memory is None:
                if self.definition.memory is None:
                    raise LookupError(f"extension {self.extension_id} declares no @agent_memory class")
                self._memory = open_memory(self.definition.memory, self.memory_path,
                                           str(self.lib.device_uuid))
            return self._memory

    @property
    def memory_path(self) -> Path:
        return self.lib.path / "agents" / f"{self.extension_id}.db"

    def trace(self, message: str, level: str = "debug", **data: Any) -> None:
        self._trail.write(message, level=level, **data)

    @property
    def trail(self) -> Trail:
        return self._trail

    # ---- jobs -----------------------------------------------------------------------------
    def job_name(self, job: str | Callable[..., Any]) -> str:
        short = job if isinstance(job, str) else job_short_name(job)
        short = short.rsplit(".", 1)[-1]
        names = {job_short_name(j) for j in self.definition.jobs}
        if short not in names:
            raise LookupError(f"extension {self.extension_id} has no job {short!r} "
                              f"(jobs: {sorted(names)})")
        return f"{self.extension_id}.{short}"

    def dispatch_job(self, job: str | Callable[..., Any], args: dict[str, Any] | None = None,
                     **kwargs: Any) -> Job:
        """Start one of this extension's jobs (needs DispatchJobs)."""
        self.grants.require("DispatchJobs")
        return self.lib.jobs.submit(self.job_name(job), dict(args or {}, **kwargs),
                                    extension_id=self.extension_id, trigger="on_event")

    # ---- scope, for the agent runtime (core.access.visibility decides) -----------------
    def entry_visible(self, path: str) -> bool:
        return visibility.entry_visible(self.grants, self.lib, path)

    def event_visible(self, event: Event) -> bool:
        return visibility.event_visible(self.guard, event.kind, event.payload)

    def close(self) -> None:
        if self._memory is not None:
            close_memory(self._memory)
            self._memory = None
        if self._ai is not None:
            self._ai.close()
            self._ai = None


_backing: Backing["ExtensionRuntime"] = Backing("extension context")


class ExtensionContext(Facade):
    """What an extension's code gets: its checked host API and its own services. Its
    ExtensionRuntime (library, grants, guard) is held by core, not by this object."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<ExtensionContext {self.extension_id}>"

    extension_id = passthrough(_backing, "extension_id")
    definition = passthrough(_backing, "definition")
    config = passthrough(_backing, "config")
    trail = passthrough(_backing, "trail")

    def granted(self, permission: str) -> list[Grant]:
        """The user's grants of one permission ("WriteSidecars", …), with their scopes."""
        return _backing(self).grants.granted(permission)

    def vdfs(self) -> ScopedVdfsApi:
        return _backing(self).vdfs()

    def models(self) -> ModelRegistry:
        return _backing(self).models()

    def ai(self) -> AiService:
        return _backing(self).ai()

    def prompts(self) -> Prompts:
        return _backing(self).prompts()

    def memory(self) -> Any:
        return _backing(self).memory()

    def trace(self, message: str, level: str = "debug", **data: Any) -> None:
        _backing(self).trace(message, level, **data)

    def job_name(self, job: str | Callable[..., Any]) -> str:
        return _backing(self).job_name(job)

    def dispatch_job(self, job: str | Callable[..., Any], args: dict[str, Any] | None = None,
                     **kwargs: Any) -> ExtensionJob:
        """Start one of this extension's jobs (needs DispatchJobs); returns a handle to wait
        for it, follow or stop it."""
        return sealed_handle(_backing(self).dispatch_job(job, args, **kwargs))


def _trail_level(d: ExtensionDefinition) -> str:
    agent = d.agent_obj
    spec = getattr(agent, "__vdfs_agent__", None) if agent is not None else None
    return spec.trail_level if spec is not None else "debug"

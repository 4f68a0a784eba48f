"""The services every extension-facing context shares (ai, models, trace), built on the sealed
facades of core.store.facade."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.store.facade import Facade

if TYPE_CHECKING:  # pragma: no cover
    from core.actions.context import ActionContext
    from core.ai.registry import ModelRegistry
    from core.ai.service import AiService
    from core.extensions.context import ExtensionContext
    from core.jobs.context import JobContext
    from core.jobs.executor import TaskContext


class ExtensionServices(Facade):
    """ai(), models() and trace() of the extension a job, task or action belongs to."""

    __slots__ = ()

    def extension(self) -> ExtensionContext:
        """The extension's own ExtensionContext (config, memory, prompts, …)."""
        raise NotImplementedError

    def ai(self) -> AiService:
        return self.extension().ai()

    def models(self) -> ModelRegistry:
        return self.extension().models()

    def trace(self, message: str, level: str = "debug", **data: Any) -> None:
        self.extension().trace(message, level, **data)


def extension_of(inner: JobContext | TaskContext | ActionContext) -> ExtensionContext:
    """The sealed ExtensionContext of the extension a core-side context (its `lib` and
    `extension_id`) acts for."""
    return inner.lib.extensions.context(inner.extension_id).facade

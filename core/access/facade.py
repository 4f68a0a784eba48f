"""The services every extension-facing context shares (ai, models, trace), built on the sealed
facades of core.store.facade."""
from __future__ import annotations

from typing import Any

from core.store.facade import Facade


class ExtensionServices(Facade):
    """ai(), models() and trace() of the extension a job, task or action belongs to."""

    __slots__ = ()

    def extension(self) -> Any:
        """The extension's own ExtensionContext (config, memory, prompts, …)."""
        raise NotImplementedError

    def ai(self) -> Any:
        return self.extension().ai()

    def models(self) -> Any:
        return self.extension().models()

    def trace(self, message: str, level: str = "debug", **data: Any) -> None:
        self.extension().trace(message, level, **data)


def extension_of(inner: Any) -> Any:
    """The sealed ExtensionContext of the extension a core-side context (its `lib` and
    `extension_id`) acts for."""
    return inner.lib.extensions.context(inner.extension_id).facade

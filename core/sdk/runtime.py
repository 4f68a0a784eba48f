"""Helpers extension code calls at run time."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from core.access.facade import ExtensionServices
    from core.actions.context import ActionContext
    from core.extensions.context import ExtensionContext
    from core.jobs.context import JobContext
    from core.jobs.executor import TaskContext


def extension_context(ctx: ExtensionServices | JobContext | TaskContext | ActionContext
                      ) -> ExtensionContext:
    """The ExtensionContext (checked host API, ai(), prompts(), memory(), trace(), config) of the
    extension running a job, task or action: `ext = extension_context(ctx)` inside its code."""
    extension = getattr(ctx, "extension", None)
    if extension is None:
        raise LookupError("this job does not belong to an extension (no extension_id)")
    return extension()

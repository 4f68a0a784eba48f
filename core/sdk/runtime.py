"""Helpers extension code calls at run time."""
from __future__ import annotations

from typing import Any


def extension_context(ctx: Any) -> Any:
    """The ExtensionContext (checked host API, ai(), prompts(), memory(), trace(), config) of the
    extension running a job, task or action: `ext = extension_context(ctx)` inside its code."""
    from ..extensions.manager import ExtensionManager
    ext_id = getattr(ctx, "extension_id", None)
    if not ext_id:
        raise LookupError("this job does not belong to an extension (no extension_id)")
    return ExtensionManager.of(ctx.lib).context(ext_id)

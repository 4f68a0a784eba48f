"""Helpers extension code calls at run time."""
from __future__ import annotations

from typing import Any


def extension_context(ctx: Any) -> Any:
    """The ExtensionContext (checked host API, ai(), prompts(), memory(), trace(), config) of the
    extension running a job, task or action: `ext = extension_context(ctx)` inside its code."""
    extension = getattr(ctx, "extension", None)
    if extension is None:
        raise LookupError("this job does not belong to an extension (no extension_id)")
    return extension()

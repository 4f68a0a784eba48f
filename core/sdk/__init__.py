"""The extension SDK in one import (docs/architecture.md §6):

    from core.sdk import (extension, model, blob_data, job, task, action, action_execute,
                          agent, agent_memory, setting, Permission)

Each decorator marks what an extension declares. Each name is re-exported from the module
that owns it; a part that is missing from this install raises a clear ImportError on use.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

from ..agents import (AssociativeMemory, TemporalMemory, WorkingMemory, agent, agent_memory,
                      agent_trail, on_event, sync)
from ..ai import ModelSource
from ..extensions import Permission, PermissionDenied
from ..extensions.definition import extension
from ..extensions.settings import setting

_ELSEWHERE = {
    "model": "core.domain.models", "blob_data": "core.domain.models",
    "job": "core.jobs", "task": "core.jobs",
    "action": "core.actions", "action_execute": "core.actions", "ActionPreview": "core.actions",
    "ExtensionManager": "core.extensions.manager", "extension_context": "core.sdk.runtime",
}

__all__ = ["extension", "model", "blob_data", "job", "task", "action", "action_execute", "agent",
           "agent_memory", "agent_trail", "on_event", "setting", "Permission", "PermissionDenied",
           "sync", "TemporalMemory", "AssociativeMemory", "WorkingMemory", "ModelSource",
           "ActionPreview", "ExtensionManager", "extension_context"]


def __getattr__(name: str) -> Any:
    """Load the other engineers' decorators on first use, so this module imports even when a
    part (e.g. actions) is not installed, and a missing part says which module it needs."""
    module = _ELSEWHERE.get(name)
    if module is None:
        raise AttributeError(f"core.sdk has no {name!r}")
    try:
        value = getattr(import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ImportError(f"core.sdk.{name} comes from {module}, which is not available: {exc}") from exc
    globals()[name] = value
    return value

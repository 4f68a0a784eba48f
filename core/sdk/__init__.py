"""The extension SDK in one import (docs/architecture.md §6):

    from core.sdk import (extension, model, blob_data, job, task, action, action_execute,
                          agent, agent_memory, setting, Permission)

Each decorator marks what an extension declares. Each name is re-exported from the module
that owns it; every part ships in the package, so all are imported here.
"""
from __future__ import annotations

from core.agents import (AssociativeMemory, TemporalMemory, WorkingMemory, agent, agent_memory,
                         agent_trail, on_event, sync)
from core.ai import ModelSource
from core.extensions import Permission, PermissionDenied
from core.extensions.definition import extension
from core.extensions.settings import setting
from core.actions import ActionPreview, action, action_execute
from core.domain.models import blob_data, model
from core.extensions.manager import ExtensionManager
from core.jobs import job, task
from .runtime import extension_context

__all__ = ["extension", "model", "blob_data", "job", "task", "action", "action_execute", "agent",
           "agent_memory", "agent_trail", "on_event", "setting", "Permission", "PermissionDenied",
           "sync", "TemporalMemory", "AssociativeMemory", "WorkingMemory", "ModelSource",
           "ActionPreview", "ExtensionManager", "extension_context"]

"""The extension SDK's core side: definitions, permissions, manifests, install, scoped host API.

    from core.extensions import ExtensionManager, Permission, extension
    mgr = lib.extensions
    mgr.install(MyExtension, [Permission.ReadEntries(glob="**/*.jpg").scoped_to("/My Photos")])
"""
from typing import Any

from core.access.permissions import Grant, GrantSet, Permission, PermissionDenied, PermissionSpec

_LAZY = {"ExtensionManager": ".manager", "ExtensionContext": ".context", "extension": ".definition",
         "ExtensionError": ".definition", "discover": ".definition", "setting": ".settings",
         "ManifestError": ".manifest", "load_package": ".manifest", "ScopedVdfsApi": ".host"}

__all__ = ["Grant", "GrantSet", "Permission", "PermissionDenied", "PermissionSpec", *_LAZY]


def __getattr__(name: str) -> Any:
    """Heavier parts (jobs, AI, agents) load on first use: importing permissions stays cheap."""
    if name not in _LAZY:
        raise AttributeError(f"core.extensions has no {name!r}")
    from importlib import import_module
    value = getattr(import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value

"""The extension SDK's core side: definitions, permissions, manifests, install, scoped host API."""
from .permissions import Grant, GrantSet, Permission, PermissionDenied, PermissionSpec

__all__ = ["Grant", "GrantSet", "Permission", "PermissionDenied", "PermissionSpec"]

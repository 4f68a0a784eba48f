"""Where vdfs keeps things outside a library ($VDFS_HOME, default ~/.vdfs), and how a path
the library stores as text maps to the path on disk and back."""
from __future__ import annotations

import os
from pathlib import Path

from .names import display_path, raw_bytes


def vdfs_home() -> Path:
    return Path(os.environ.get("VDFS_HOME") or Path.home() / ".vdfs")


def models_dir() -> Path:
    """AI model files: never inside a library, never synced (docs/architecture.md §2)."""
    return vdfs_home() / "models"


def default_library_path(name: str) -> Path:
    return vdfs_home() / "libraries" / f"{name}.vdfs"


def stored_path(os_path: str) -> str:
    """The text the library stores for an OS path (str, undecodable bytes as surrogates):
    the indexer's one-to-one name rule, identity for valid UTF-8 without a backslash."""
    return display_path(os_path)[0]


def disk_path(stored: str) -> str:
    """The OS path a stored entry path stands for (exact inverse of `stored_path`). Text no
    name maps to — a row of the older rule, which stored a UTF-8 name's backslash as is — is
    its own OS path."""
    try:
        return os.fsdecode(raw_bytes(stored))
    except ValueError:
        return stored

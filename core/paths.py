"""Where vdfs keeps things outside a library: $VDFS_HOME (default ~/.vdfs)."""
from __future__ import annotations

import os
from pathlib import Path


def vdfs_home() -> Path:
    return Path(os.environ.get("VDFS_HOME") or Path.home() / ".vdfs")


def models_dir() -> Path:
    """AI model files: never inside a library, never synced (DESIGN §2)."""
    return vdfs_home() / "models"


def default_library_path(name: str) -> Path:
    return vdfs_home() / "libraries" / f"{name}.vdfs"

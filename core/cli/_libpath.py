"""Which library a command works on when `-L` is not given, so `vdfs query` needs no setup.

In order: `-L PATH`; `$VDFS_LIBRARY`; the nearest library at or above the current folder (the
folder itself if it is a `*.vdfs` library, else a `*.vdfs` library inside it, then the same one
level up, and so on); the per-user default `$VDFS_HOME/libraries/default.vdfs`. Two libraries
side by side in the nearest folder that has one is an error that names them: guessing would
write to the wrong one.
"""
from __future__ import annotations

import os
from pathlib import Path

from core.errors import VdfsError
from core.store.folder import LIBRARY_JSON
from core.store.paths import default_library_path

DEFAULT_NAME = "default"


class AmbiguousLibraryError(VdfsError):
    """Several `*.vdfs` libraries in the nearest folder that has one, and no -L."""


def _is_library(path: Path) -> bool:
    return path.name.endswith(".vdfs") and (path / LIBRARY_JSON).is_file()


def nearest_library(start: Path) -> Path | None:
    """The library at or above `start` (see the module docstring), or None."""
    for folder in (start, *start.parents):
        if _is_library(folder):
            return folder
        try:
            found = sorted(p for p in folder.glob("*.vdfs") if _is_library(p))
        except OSError:      # an unreadable folder on the way up: look further up
            continue
        if len(found) == 1:
            return found[0]
        if found:
            names = ", ".join(p.name for p in found)
            raise AmbiguousLibraryError(
                f"{len(found)} libraries in {folder} ({names}): say which with -L PATH "
                "or $VDFS_LIBRARY")
    return None


def resolve_library(explicit: str | None) -> Path:
    """The library path a command uses (it may not exist yet: `index` creates it)."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("VDFS_LIBRARY")
    if env:
        return Path(env)
    return nearest_library(Path.cwd()) or default_library_path(DEFAULT_NAME)


def missing_library_hint(explicit: str | None, exc: BaseException) -> str:
    """A line to add when a command found no library at all (no -L, no $VDFS_LIBRARY, none
    here or above, no default yet): how one comes to be, since 'no such folder' alone leaves
    a first-time user guessing. Empty otherwise."""
    from core.errors import NotALibraryError
    if (not isinstance(exc, NotALibraryError) or explicit or os.environ.get("VDFS_LIBRARY")
            or resolve_library(None).exists()):
        return ""
    return ("\nvdfs: no library yet: `vdfs index FOLDER` makes the default one "
            f"({default_library_path(DEFAULT_NAME)}) and indexes FOLDER into it, "
            "`vdfs init` makes one in this folder")

"""The library a notebook works on: one per kernel, reachable without IPython.

Magics are a thin skin (docs/architecture.md §1); keeping the open library here lets widgets,
the completer and plain Python (`kernel_ext.library()`) share it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import MagicError

_current: Any = None


class NoLibraryError(MagicError):
    """A command needs an open library and none is."""


def library(required: bool = True) -> Any:
    """The open library (or None when `required` is False)."""
    if _current is None and required:
        raise NoLibraryError("no library is open: run %vdfs open PATH [--create] first")
    return _current


def set_library(lib: Any) -> None:
    global _current
    if _current is not None and _current is not lib:
        _current.close()
    _current = lib


def open_library(path: str | os.PathLike[str], create: bool = False) -> Any:
    """Open (or with `create`, make if absent) the library at `path` and make it current."""
    from core import Library
    p = Path(path).expanduser()
    if create and not (p / "library.json").exists():
        lib = Library.create(p)
    else:
        lib = Library.open(p)
    set_library(lib)
    return lib


def close_library() -> None:
    set_library(None)

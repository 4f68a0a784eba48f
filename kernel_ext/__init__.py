"""IPython extension for vdfs: `%load_ext kernel_ext` gives `%vdfs` and `%%vdfs`.

The kernel skin (docs/architecture.md §1): magics, tab completion, rich results, widgets and the
"VDFS (Python 3)" kernelspec. No business logic lives here; `kernel_ext.library()` returns the
library the magics work on, for plain Python in the same notebook.
"""
from __future__ import annotations

import os
from typing import Any

from .session import close_library, library, open_library

__all__ = ["load_ipython_extension", "unload_ipython_extension", "library", "open_library",
           "close_library"]

_matchers: dict[int, Any] = {}


def load_ipython_extension(ip: Any) -> None:
    from . import config, formatters
    from .completion import make_matcher
    from .magics import VdfsMagics

    config.install(ip)
    ip.register_magics(VdfsMagics)
    matcher = make_matcher(ip)
    ip.Completer.custom_matchers.insert(0, matcher)
    _matchers[id(ip)] = matcher
    formatters.register(ip)
    path = os.environ.get("VDFS_LIBRARY")
    if path and library(required=False) is None:
        lib = open_library(path, create=os.environ.get("VDFS_LIBRARY_CREATE") == "1")
        ip.user_ns["vdfs_library"] = lib
        from .widgets.registry import load_installed
        load_installed(lib)


def unload_ipython_extension(ip: Any) -> None:
    matcher = _matchers.pop(id(ip), None)
    if matcher is not None and matcher in ip.Completer.custom_matchers:
        ip.Completer.custom_matchers.remove(matcher)

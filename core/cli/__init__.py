"""The `vdfs` console script: a thin skin over core and vdfs_query (docs/architecture.md §1).

Each sub-command lives in its own module of this package and exposes
`register(subparsers) -> None`, which adds its parser and sets `func=handler(args) -> int`.
Modules are found by name, so adding a command never edits this file.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sqlite3
import sys

from ..errors import VdfsError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vdfs", description="Local-first virtual distributed file system")
    parser.add_argument("--library", "-L", default=os.environ.get("VDFS_LIBRARY"),
                        help="library folder (default: $VDFS_LIBRARY or ./library.vdfs)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(subparsers)
    return parser


def library_path(args: argparse.Namespace) -> str:
    return args.library or "library.vdfs"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except VdfsError as exc:
        print(f"vdfs: {exc}", file=sys.stderr)
        return 1
    except (OSError, sqlite3.Error) as exc:   # a fault no layer below named: still one line
        from ..faults import storage_error
        shown = storage_error(exc, library_path(args)) or exc
        print(f"vdfs: {shown}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("vdfs: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

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
import stat
import sys

from core.errors import VdfsError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vdfs", description="Local-first virtual distributed file system")
    parser.add_argument("--version", "-V", action=_VersionAction, nargs=0,
                        help="show the version and exit")
    parser.add_argument("--library", "-L", default=None,
                        help="library folder (default: $VDFS_LIBRARY, else the nearest *.vdfs "
                             "library at or above this folder, else "
                             "$VDFS_HOME/libraries/default.vdfs)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(subparsers)
    for listed in subparsers._choices_actions:    # `vdfs COMMAND --help` says what it does
        sub = subparsers.choices[listed.dest]
        if sub.description is None and listed.help:
            sub.description = listed.help[0].upper() + listed.help[1:] + "."
    return parser


class _VersionAction(argparse.Action):
    """argparse's version action, its text made only when asked: reading the package's
    metadata costs every other command (a `vdfs query` among them) tens of ms."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(version_text())          # to stdout, as argparse's own version action
        parser.exit()


def version_text() -> str:
    """`vdfs --version`: the installed package's version and the core API extensions check."""
    from importlib.metadata import PackageNotFoundError, version
    from core.version import __version__ as core_version
    try:
        dist = version("vdfs")
    except PackageNotFoundError:   # run from a source tree that was never installed
        dist = "(not installed)"
    return (f"vdfs {dist} (core API {core_version}, Python "
            f"{'.'.join(map(str, sys.version_info[:3]))})")


def library_path(args: argparse.Namespace) -> str:
    """The library this command works on (-L, $VDFS_LIBRARY, the nearest, the default)."""
    if getattr(args, "_library_resolved", None) is None:
        from ._libpath import resolve_library
        args._library_resolved = str(resolve_library(args.library))
    return args._library_resolved


def _stdout_is_pipe() -> bool:
    try:
        mode = os.fstat(sys.stdout.fileno()).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _closed_pipe() -> int:
    """stdout's reader went away (`vdfs query … | head`): stop quietly, like cat or fd.
    stdout now points at /dev/null so the interpreter's last flush cannot fail either."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 0


def trouble_exit(args: argparse.Namespace) -> int:
    """The exit code of a command that failed: 1, or what the command set as `trouble`
    (search: 2, as grep, whose 1 means "no hits")."""
    return getattr(args, "trouble", 1)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    trouble = trouble_exit(args)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError as exc:
        if _stdout_is_pipe():
            return _closed_pipe()
        print(f"vdfs: {exc}", file=sys.stderr)
        return trouble
    except VdfsError as exc:
        from ._libpath import missing_library_hint
        print(f"vdfs: {exc}{missing_library_hint(args.library, exc)}", file=sys.stderr)
        return trouble
    except (OSError, sqlite3.Error) as exc:   # a fault no layer below named: still one line
        from core.store.faults import storage_error
        shown = storage_error(exc, library_path(args)) or exc
        print(f"vdfs: {shown}", file=sys.stderr)
        return trouble
    except KeyboardInterrupt:
        print("vdfs: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""`vdfs query "…"` prints a result table; `vdfs explain "…"` shows IR, route, SQL and values."""
from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from . import library_path
from .output import add_output_options, emit

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library
    from vdfs_query import LocatedError


def register(subparsers: argparse._SubParsersAction) -> None:
    for name, helptext, func in (("query", "run a query and print the rows", _query),
                                 ("explain", "show how a query is understood and run", _explain)):
        p = subparsers.add_parser(name, help=helptext)
        p.add_argument("text", help='the query, e.g. "entries of kind image limit 10"')
        p.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE",
                       help="bind :NAME (numbers stay numbers); repeatable")
        if name == "query":
            add_output_options(p)
        p.set_defaults(func=func)


def _params(items: list[str]) -> dict:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"vdfs: --param wants NAME=VALUE, got {item!r}")
        try:
            out[name.lstrip(":")] = int(value)
        except ValueError:
            out[name.lstrip(":")] = value
    return out


def _here(text: str):
    """The query with relative `in "…"` paths resolved against the current directory."""
    from vdfs_query import resolve_paths
    return resolve_paths(text, os.getcwd())


def _open(args: argparse.Namespace):
    from core.library import Library
    return Library.open(library_path(args))


def _run(args: argparse.Namespace, action) -> int:
    """`action(lib)` on the library of `args` (a library that cannot be opened: the
    command's trouble exit code, core.cli.trouble_exit)."""
    from vdfs_query import LocatedError, QueryCancelled
    try:
        lib = _open(args)
    except Exception as exc:
        from ._libpath import missing_library_hint
        print(f"vdfs: {exc}{missing_library_hint(args.library, exc)}", file=sys.stderr)
        from . import trouble_exit
        return trouble_exit(args)
    try:
        return action(lib)
    except LocatedError as exc:      # a bad query text or :param value: caret, exit 2
        print(f"vdfs: {_worded_here(exc)}", file=sys.stderr)
        return 2
    except (QueryCancelled, KeyboardInterrupt):     # Ctrl-C: the shell's code for SIGINT
        print("vdfs: query cancelled", file=sys.stderr)
        return 130
    finally:
        lib.close()


def _worded_here(exc: LocatedError) -> LocatedError:
    """The error with a missing parameter's hint in this command line's terms."""
    name = getattr(exc, "missing_param", None)
    return exc.with_hint(f"pass it as --param {name}=… (or -p {name}=…)") if name else exc


def _query(args: argparse.Namespace) -> int:
    params = _params(args.param)

    def action(lib: Library) -> int:
        result = lib.query(_here(args.text), **params)
        emit(result, args, explicit_columns=_names_columns(args.text))
        return 0
    return _run(args, action)


def _names_columns(text: str) -> bool:
    """Whether the query has a `select` (its uuid columns were asked for)."""
    from vdfs_query import parse
    return getattr(parse(text), "select", None) is not None


def _explain(args: argparse.Namespace) -> int:
    params = _params(args.param)

    def action(lib: Library) -> int:
        print(lib.explain(_here(args.text), **params))
        return 0
    return _run(args, action)

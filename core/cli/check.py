"""`vdfs check [--full]`: read every page of the library's databases and report any damage.

Opening a library checks only what is cheap (header, schema, version), so that it is instant at
any size; this command is the whole-file check. It reads and never writes, so it also works on
a library that refuses to open, and it exits 1 when it finds a problem (usable in scripts).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from . import library_path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("check", help="check the library's files for damage")
    parser.add_argument("--full", action="store_true",
                        help="also compare every index with its table (slower)")
    parser.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    from core.errors import NotALibraryError
    from core.store.folder import LIBRARY_DB
    from core.store.integrity import check_library, record
    folder = Path(library_path(args)).expanduser().absolute()
    if not (folder / LIBRARY_DB).is_file():
        raise NotALibraryError(f"{folder} is not a vdfs library: it has no {LIBRARY_DB}")
    result = check_library(folder, full=args.full)
    for name, problems in result.items():
        if not problems:
            print(f"{name}: ok")
            continue
        print(f"{name}: {len(problems)} problem(s)")
        for problem in problems:
            print(f"  {problem}")
    damaged = any(result.values())
    if damaged:
        print("restore the damaged file(s) from a backup")
    record(folder, result, "vdfs check --full" if args.full else "vdfs check")
    return 1 if damaged else 0

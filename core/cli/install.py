"""`vdfs install PATH`: install an extension package (a WASM folder or .zip, or a Python
package folder) into the library, granting the permissions it requests only when the user says
so (`--yes`, or answering the prompt), optionally scoped to folders (`--scope`)."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from . import library_path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("install", help="install an extension package (WASM or Python)")
    p.add_argument("path", help="package folder or .zip")
    p.add_argument("--yes", "-y", action="store_true",
                   help="grant every permission the package requests without asking")
    p.add_argument("--no-grants", action="store_true",
                   help="install without granting any permission")
    p.add_argument("--scope", action="append", default=[], metavar="FOLDER",
                   help="limit the grants to this folder or location (repeatable)")
    p.set_defaults(func=cmd_install)


def requested(path: str) -> list[Any]:
    """The permissions a package requests, read without installing it."""
    from core.extensions.definition import resolve
    from core.access.permissions import manifest_permissions
    from core.extensions.wasm.install import is_wasm_package
    from core.extensions.wasm.package import load_wasm_package
    if is_wasm_package(path):
        return manifest_permissions(load_wasm_package(path).manifest)
    return list(resolve(path).permissions)


def cmd_install(args: argparse.Namespace) -> int:
    from core.library import Library
    perms = requested(args.path)
    if perms:
        print("the extension requests:", file=sys.stderr)
        for p in perms:
            where = f" in {', '.join(args.scope)}" if args.scope else " everywhere"
            print(f"  {p}{where}", file=sys.stderr)
    if args.no_grants or not perms:
        grants: list[Any] = []
    elif args.yes:
        grants = perms
    elif sys.stdin.isatty():
        answer = input("grant these permissions? [y/N] ").strip().lower()
        grants = perms if answer in ("y", "yes") else []
    else:
        print("vdfs: not installed: pass --yes to grant the requested permissions, or "
              "--no-grants to install without any", file=sys.stderr)
        return 2
    lib = Library.open(library_path(args))
    try:
        ctx = lib.extensions.install(args.path, grants, scope=args.scope)
        d = ctx.definition
        print(f"installed {d.id} {d.version} with {len(grants)} grant(s)")
    finally:
        lib.close()
    return 0

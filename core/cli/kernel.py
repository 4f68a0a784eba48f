"""`vdfs kernel install [--user]`: the notebook kernel, a thin command over kernel_ext.

core never imports kernel_ext at module level (architecture §1); the import happens only when the
command runs.
"""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("kernel", help="install the VDFS Jupyter kernel")
    sub = parser.add_subparsers(dest="kernel_command", metavar="ACTION", required=True)
    inst = sub.add_parser("install", help='install the "VDFS (Python 3)" kernelspec')
    where = inst.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="install for this user (~/.local)")
    where.add_argument("--prefix", help="install under this prefix (default: this Python's prefix)")
    inst.add_argument("--name", default="vdfs", help="kernel name (default: vdfs)")
    inst.set_defaults(func=_install)
    rm = sub.add_parser("uninstall", help="remove the kernelspec")
    rm.add_argument("--name", default="vdfs")
    rm.set_defaults(func=_uninstall)


def _install(args: argparse.Namespace) -> int:
    from kernel_ext import kernelspec
    path = kernelspec.install(user=args.user, prefix=args.prefix, name=args.name)
    print(f"installed kernelspec {args.name!r} ({kernelspec.DISPLAY_NAME}) in {path}")
    return 0


def _uninstall(args: argparse.Namespace) -> int:
    from kernel_ext import kernelspec
    path = kernelspec.uninstall(args.name)
    print(f"removed kernelspec {args.name!r} from {path}")
    return 0

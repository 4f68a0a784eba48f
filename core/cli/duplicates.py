"""`vdfs duplicates [--verify]`: duplicate groups, and whether full hashes prove them copies.

Content identity is sampled, so a group is only a candidate until `--verify` has read every
copy in full (once; the hashes are stored). A group whose copies differ is listed with
`verified` no and named on stderr.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from . import library_path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("duplicates", help="duplicate groups; --verify reads them in full")
    p.add_argument("--verify", action="store_true",
                   help="compute the full BLAKE3 of every copy not hashed yet, then list")
    p.add_argument("--limit", type=int, default=20, help="groups to list (most wasted first)")
    p.set_defaults(func=cmd_duplicates)


def cmd_duplicates(args: argparse.Namespace) -> int:
    from core.library import Library
    from core.content.verify import verify_duplicates
    lib = Library.open(library_path(args))
    try:
        if args.verify:
            report = verify_duplicates(lib)
            print(f"verified {report.verified} of {report.groups} group(s); read "
                  f"{report.hashed:,} file(s), {report.bytes:,} bytes", file=sys.stderr)
            for digest in report.mismatched:
                print(f"vdfs: copies of {digest} differ: not duplicates", file=sys.stderr)
            for item in report.unverifiable:
                print(f"vdfs: cannot verify {item['path']}: {item['reason']}", file=sys.stderr)
        rows = lib.query("content duplicates order by wasted desc, content_hash "
                         "select content_hash, size, entry_count, wasted, verified "
                         "limit :n", n=max(0, args.limit)).rows()
    finally:
        lib.close()
    from .output import human_size, render_table
    table = [[r["content_hash"], human_size(r["size"]), f"{r['entry_count']:,}",
              human_size(r["wasted"]), "yes" if r["verified"] else "no"] for r in rows]
    sys.stdout.write(render_table(["content_hash", "size", "copies", "wasted", "verified"],
                                  table, [False, True, True, True, False],
                                  color=sys.stdout.isatty()))
    return 1 if args.verify and report.mismatched else 0

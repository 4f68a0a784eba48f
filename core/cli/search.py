"""`vdfs search TEXT`: the library's entries matching a search, best first, the matched part
highlighted (docs/query-language.md "Search"). The same as `vdfs query 'search "TEXT"'`, without
quoting the text for the query language."""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import TYPE_CHECKING

from .output import add_output_options, emit
from .query import _run

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("search", help="find entries by part of a name, or by their text",
                              epilog="exit status: 0 with hits, 1 with none, 2 for any "
                                     "trouble (as grep): a text it cannot read, an --in "
                                     "folder outside every location, a library it cannot "
                                     "open")
    p.add_argument("text", nargs="+", help='what to find: invoice, "tax return", inv*, a OR b')
    p.add_argument("--in", dest="folder", metavar="FOLDER",
                   help="only below this folder (relative to the current one)")
    p.add_argument("--limit", type=_hits, default=100, help="hits to fetch (default 100)")
    add_output_options(p)
    p.set_defaults(func=_search, trouble=2)   # as grep: 1 is "no hits"


def _search(args: argparse.Namespace) -> int:
    from vdfs_query import LocatedError
    text = " ".join(args.text)
    query = "search :text"
    if args.folder:
        query += ' in :folder'
    query += " select rank, snippet, path, kind, size, modified limit :limit"

    def action(lib: Library) -> int:
        params = {"text": text, "limit": args.limit}
        if args.folder:
            params["folder"] = os.path.abspath(os.path.expanduser(args.folder))
            outside = _outside_every_location(lib, params["folder"])
            if outside:
                print(f"vdfs: --in {params['folder']}: {outside}", file=sys.stderr)
                return 2
        try:
            result = lib.query(query, **params)
        except LocatedError as exc:   # about what was typed, not the query built around it
            name, why = re.match(r"(?:parameter :(\w+): )?(.*)", exc.message, re.S).groups()
            if exc.text != query or name not in ("text", "folder"):
                raise
            print(f"vdfs: {'the search text' if name == 'text' else '--in'}: {why}",
                  file=sys.stderr)
            return 2
        below = f" below {params['folder']}" if args.folder else ""
        emit(result, args, nothing=f"no entries match {json.dumps(text, ensure_ascii=False)}"
                                   f"{below}")
        return 1 if result.known_len() == 0 else 0     # as grep and rg: 1 when none match
    return _run(args, action)


def _outside_every_location(lib: Library, folder: str) -> str | None:
    """Why a search below `folder` could never find anything, or None: the folder is neither
    inside a location nor above one (a typo, or a folder never indexed), which an empty table
    would hide. Locations of every device count, as the search sees their entries too."""
    from core.domain.locations import is_within, location_roots, normalize_path
    path = normalize_path(folder)
    roots = location_roots(lib.conn)
    if any(is_within(path, root) or is_within(root, path) for root in roots):
        return None
    if not roots:
        return "not inside any indexed location: the library has none yet (`vdfs index FOLDER`)"
    shown = ", ".join(roots[:3]) + (f" and {len(roots) - 3} more" if len(roots) > 3 else "")
    return f"not inside any indexed location ({shown}; `vdfs locations` lists them)"


def _hits(value: str) -> int:
    """--limit: a count of hits, refused by argparse when negative (exit 2, with usage)."""
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"wants a number of hits (0 or more), got {value!r}")
    return n

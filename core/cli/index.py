"""`vdfs init`, `vdfs index PATH`, `vdfs locations`, `vdfs summary`: the indexer's commands."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from . import library_path
from .output import human_size
from .progress import watch


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "init", help="create a library folder",
        description="Create a library. Commands run in this folder or below it then find it "
                    "without -L.")
    p.add_argument("path", nargs="?",
                   help="where (default: -L, else $VDFS_LIBRARY, else ./library.vdfs)")
    p.set_defaults(func=cmd_init)

    p = subparsers.add_parser("index", help="index a folder (resumes an interrupted index)")
    p.add_argument("path", help="folder to index; becomes a location if it is not in one")
    p.add_argument("--batch-size", type=int, default=None, help="rows per transaction")
    p.add_argument("--workers", type=int, default=None, help="hashing processes (default 2)")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="always draw the progress bar (default: when stderr is a terminal)")
    bar.add_argument("--no-progress", dest="progress", action="store_false",
                     help="never draw it, even on a terminal")
    p.set_defaults(func=cmd_index)

    p = subparsers.add_parser("locations", help="list this device's locations")
    p.set_defaults(func=cmd_locations)

    p = subparsers.add_parser("summary", help="files per kind, bytes, duplicate groups")
    p.add_argument("--top", type=int, default=10, help="duplicate groups to list")
    p.set_defaults(func=cmd_summary)


def _open(args: argparse.Namespace, create: bool = False):
    from core.errors import LibraryExistsError, NotALibraryError
    from core.library import Library
    path = Path(library_path(args))
    try:
        return Library.open(path)
    except NotALibraryError:
        if not create or path.exists():
            raise
    try:
        lib = Library.create(path)
    except LibraryExistsError:   # another process created it a moment ago: use it
        return Library.open(path)
    print(f"created library {path}", file=sys.stderr)
    return lib


def cmd_init(args: argparse.Namespace) -> int:
    from core.errors import LibraryExistsError, VdfsError
    from core.library import Library

    from ._libpath import nearest_library
    path = Path(args.path or args.library or os.environ.get("VDFS_LIBRARY") or "library.vdfs")
    try:
        Library.create(path).close()
    except LibraryExistsError as exc:   # its advice is for Python (Library.open)
        if "already holds a library" not in str(exc):
            raise
        here = path.absolute().parent
        try:
            found = nearest_library(here) == path.absolute()
        except VdfsError:             # several libraries there: none is found on its own
            found = False
        where = (f"commands run in {here} or below find it, elsewhere say -L {path}" if found
                 else f"say -L {path} to use it")
        print(f"vdfs: {path} already holds a library; {where}", file=sys.stderr)
        return 1
    print(f"created library {path}")
    return 0


UNITS = {"discovery": "entries seen", "processing": "changes", "content": "files hashed",
         "aggregation": "folders", "finalisation": "entries"}


def phase_counts(result: dict[str, Any]) -> dict[str, int]:
    """What each phase of a finished index counted, from its result."""
    entries = result["files"] + result["dirs"]
    return {"discovery": entries, "processing": sum(result[k] for k in (
        "created", "modified", "moved", "deleted")), "content": result["hashed"],
        "aggregation": result["folders_updated"], "finalisation": entries}


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def cmd_index(args: argparse.Namespace) -> int:
    from core.indexer import PHASES
    from .progress import PhaseProgress
    options = {k: v for k, v in (("batch_size", args.batch_size), ("workers", args.workers))
               if v is not None}
    show = sys.stderr.isatty() if args.progress is None else args.progress
    lib = _open(args, create=True)
    job = None
    try:
        with PhaseProgress(show, PHASES, UNITS, uncounted=("discovery",)) as bar:
            job = lib.index(args.path, **options)
            if watch(job, bar) == "paused":   # someone paused it: wait() would block
                bar.stop()
                print(f"index paused (job {job.id[:8]}); run `vdfs index {args.path}` to "
                      "resume", file=sys.stderr)
                return 3
            result = job.wait()
            bar.finish(phase_counts(result))
    except KeyboardInterrupt:
        # Ctrl-C: closing the library stops the job at its next checkpoint, resumable; the
        # hashing helpers run in their own process group, so the terminal's SIGINT is ours
        lib.close()
        which = f" job {job.id[:8]}" if job is not None else ""
        print(f"vdfs: interrupted; `vdfs index {args.path}` resumes{which}", file=sys.stderr)
        return 130
    finally:
        lib.close()
    if result.get("resumed"):
        print("resumed an interrupted index")
    print(f"indexed {result['path']}: {_count(result['files'], 'file')}, "
          f"{_count(result['dirs'], 'folder')}, {human_size(result['bytes'])}")
    print(f"  created {result['created']:,}, modified {result['modified']:,}, moved "
          f"{result['moved']:,}, deleted {result['deleted']:,}; hashed "
          f"{_count(result['hashed'], 'file')} ({human_size(result['bytes_hashed'])})")
    for key in ("errors", "skipped"):
        items = result.get(key) or []
        if items:
            print(f"  {key}: {result.get(key + '_total', len(items))}")
            for item in items[:20]:
                print(f"    {item['path']}: {item['reason']}")
    return 0


def cmd_locations(args: argparse.Namespace) -> int:
    from core.domain.locations import list_locations
    from .output import local_time, render_table
    lib = _open(args)
    try:
        rows = []
        for loc in list_locations(lib):
            n = lib.conn.execute("SELECT count(*) FROM entries WHERE location_id = ?",
                                 (loc.id,)).fetchone()[0]
            rows.append([loc.name, loc.path, f"{n:,}",
                         local_time(loc.last_indexed_at) if loc.last_indexed_at else "never"])
    finally:
        lib.close()
    if not rows:
        print("no locations yet: `vdfs index FOLDER` adds one")
        return 0
    sys.stdout.write(render_table(["NAME", "PATH", "ENTRIES", "LAST INDEXED"], rows,
                                  [False, False, True, False], color=sys.stdout.isatty()))
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from core.indexer.summary import format_summary, library_summary
    lib = _open(args)
    try:
        print(format_summary(library_summary(lib, top=args.top)))
    finally:
        lib.close()
    return 0

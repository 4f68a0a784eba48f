"""`vdfs actions` (the audit log), `vdfs actions show ID`, and `vdfs undo ID`."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from . import library_path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("actions", help="the audit log of committed actions")
    parser.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    parser.set_defaults(func=_list)
    sub = parser.add_subparsers(dest="actions_command", metavar="ACTION")
    show = sub.add_parser("show", help="the changes (and inverse) of one audit entry")
    show.add_argument("id", type=int)
    show.set_defaults(func=_show)
    undo = subparsers.add_parser("undo", help="undo a committed action by its audit id")
    undo.add_argument("id", type=int, help="audit log id (see `vdfs actions`)")
    undo.add_argument("--actor", default="user", help="who undoes it (default: user)")
    undo.set_defaults(func=_undo)


def _open(args: argparse.Namespace) -> Any:
    import core
    return core.Library.open(library_path(args))


def _list(args: argparse.Namespace) -> int:
    with _open(args) as lib:
        rows = lib.actions.log(limit=args.limit)
        if args.json:
            for r in rows:
                print(json.dumps(r, sort_keys=True))
            return 0
        if not rows:
            print("no actions yet")
            return 0
        from .output import local_time, render_table
        table = [[str(r["id"]), local_time(r["created_at"]), r["actor"], r["outcome"],
                  str(r["changes"]), r["title"] + (f"  [{r['error']}]" if r["error"] else "")]
                 for r in rows]
        sys.stdout.write(render_table(["ID", "WHEN", "WHO", "OUTCOME", "N", "TITLE"], table,
                                      [True, False, False, False, True, False],
                                      color=sys.stdout.isatty()))
        return 0


def _show(args: argparse.Namespace) -> int:
    from core.actions import ActionError, ActionPreview, Change
    with _open(args) as lib:
        row = lib.conn.execute("SELECT preview, inverse, outcome, actor, created_at, error "
                               "FROM audit_log WHERE id=?", (args.id,)).fetchone()
        if row is None:
            raise ActionError(f"no audit log entry {args.id}")
        p = ActionPreview.from_dict(json.loads(row[0]))
        print(f"#{args.id} {row[2]} by {row[3]} at {row[4]}")
        print(p)
        if row[1]:
            print("inverse:")
            for c in json.loads(row[1]):
                print(f"  - {Change.from_dict(c).describe()}")
        if row[5]:
            print(f"error: {row[5]}")
        return 0


def _undo(args: argparse.Namespace) -> int:
    with _open(args) as lib:
        res = lib.actions.undo(args.id, actor=args.actor)
        print(f"undid #{args.id} as #{res.audit_id}: {len(res.preview.changes)} change(s)")
        return 0

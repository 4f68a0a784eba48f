"""`vdfs jobs` (list), `vdfs jobs show|resume|pause|cancel ID`, `vdfs jobs prune --days N`.

IDs may be abbreviated to any unique prefix (the list shows 8 characters). `resume` runs the
job in this process with a progress line on stderr; Ctrl-C pauses it again (resumable).
`pause` and `cancel` work on a job another process is running: that process obeys the request
at the job's next safe point.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from . import library_path

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("jobs", help="list, resume, pause or cancel jobs")
    parser.add_argument("--status", choices=["queued", "running", "paused", "completed",
                                             "failed", "cancelled"], help="only this status")
    parser.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    parser.set_defaults(func=_list)
    sub = parser.add_subparsers(dest="jobs_command", metavar="ACTION")
    for name, fn, text in (("show", _show, "everything about one job"),
                           ("resume", _resume, "run a paused or interrupted job here"),
                           ("pause", _pause, "pause a job at its next safe point"),
                           ("cancel", _cancel, "cancel a job")):
        p = sub.add_parser(name, help=text)
        p.add_argument("id", help="job id (or a unique prefix)")
        p.set_defaults(func=fn)
    prune = sub.add_parser("prune", help="forget ended jobs older than some days")
    prune.add_argument("--days", type=float, default=30.0, help="age in days (default 30)")
    prune.set_defaults(func=_prune)


def _open(args: argparse.Namespace) -> Any:
    import core
    return core.Library.open(library_path(args))


def _resolve(lib: Library, prefix: str) -> Any:
    return lib.jobs.get(prefix)


def _progress(info: dict[str, Any]) -> str:
    done, total = info.get("progress_done") or 0, info.get("progress_total")
    if info.get("status") == "completed" and total:
        done = max(done, total)        # it finished: all of its last count was done
    if total:
        return f"{done:,}/{total:,} ({100 * done // max(total, 1)}%)"
    return f"{done:,}" if done else "-"


def _list(args: argparse.Namespace) -> int:
    from .output import local_time, render_table
    with _open(args) as lib:
        rows = lib.jobs.list(status=args.status, limit=args.limit)
        if args.json:
            for r in rows:
                print(json.dumps(r, sort_keys=True, default=str))
            return 0
        if not rows:
            print("no jobs")
            return 0
        table = [[r["id"][:8], r["name"],
                  r["status"] + ("*" if r["resumable"] and r["status"] == "running" else ""),
                  _progress(r), r.get("phase") or "-", local_time(r["updated_at"])]
                 for r in rows]
        sys.stdout.write(render_table(["ID", "NAME", "STATUS", "PROGRESS", "PHASE", "UPDATED"],
                                      table, [False, False, False, True, False, False],
                                      color=sys.stdout.isatty()))
        if any(r["resumable"] and r["status"] == "running" for r in rows):
            print("* its process is gone: `vdfs jobs resume ID` continues it")
        return 0


def _show(args: argparse.Namespace) -> int:
    with _open(args) as lib:
        info = _resolve(lib, args.id).info()
        print(json.dumps(info, indent=2, sort_keys=True, default=str))
        return 0


def _resume(args: argparse.Namespace) -> int:
    from core.jobs import JobFailed

    from .progress import PhaseProgress, watch
    with _open(args) as lib:
        job = _resolve(lib, args.id)
        job.resume()
        try:
            with PhaseProgress(sys.stderr.isatty(), unnamed="running") as bar:
                if watch(job, bar) == "paused":     # paused from elsewhere meanwhile
                    bar.stop()
                    print(f"job {job.id[:8]} paused", file=sys.stderr)
                    return 3
                result = job.wait()
                bar.finish({})
        except KeyboardInterrupt:
            job.pause()
            print(f"vdfs: pausing job {job.id[:8]} (resume it with `vdfs jobs resume`)",
                  file=sys.stderr)
            lib.close()
            return 130
        except JobFailed as exc:
            print(f"vdfs: job {job.id[:8]} {exc.status}: {exc.error}", file=sys.stderr)
            return 1
        print(json.dumps(result, sort_keys=True, default=str))
        return 0


def _control(args: argparse.Namespace, what: str) -> int:
    with _open(args) as lib:
        job = _resolve(lib, args.id)
        getattr(job, what)()
        status = job.status
        note = "" if status in ("paused", "cancelled") else \
            f" (requested: it {what}s at its next safe point)"
        print(f"job {job.id[:8]} {status}{note}")
        return 0


def _pause(args: argparse.Namespace) -> int:
    return _control(args, "pause")


def _cancel(args: argparse.Namespace) -> int:
    return _control(args, "cancel")


def _prune(args: argparse.Namespace) -> int:
    with _open(args) as lib:
        n = lib.jobs.prune(args.days)
        print(f"pruned {n} job(s) that ended more than {args.days:g} day(s) ago")
        return 0

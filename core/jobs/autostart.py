"""Jobs nobody clicks: trigger="on_startup", "on_schedule" and "on_location_added".

- on_startup jobs are queued each time the library opens.
- on_schedule jobs (a cron expression, UTC) are queued when their time comes while the library
  is open; the last firing is kept in jobs.db, so a schedule that came due while the library
  was closed fires once — not once per missed time — when it next opens. A schedule seen for
  the first time starts counting from then.
- on_location_added jobs are queued with `location=<the folder>` when a location is added.

A job of an extension is queued only in a library where that extension is installed and
enabled; for a new location, only when its ReadEntries grants reach into that folder.
"""
from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
from typing import TYPE_CHECKING, Any

from core.store import db
from core.store.clock import utc_now
from .context import job_owner
from .cron import Cron
from .registry import JobSpec, all_job_specs
from core.access.granted import stored_grant_set
from core.access.visibility import folder_reached


if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library

log = logging.getLogger(__name__)
MAX_SLEEP = 30.0


def _specs(lib: Library, trigger: str) -> list[JobSpec]:
    """The registrations with this trigger that belong to this library (an extension job's
    bare @job alias is skipped: its extension's own registration stands for it)."""
    out = []
    for spec in all_job_specs():
        if spec.trigger != trigger:
            continue
        owner = job_owner(spec)
        if spec.extension_id is None and owner is not None:
            continue
        if owner is not None and lib.conn.execute(
                "SELECT 1 FROM extensions WHERE id = ? AND enabled = 1", (owner,)).fetchone() is None:
            continue
        out.append(spec)
    return out


def _submit(lib: Library, spec: JobSpec, args: dict[str, Any], trigger: str) -> Any:
    try:
        return lib.jobs.submit(spec.name, args, trigger=trigger)
    except Exception:
        log.exception("queueing %s job %s failed", trigger, spec.name)
        return None


# ---- schedules ------------------------------------------------------------------------------
def _claim(lib: Library, spec: JobSpec, now: dt.datetime) -> bool:
    """Is the schedule due (a time came since its last firing)? If so, record `now` as its
    firing — in one conditional UPDATE, so two processes never both fire one due time."""
    conn = db.connect(lib.jobs_db_path)
    try:
        row = conn.execute("SELECT last_fired FROM job_schedules WHERE name = ?",
                           (spec.name,)).fetchone()
        stamp = now.isoformat()
        if row is None:
            conn.execute("INSERT OR IGNORE INTO job_schedules VALUES (?, ?)", (spec.name, stamp))
            return False
        due = Cron(spec.schedule or "").next_after(dt.datetime.fromisoformat(row[0]))
        if due is None or due > now:
            return False
        cur = conn.execute("UPDATE job_schedules SET last_fired = ? WHERE name = ? AND "
                           "last_fired = ?", (stamp, spec.name, row[0]))
        return cur.rowcount == 1
    except sqlite3.Error:
        log.exception("schedule state of %s", spec.name)
        return False
    finally:
        conn.close()


def fire_due(lib: Library, now: dt.datetime | None = None) -> list[Any]:
    """Queue every on_schedule job whose time came since it last fired; returns the jobs."""
    now = now or utc_now()
    return [j for spec in _specs(lib, "on_schedule") if _claim(lib, spec, now)
            for j in [_submit(lib, spec, {}, "on_schedule")] if j is not None]


def _next_wake(lib: Library, now: dt.datetime) -> float:
    times = [Cron(s.schedule or "").next_after(now) for s in _specs(lib, "on_schedule")]
    soonest = min((t for t in times if t is not None), default=None)
    if soonest is None:
        return MAX_SLEEP
    return max(0.5, min(MAX_SLEEP, (soonest - now).total_seconds()))


def _scheduler(lib: Library, manager: Any) -> None:
    while not manager._closed:
        closed = getattr(manager, "_schedule_stop", None)
        if closed is not None and closed.wait(_next_wake(lib, utc_now())):
            return
        if manager._closed:
            return
        try:
            fire_due(lib)
        except Exception:
            log.exception("firing schedules failed")


def _start_scheduler(lib: Library) -> None:
    manager = lib.jobs
    if getattr(manager, "_schedule_stop", None) is not None:
        return
    manager._schedule_stop = threading.Event()
    threading.Thread(target=_scheduler, args=(lib, manager), daemon=True,
                     name="vdfs-schedules").start()


# ---- the doors ------------------------------------------------------------------------------
def library_opened(lib: Library, now: dt.datetime | None = None) -> list[Any]:
    """Queue the on_startup jobs and the schedules missed while closed; keep schedules running
    while the library is open. Nothing happens (no jobs manager is made) without such jobs."""
    startup, scheduled = _specs(lib, "on_startup"), _specs(lib, "on_schedule")
    if not startup and not scheduled:
        return []
    started = [j for spec in startup
               for j in [_submit(lib, spec, {}, "on_startup")] if j is not None]
    if scheduled:
        started += fire_due(lib, now)
        _start_scheduler(lib)
    return started


def _reaches(lib: Library, extension_id: str, root: str) -> bool:
    # imported here: every open runs library_opened, and the scope checks pull in the guard,
    # metadata and numpy, which an open without extension jobs never needs (start-up time)
    return folder_reached(stored_grant_set(lib, extension_id), root)


def location_added(lib: Library, root: str) -> list[Any]:
    """Queue the on_location_added jobs that may see the new folder, with location=root."""
    out = []
    for spec in _specs(lib, "on_location_added"):
        owner = job_owner(spec)
        if owner is not None and not _reaches(lib, owner, root):
            continue
        j = _submit(lib, spec, {"location": root}, "on_location_added")
        if j is not None:
            out.append(j)
    return out

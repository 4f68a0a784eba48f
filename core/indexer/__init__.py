"""The indexer: `lib.index(path_or_location)` → a "core.index" job (see job.py for phases).

    job = lib.index("/photos")          # adds the location if the folder is not one yet
    result = job.wait()                 # {"files": ..., "created": ..., "errors": [...], ...}

Indexing the same location again resumes an interrupted job for it (SIGKILL included) instead
of starting over; a folder inside a location re-indexes just that subtree. One index runs per
library at a time: asking for the running one again returns it (to wait for), asking for
another while it runs raises IndexBusyError naming the running job and its process.
"""
from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING, Any

from core.errors import VdfsError
from core.store.faults import STORAGE_ERRORS
from core.jobs import register_job
from core.domain.locations import (Location, LocationError, get_location,
                                   location_for_path, normalize_path)
from .job import DEFAULT_BATCH, JOB_NAME, PHASES, run_index
from .lock import IndexBusyError, busy_message, starting

if TYPE_CHECKING:  # pragma: no cover
    from core.jobs import Job
    from core.library import Library

__all__ = ["start_index", "run_index", "resolve_target", "IndexOptionError", "IndexBusyError",
           "JOB_NAME", "PHASES"]

register_job(JOB_NAME, run_index)

# What `lib.index` takes: a Location, a location id, uuid or name, or a folder path.
IndexTarget = Location | int | uuid.UUID | str | os.PathLike[str]

_OPTIONS = {"batch_size", "workers"}


class IndexOptionError(VdfsError, ValueError):
    """An unknown option, or an option value that is not a positive int."""


def resolve_target(lib: Library, path_or_location: IndexTarget) -> tuple[Location, str]:
    """(location, folder to walk) for a Location, a location id/uuid/name, or a folder path.

    A folder that is in no location becomes a new location."""
    if isinstance(path_or_location, Location):
        loc = get_location(lib, path_or_location.id)
        return loc, loc.path
    if isinstance(path_or_location, (int, uuid.UUID)):
        loc = get_location(lib, path_or_location)
        return loc, loc.path
    if not isinstance(path_or_location, (str, os.PathLike)):
        raise LocationError(f"index needs a folder path or a Location, got "
                            f"{type(path_or_location).__name__}")
    path = normalize_path(path_or_location)
    loc = location_for_path(lib, path)
    if loc is None:
        if not os.path.exists(path):
            try:   # maybe a location's name
                loc = get_location(lib, os.fspath(path_or_location))
                return loc, loc.path
            except LocationError:
                pass
        loc = lib.add_location(path)
        return loc, loc.path
    if not os.path.isdir(path):
        raise LocationError(f"cannot index {path}: " + (
            "no such folder" if not os.path.exists(path) else "it is a file; index its folder"))
    return loc, path


def start_index(lib: Library, path_or_location: IndexTarget, **options: Any) -> "Job":
    """Start (or resume) indexing; returns the job. Options: batch_size, workers."""
    unknown = set(options) - _OPTIONS
    if unknown:
        raise IndexOptionError(
            f"unknown index option(s) {sorted(unknown)}; known: {sorted(_OPTIONS)}")
    for key in _OPTIONS & set(options):
        value = options[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise IndexOptionError(f"index option {key} must be a positive int, got {value!r}")
    with starting(lib):   # another process deciding at the same moment waits for this one
        loc, root = resolve_target(lib, path_or_location)
        match = {"location_uuid": str(loc.uuid), "path": root}
        for info in lib.jobs.list(status="running", name=JOB_NAME):
            if info.get("resumable"):
                continue
            args = info.get("args") or {}
            if all(args.get(k) == v for k, v in match.items()):
                return lib.jobs.get(info["id"])    # the same index is running: wait for it
            raise IndexBusyError(busy_message(info["id"], info.get("owner_pid")))
        job = lib.jobs.find_unfinished(JOB_NAME, match)
        if job is not None:
            return job.resume()
        job = lib.jobs.find_failed(JOB_NAME, match, because=(*STORAGE_ERRORS, IndexBusyError))
        if job is not None:    # a full disk or another indexer stopped it: carry on from there
            return lib.jobs.retry(job.id)
        args = {"location_id": loc.id, **match,
                "batch_size": options.get("batch_size", DEFAULT_BATCH)}
        if "workers" in options:
            args["workers"] = options["workers"]
        return lib.jobs.submit(JOB_NAME, args)   # running (claimed) before the lock is let go

"""One indexer per library at a time, across processes.

Two indexers writing one library would both insert the paths the other is inserting (a UNIQUE
failure), and a first load drops the entries indexes library-wide. So:

* `starting(lib)` serialises the decision "wait for the running index, refuse, resume or
  submit" between processes (held for milliseconds, waited for);
* `IndexLock` is held by the process running an index job for as long as it runs; a second run
  (a resume from another process, say) is refused at once with who holds it.

Both are `flock`s on files in the library folder, so a process that dies releases them.
"""
from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from core.errors import VdfsError
from core.jobs.owner import process_gone
from core.store.faults import storage_error

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library

RUN_LOCK = "index.lock"
START_LOCK = "index-start.lock"
START_WAIT = 30.0   # seconds another process's start decision may take at most
DYING_WAIT = 10.0   # seconds a dead holder's last threads may take to let go of the run lock


class IndexBusyError(VdfsError):
    """Another index of this library is running; the message names its job and process."""


def _open(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as exc:
        raise (storage_error(exc, path.parent) or exc) from exc


def busy_message(job_id: str | None, pid: Any) -> str:
    job = f"job {job_id[:8]}" if job_id else "job unknown"
    return (f"another index of this library is running ({job}, pid {pid}): wait for it to "
            "finish (`vdfs jobs` shows it), then index again")


def _flock(fd: int, keep_trying: Callable[[], bool]) -> bool:
    """Take the exclusive flock on `fd`, trying again every 20 ms while `keep_trying()`;
    False when it gives up."""
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if not keep_trying():
                return False
            time.sleep(0.02)


@contextmanager
def starting(lib: Library, wait: float = START_WAIT) -> Iterator[None]:
    """Hold the library's start lock: one process at a time decides what to index."""
    fd = _open(Path(lib.path) / START_LOCK)
    try:
        deadline = time.monotonic() + wait
        if not _flock(fd, lambda: time.monotonic() <= deadline):
            raise IndexBusyError(f"another process has been starting an index of {lib.path} "
                                 f"for {wait:.0f} s; try again")
        yield
    finally:
        os.close(fd)     # closing the descriptor releases the lock


def _holder(fd: int) -> list[str]:
    """`[job id, pid]` of the lock's holder, as it wrote them (may be empty)."""
    return os.pread(fd, 200, 0).decode("utf-8", "replace").split()


def _dying(holder: list[str]) -> bool:
    """The lock's recorded holder is a process already gone or exiting."""
    return len(holder) >= 2 and holder[1].isdigit() and process_gone(int(holder[1]))


class IndexLock:
    """Held by the process that runs an index job, for the whole run."""

    def __init__(self, lib: Library, job_id: str):
        self.path = Path(lib.path) / RUN_LOCK
        self.job_id = job_id
        self.fd: int | None = None

    def acquire(self) -> "IndexLock":
        fd = _open(self.path)
        deadline = time.monotonic() + DYING_WAIT
        # a holder whose main thread is gone lets go once its last threads have exited
        if not _flock(fd, lambda: _dying(_holder(fd)) and time.monotonic() < deadline):
            holder = _holder(fd)
            os.close(fd)
            raise IndexBusyError(busy_message(*(holder + ["?", "?"])[:2]))
        try:   # who holds it, for the message another process shows
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{self.job_id} {os.getpid()}\n".encode(), 0)
        except OSError:
            pass   # a full disk: the lock holds all the same, only the message is poorer
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

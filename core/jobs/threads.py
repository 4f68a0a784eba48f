"""Reusable threads for tasks, so a job with many tasks does not open a connection per task.

`lib.conn` is one SQLite connection per thread, closed only when the library closes. A fresh
thread per task (or per job) would leave one open connection — three file descriptors — behind
for every task ever run. So tasks run on long-lived threads:
- `TaskPool`: one per JobManager, shared by its jobs; each job's `parallelism` is enforced by
  a semaphore taken by the submitting side, so pool threads never block on one another;
- `TimedRunner`: the threads that run attempts with a timeout. A thread whose attempt timed out
  is abandoned (it ends once its task returns); the others are reused.
`release_thread_connection(lib)` closes the calling thread's `lib.conn` (job threads call it as
they end).
"""
from __future__ import annotations

import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library

POOL_THREADS = 32      # task threads per library, shared by its jobs
IDLE_TIMED = 16        # idle timed-runner threads kept


def release_thread_connection(lib: Library) -> None:
    """Close this thread's library.db connection, if it opened one (the next use reopens)."""
    release = getattr(lib, "release_thread_connection", None)
    if callable(release):
        release()


class TaskPool:
    """Task threads shared by all jobs of one library."""

    def __init__(self, size: int = POOL_THREADS):
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="vdfs-task")

    def submit(self, slots: threading.BoundedSemaphore, fn: Callable[..., Any],
               *args: Any) -> Future:
        """Run fn(*args) once one of the job's `slots` is free (blocks the caller until then)."""
        slots.acquire()
        try:
            fut = self._pool.submit(fn, *args)
        except BaseException:
            slots.release()
            raise
        fut.add_done_callback(lambda _f: slots.release())
        return fut

    def executor(self) -> ThreadPoolExecutor:
        return self._pool

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class _Runner(threading.Thread):
    def __init__(self, owner: "TimedRunner"):
        super().__init__(name="vdfs-timed-task", daemon=True)
        self.owner = owner
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.abandoned = False

    def run(self) -> None:
        while True:
            item = self.inbox.get()
            if item is None:
                return
            fn, args, kwargs, box, done = item
            try:
                box["result"] = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the waiting thread
                box["error"] = exc
            done.set()
            if self.abandoned or not self.owner._park(self):
                return


class TimedRunner:
    """Runs a call on a reusable thread and gives up waiting after a timeout."""

    def __init__(self) -> None:
        self._idle: list[_Runner] = []
        self._lock = threading.Lock()

    def _park(self, runner: _Runner) -> bool:
        with self._lock:
            if len(self._idle) < IDLE_TIMED:
                self._idle.append(runner)
                return True
        return False

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
             timeout: float) -> tuple[bool, Any]:
        """(True, result) — raising what fn raised — or (False, None) if it timed out."""
        with self._lock:
            runner = self._idle.pop() if self._idle else None
        if runner is None:
            runner = _Runner(self)
            runner.start()
        box: dict[str, Any] = {}
        done = threading.Event()
        runner.inbox.put((fn, args, kwargs, box, done))
        if not done.wait(timeout):
            runner.abandoned = True      # it exits once the hung call returns
            if done.is_set():            # finished just now: nothing was lost
                runner.abandoned = False
            else:
                return False, None
        if "error" in box:
            raise box["error"]
        return True, box.get("result")


timed_runner = TimedRunner()

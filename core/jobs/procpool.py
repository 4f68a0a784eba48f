"""Worker processes for tasks with isolation="process" (and jobs with executor="process").

Each attempt is sent to an idle worker process (started from a forkserver, so it does not
inherit the job's threads or open SQLite connections). The worker first loads the task (the
import of its module is not charged to the task), then runs it while the calling thread waits
with the task's timeout, and on timeout SIGKILLs that worker — the attempt is really stopped —
and later attempts get a fresh one. Workers are reused between attempts, so a job's
`parallelism` threads keep about that many processes busy for CPU-bound work.
"""
from __future__ import annotations

import asyncio
import atexit
import inspect
import multiprocessing
import pickle
import threading
from typing import Any, Callable

from .errors import TaskTimeout

_IDLE_MAX = 8
_idle: list["_Worker"] = []
_all: set["_Worker"] = set()
_lock = threading.Lock()


LOAD_TIMEOUT = 120.0   # unpickling imports the task's module: not part of the task's time


def _worker_main(conn: Any) -> None:
    while True:
        try:
            msg = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not msg:
            return
        try:
            fn, args, kwargs = pickle.loads(msg)
        except BaseException as exc:  # the module or an argument cannot be loaded here
            conn.send((False, RuntimeError(f"cannot load the task in its worker process: "
                                           f"{type(exc).__name__}: {exc}")))
            continue
        conn.send("ready")
        if conn.recv() != "go":
            return
        try:
            if inspect.iscoroutinefunction(fn):
                value = asyncio.run(fn(*args, **kwargs))
            else:
                value = fn(*args, **kwargs)
            reply = (True, value)
        except BaseException as exc:  # reported to the parent as the attempt's failure
            reply = (False, exc)
        try:
            conn.send(reply)
        except Exception as exc:  # unpicklable result or exception
            conn.send((False, RuntimeError(f"cannot send back {type(reply[1]).__name__}: {exc}")))


class _Worker:
    def __init__(self) -> None:
        mp = multiprocessing.get_context("forkserver")
        self.conn, child = mp.Pipe()
        self.proc = mp.Process(target=_worker_main, args=(child,), daemon=True,
                               name="vdfs-task-worker")
        self.proc.start()
        child.close()

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
             timeout: float | None) -> Any:
        try:
            payload = pickle.dumps((fn, args, kwargs))
        except Exception as exc:
            raise TypeError(f"a process-isolated task needs a module-level function and "
                            f"picklable arguments: {exc}") from exc
        self.conn.send_bytes(payload)
        # phase 1: the worker imports and unpickles (untimed by the task's limit)
        if not self.conn.poll(LOAD_TIMEOUT):
            self.kill()
            raise RuntimeError(f"task worker took over {LOAD_TIMEOUT:.0f} s to load the task")
        ready = self._recv()
        if ready != "ready":
            ok, value = ready
            raise value
        # phase 2: the task itself, under its timeout
        self.conn.send("go")
        if not self.conn.poll(timeout):
            self.kill()
            raise TaskTimeout(f"timed out after {timeout * 1000:.0f} ms (worker process killed)")
        ok, value = self._recv()
        if ok:
            return value
        raise value

    def _recv(self) -> Any:
        try:
            return self.conn.recv()
        except (EOFError, OSError) as exc:
            self.kill()
            raise RuntimeError(f"task worker process died (exit code {self.proc.exitcode})") from exc

    def alive(self) -> bool:
        return self.proc.is_alive()

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()
        with _lock:
            _all.discard(self)

    def stop(self) -> None:
        try:
            self.conn.send_bytes(b"")
        except OSError:
            pass
        self.proc.join(2)
        self.kill()


def run_in_process(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                   timeout: float | None) -> Any:
    """Run fn(*args, **kwargs) in a worker process; kill the worker if it exceeds `timeout`."""
    with _lock:
        worker = _idle.pop() if _idle else None
    if worker is None or not worker.alive():
        worker = _Worker()
        with _lock:
            _all.add(worker)
    ok = False
    try:
        result = worker.call(fn, args, kwargs, timeout)
        ok = True
        return result
    except TaskTimeout:
        raise
    except BaseException:
        ok = worker.alive()   # the task failed, the worker is fine
        raise
    finally:
        if ok and worker.alive():
            with _lock:
                keep = len(_idle) < _IDLE_MAX
                if keep:
                    _idle.append(worker)
            if not keep:
                worker.stop()


@atexit.register
def shutdown_workers() -> None:
    with _lock:
        workers = list(_all)
        _idle.clear()
    for w in workers:
        try:
            w.stop()
        except Exception:
            pass

"""Stopping a running statement: at its deadline, on Ctrl-C, or when asked from another thread.

A kernel must never freeze on a query. SQLite calls `Clock.tick` every few thousand virtual
machine steps (its progress handler): past the deadline it answers "stop", and a pending Ctrl-C
is raised inside that very call, which also stops the statement. DuckDB runs without calling
back, so one watchdog thread per process interrupts its connection when the deadline passes
(again every REPEAT seconds: an interrupt that lands while DuckDB is still planning is lost;
DuckDB notices one between tasks, each a row group of ~120k rows, so it stops within a task);
DuckDB stops on Ctrl-C by itself. The engine then tells a timeout from a cancellation by
`Clock.timed_out` and `Clock.cancelled`.

SQLite swallows an exception raised in a callback, so a Ctrl-C that lands in a user-defined
function reads as "user-defined function raised exception"; DuckDB and the scan's set-up may
swallow one too. Once a SQLite statement has run for a moment (its first tick), and before any
DuckDB work (which costs milliseconds anyway), the clock therefore catches SIGINT itself in
the main thread and notes it before raising the KeyboardInterrupt; short SQLite statements pay
nothing for this.
"""
from __future__ import annotations

import math
import signal
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from vdfs_query.errors import QueryError

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

TICK_STEPS = 10_000        # SQLite VM steps between two looks at the clock (~0.1 ms)
REPEAT = 0.05              # seconds between interrupts of a DuckDB statement past its deadline


def check_timeout(timeout: Any) -> float | None:
    """A timeout in seconds as given by a caller: None or a positive number (inf: none)."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or math.isnan(timeout) or timeout <= 0:
        raise QueryError(f"timeout must be a positive number of seconds, not {timeout!r}")
    return float(timeout)


class Clock:
    """The deadline of the statement one engine is running (one at a time: the engine's lock)."""

    def __init__(self, default: float | None):
        self.default = check_timeout(default)
        self.seconds: float | None = None
        self.timed_out = False
        self.cancelled = False
        self._due = math.inf
        self._running = False
        self._old_sigint: Any = None
        self._token: int | None = None

    def start(self, timeout: float | None) -> None:
        seconds = self.default if timeout is None else check_timeout(timeout)
        self.seconds = seconds
        self.timed_out = self.cancelled = False
        self._due = time.monotonic() + seconds if seconds is not None else math.inf
        self._running = True

    def stop(self) -> None:
        self._due = math.inf
        self._running = False
        if self._token is not None:
            _WATCHDOG.disarm(self._token)
            self._token = None
        if self._old_sigint is not None:
            signal.signal(signal.SIGINT, self._old_sigint)
            self._old_sigint = None

    def tick(self) -> int:
        """SQLite's progress handler: non-zero stops the running statement."""
        if self.cancelled:
            return 1
        if time.monotonic() > self._due:
            self.timed_out = True
            return 1
        if self._old_sigint is None:
            self.catch_sigint()
        return 0

    def catch_sigint(self) -> None:
        """From now until stop(), note a Ctrl-C before raising it (main thread only): the
        statement's driver may swallow the KeyboardInterrupt, the note stays."""
        if self._running and self._old_sigint is None \
                and threading.current_thread() is threading.main_thread():
            old = signal.getsignal(signal.SIGINT)
            if callable(old) and old != self._on_sigint:
                self._old_sigint = old
                signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, signum: int, frame: Any) -> None:
        self.cancelled = True
        raise KeyboardInterrupt

    def watch(self, conn: duckdb.DuckDBPyConnection) -> None:
        """Until stop(), `conn.interrupt()` is called if the deadline passes."""
        if self._due == math.inf or self._token is not None:
            return

        def fire() -> None:
            self.timed_out = True
            conn.interrupt()
        self._token = _WATCHDOG.arm(self._due, fire)


class _Watchdog:
    """One daemon thread firing the callbacks whose time has come. A callback runs under the
    lock `disarm` takes, so none fires after its statement has finished. The thread is woken
    only when a new deadline comes before the time it already sleeps until, so arming costs a
    running query a dictionary insert, not a thread switch."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._armed: dict[int, tuple[float, Any]] = {}
        self._next = 0
        self._thread: threading.Thread | None = None
        self._wake_at = math.inf

    def arm(self, due: float, callback: Callable[[], Any]) -> int:
        with self._cond:
            self._next += 1
            self._armed[self._next] = (due, callback)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="vdfs-query-deadline",
                                                daemon=True)
                self._thread.start()
            if due < self._wake_at:
                self._wake_at = due
                self._cond.notify()
            return self._next

    def disarm(self, token: int) -> None:
        with self._cond:
            self._armed.pop(token, None)

    def _loop(self) -> None:
        with self._cond:
            while True:
                if not self._armed:
                    self._wake_at = math.inf
                    self._cond.wait()
                    continue
                now = time.monotonic()
                for token, (due, callback) in list(self._armed.items()):
                    if due <= now:
                        self._armed[token] = (now + REPEAT, callback)
                        try:
                            callback()
                        except Exception:    # a closed connection: nothing left to stop
                            pass
                if self._armed:
                    self._wake_at = min(d for d, _ in self._armed.values())
                    self._cond.wait(self._wake_at - now)


_WATCHDOG = _Watchdog()

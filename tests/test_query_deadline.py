"""Every query is bounded and interruptible, on both executors: a deadline stops it with
QueryTimeout, Ctrl-C (a real SIGINT) and Engine.cancel() with QueryCancelled, and the engine
answers the next query normally."""
from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from vdfs_query import QueryCancelled, QueryError, QueryTimeout, VdfsError
from core.query.deadline import _WATCHDOG
from core.query.engine import DEFAULT_TIMEOUT, Engine

from query_load import POINT, SLOW, big_library

ROUTES = ("sqlite", "duckdb", "scan")


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    base = tmp_path_factory.mktemp("biglib")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VDFS_HOME", str(base / "home"))
        lib = big_library(base)
        engine = lib.engine
        engine.mirror                          # built now, so each timing below is the query's
        yield lib, engine
        lib.close()


def answers_normally(engine, route):
    rows = engine.run(POINT, route=route).rows()
    assert [r["name"] for r in rows] == ["f5.txt"]
    assert not _WATCHDOG._armed          # no deadline outlives its query, to fire at the next


@pytest.mark.parametrize("route", ROUTES)
def test_a_deadline_stops_a_slow_query_and_the_engine_goes_on(big, route):
    lib, engine = big
    start = time.monotonic()
    with pytest.raises(QueryTimeout) as e:
        engine.run(SLOW, route=route, timeout=0.05)
    elapsed = time.monotonic() - start
    assert isinstance(e.value, QueryError) and isinstance(e.value, VdfsError)
    assert "0.05 s deadline" in str(e.value)
    assert elapsed < 3.0, elapsed                     # DuckDB: within one task (a row group)
    answers_normally(engine, route)


def test_sqlite_stops_at_the_deadline_not_at_the_end(big):
    lib, engine = big
    handler = signal.getsignal(signal.SIGINT)
    start = time.monotonic()
    with pytest.raises(QueryTimeout):
        engine.run(SLOW, route="sqlite", timeout=0.2)
    assert 0.2 <= time.monotonic() - start < 1.0     # the whole query takes seconds
    assert signal.getsignal(signal.SIGINT) is handler  # the engine's own catcher is gone


def test_the_engine_default_deadline_applies_and_a_call_may_override_it(big):
    lib, _ = big
    assert DEFAULT_TIMEOUT == 30.0
    engine = Engine(lib.db_path, mirror="off", timeout=0.05)
    try:
        with pytest.raises(QueryTimeout):
            engine.run(SLOW)
        assert len(engine.run("entries where size < 100 order by size", timeout=math.inf).rows()) > 90
        with pytest.raises(QueryError, match="timeout must be a positive number"):
            engine.run(POINT, timeout=-1)
        answers_normally(engine, "sqlite")
    finally:
        engine.close()


@pytest.fixture
def sigint_after():
    """Send this process a real SIGINT after a delay (the way Ctrl-C and a notebook interrupt
    arrive); Python's own handler is in place, so it becomes a KeyboardInterrupt."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    timers = []

    def arm(delay):
        t = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
        timers.append(t)
        t.start()
    yield arm
    for t in timers:
        t.join()
    signal.signal(signal.SIGINT, old)


@pytest.mark.parametrize("route", ROUTES)
def test_sigint_during_a_query_cancels_it_and_the_engine_goes_on(big, route, sigint_after):
    lib, engine = big
    sigint_after(0.1)
    start = time.monotonic()
    try:
        with pytest.raises(QueryCancelled) as e:
            engine.run(SLOW, route=route, timeout=math.inf)
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped as a KeyboardInterrupt")
    assert "cancelled" in str(e.value)
    assert time.monotonic() - start < 3.0
    answers_normally(engine, route)


@pytest.mark.parametrize("route", ROUTES)
def test_cancel_from_another_thread(big, route):
    lib, engine = big
    t = threading.Timer(0.1, engine.cancel)
    t.start()
    with pytest.raises(QueryCancelled):
        engine.run(SLOW, route=route, timeout=math.inf)
    t.join()
    answers_normally(engine, route)


def test_ctrl_c_during_vdfs_query_exits_130_with_one_line(big):
    lib, _ = big
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "-L", str(lib.path), "query", SLOW],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "VDFS_HOME": os.environ["VDFS_HOME"]})
    time.sleep(2.5)                   # started and inside the query (which runs for seconds)
    assert proc.poll() is None
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 2.0
    assert proc.returncode == 130, err
    assert err.strip() == "vdfs: query cancelled"


def test_the_watchdog_fires_each_deadline_in_order_whatever_the_arming_order():
    fired: dict[str, float] = {}
    start = time.monotonic()
    late = _WATCHDOG.arm(start + 10, lambda: fired.setdefault("late", time.monotonic()))
    soon = _WATCHDOG.arm(start + 0.05, lambda: fired.setdefault("soon", time.monotonic()))
    later = _WATCHDOG.arm(start + 0.15, lambda: fired.setdefault("later", time.monotonic()))
    gone = _WATCHDOG.arm(start + 0.1, lambda: fired.setdefault("gone", time.monotonic()))
    _WATCHDOG.disarm(gone)
    time.sleep(0.5)
    for token in (late, soon, later):
        _WATCHDOG.disarm(token)
    assert set(fired) == {"soon", "later"}
    assert 0.05 <= fired["soon"] - start < fired["later"] - start < 0.45
    assert [t.name for t in threading.enumerate()].count("vdfs-query-deadline") == 1

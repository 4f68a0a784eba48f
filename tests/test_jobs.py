"""The jobs runtime in one process: retries, timeouts, parallelism, pause/resume/cancel,
async jobs, process isolation, bad input, and on_event triggers."""
from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from core.store.events import Event
from core.jobs import (JobCancelled, JobError, JobFailed, job, register_job, task,
                       unregister_job)


class Concurrency:
    """Counts how many tasks run at the same moment."""

    def __init__(self):
        self.lock = threading.Lock()
        self.now = self.max = 0

    def __enter__(self):
        with self.lock:
            self.now += 1
            self.max = max(self.max, self.now)

    def __exit__(self, *exc):
        with self.lock:
            self.now -= 1


def _wait_for(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return False


# ---- retries and timeouts ------------------------------------------------------------------
calls: dict[str, int] = {}


@task(retries=3, backoff_ms=1)
def flaky(name: str, fail_times: int) -> str:
    calls[name] = calls.get(name, 0) + 1
    if calls[name] <= fail_times:
        raise ConnectionError(f"attempt {calls[name]} of {name} failed")
    return f"{name} ok"


@job(name="test.flaky")
def flaky_job(ctx, name: str, fail_times: int):
    return ctx.run(flaky, name, fail_times)


def test_flaky_task_succeeds_within_its_retries(lib):
    j = lib.jobs.submit("test.flaky", {"name": "a", "fail_times": 2})
    assert j.wait(10) == "a ok"
    assert calls["a"] == 3
    [t] = lib.jobs.store.tasks(j.id)
    assert (t["status"], t["attempts"]) == ("completed", 3)


def test_task_failing_beyond_its_retries_fails_the_job_with_its_error(lib):
    j = lib.jobs.submit("test.flaky", {"name": "b", "fail_times": 99})
    with pytest.raises(JobFailed, match="failed after 4 attempt.*attempt 4 of b failed"):
        j.wait(10)
    assert calls["b"] == 4
    info = j.info()
    assert info["status"] == "failed" and "ConnectionError" in info["error"]
    assert info["tasks"] == {"failed": 1}


hang_release = threading.Event()


@task(retries=1, timeout_ms=200, backoff_ms=1)
def hangs(ctx) -> str:
    # ignores the timeout until released: the runtime must abandon it, not wait
    hang_release.wait(30)
    return "never seen"


@task(timeout_ms=200)
async def hangs_async() -> str:
    await asyncio.sleep(30)
    return "never seen"


@task(retries=1, timeout_ms=300, isolation="process")
def hangs_in_process(marker: str) -> int:
    with open(marker, "a") as f:
        f.write(f"{os.getpid()}\n")
    time.sleep(60)
    return 0


@job(name="test.hang")
def hang_job(ctx, which: str, marker: str = ""):
    if which == "thread":
        return ctx.run(hangs)
    if which == "async":
        return ctx.run(hangs_async)
    return ctx.run(hangs_in_process, marker)


@pytest.mark.parametrize("which", ["thread", "async"])
def test_hanging_task_is_stopped_by_its_timeout(lib, which):
    j = lib.jobs.submit("test.hang", {"which": which})
    try:
        with pytest.raises(JobFailed, match="TaskTimeout: timed out after 200 ms"):
            j.wait(15)
    finally:
        hang_release.set()
    [t] = lib.jobs.store.tasks(j.id)
    assert t["status"] == "failed" and t["attempts"] == (2 if which == "thread" else 1)


def test_hanging_task_in_a_process_is_killed(lib, tmp_path):
    marker = tmp_path / "pids"
    j = lib.jobs.submit("test.hang", {"which": "process", "marker": str(marker)})
    with pytest.raises(JobFailed, match="worker process killed"):
        j.wait(30)
    pids = [int(p) for p in marker.read_text().split()]
    assert len(pids) == 2                       # one attempt, one retry, each in a process
    for pid in pids:                            # and both processes are gone
        assert _wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
                         open(f"/proc/{pid}/stat").read().split()[2] in "ZX")


# ---- parallelism ---------------------------------------------------------------------------
conc = Concurrency()


@task
def nap(i: int) -> int:
    with conc:
        time.sleep(0.3)
    return i * 10


@job(name="test.parallel", parallelism=4)
def parallel_job(ctx, n: int):
    return ctx.map(nap, range(n))


@job(name="test.parallel_async", parallelism=4)
async def parallel_async_job(ctx, n: int):
    return list(await asyncio.gather(*(ctx.run(nap, i) for i in range(n))))


@pytest.mark.parametrize("name", ["test.parallel", "test.parallel_async"])
def test_parallelism_overlaps_io_bound_tasks(lib, name):
    conc.max = 0
    assert lib.jobs.submit(name, {"n": 4}).wait(10) == [0, 10, 20, 30]
    assert conc.max >= 2


@job(name="test.parallel2", parallelism=2)
def parallel2_job(ctx, n: int):
    return ctx.map(nap, range(n))


def test_parallelism_is_an_upper_bound(lib):
    conc.max = 0
    assert lib.jobs.submit("test.parallel2", {"n": 5}).wait(20) == [0, 10, 20, 30, 40]
    assert conc.max == 2


def square(x: int) -> tuple[int, int]:
    return os.getpid(), x * x


@job(name="test.cpu", parallelism=2, executor="process")
def cpu_job(ctx, n: int):
    return ctx.map(square, range(n))


def test_process_executor_runs_tasks_in_other_processes(lib):
    out = lib.jobs.submit("test.cpu", {"n": 6}).wait(60)
    assert [v for _, v in out] == [x * x for x in range(6)]
    assert all(pid != os.getpid() for pid, _ in out)


# ---- pause, resume, cancel -----------------------------------------------------------------
steps: list[int] = []


@task
def step(i: int) -> int:
    steps.append(i)
    time.sleep(0.02)
    return i


@job(name="test.steps")
def steps_job(ctx, n: int):
    state = ctx.state or {"i": 0, "total": 0}
    for i in range(state["i"], n):
        state = {"i": i + 1, "total": state["total"] + ctx.run(step, i)}
        ctx.progress(i + 1, n, message=f"step {i}")
        ctx.checkpoint(state)
    return state["total"]


def test_pause_then_resume_continues_without_redoing_tasks(lib):
    steps.clear()
    seen = []
    lib.events.subscribe(lambda e: seen.append(e.payload["status"]), kinds="job.status")
    j = lib.jobs.submit("test.steps", {"n": 30})
    assert _wait_for(lambda: len(steps) >= 3)
    j.pause()
    assert _wait_for(lambda: j.status == "paused")
    paused_at = len(steps)
    assert 0 < j.info()["checkpoint"]["i"] < 30
    time.sleep(0.1)
    assert len(steps) == paused_at              # nothing runs while paused
    j.resume()
    assert j.wait(20) == sum(range(30))
    assert sorted(steps) == list(range(30))     # every task ran exactly once
    assert seen == ["queued", "running", "paused", "running", "completed"]


def test_cancel_stops_a_running_job(lib):
    steps.clear()
    j = lib.jobs.submit("test.steps", {"n": 500})
    assert _wait_for(lambda: len(steps) >= 2)
    j.cancel()
    with pytest.raises(JobCancelled):
        j.wait(20)
    assert j.status == "cancelled" and len(steps) < 500
    with pytest.raises(JobError, match="is cancelled; only a paused"):
        j.resume()
    with pytest.raises(JobError, match="already cancelled"):
        j.pause()


def test_is_cancelled_lets_a_job_stop_cooperatively(lib):
    started = threading.Event()

    def polite(ctx):
        started.set()
        while not ctx.is_cancelled():
            time.sleep(0.01)
        return "stopped early"

    register_job("test.polite", polite)
    j = lib.jobs.submit("test.polite")
    assert started.wait(10)
    j.cancel()
    with pytest.raises(JobCancelled):           # not "completed" with a partial result
        j.wait(10)


def test_progress_is_stored_and_published(lib):
    events = []
    lib.events.subscribe(events.append, kinds="job.progress")
    j = lib.jobs.submit("test.steps", {"n": 5})
    assert j.wait(10) == 10
    info = j.info()
    assert (info["progress_done"], info["progress_total"]) == (5, 5)
    assert info["message"] == "step 4"
    assert events and events[-1].payload["done"] == 5 and events[-1].payload["job_id"] == j.id


def test_closing_the_library_suspends_jobs_for_the_next_open(lib):
    steps.clear()
    j = lib.jobs.submit("test.steps", {"n": 60})
    assert _wait_for(lambda: len(steps) >= 2)
    lib.jobs.close()
    from core.jobs import JobManager   # the store is closed: read through a new manager
    mgr = JobManager(lib)
    try:
        assert mgr.get(j.id).status == "queued"
        assert mgr.find_unfinished("test.steps", {"n": 60}) == mgr.get(j.id)
        assert [x.id for x in mgr.resume_pending()] == [j.id]
        assert mgr.get(j.id).wait(30) == sum(range(60))
        assert sorted(steps) == list(range(60))
    finally:
        mgr.close()


# ---- bad input -----------------------------------------------------------------------------
def test_bad_input_gets_clear_errors(lib):
    with pytest.raises(JobError, match="no job registered as 'nope'"):
        lib.jobs.submit("nope", {})
    with pytest.raises(JobError, match="args must be a dict"):
        lib.jobs.submit("test.steps", [1, 2])
    with pytest.raises(TypeError, match="JSON-serialisable"):
        lib.jobs.submit("test.steps", {"n": object()})
    with pytest.raises(ValueError, match="parallelism must be an int >= 1"):
        register_job("test.bad", lambda ctx: None, parallelism=0)
    with pytest.raises(ValueError, match="needs events"):
        register_job("test.bad", lambda ctx: None, trigger="on_event")
    with pytest.raises(ValueError, match="trigger must be one of"):
        register_job("test.bad", lambda ctx: None, trigger="cron")
    with pytest.raises(ValueError, match="retries"):
        task(retries=-1)(lambda: None)
    with pytest.raises(JobError, match="no job"):
        lib.jobs.get("missing")


# ---- on_event triggers ---------------------------------------------------------------------
received: list[list[dict]] = []


def on_created(ctx, events):
    received.append(events)
    return len(events)


@pytest.fixture
def trigger():
    """Register on_event jobs for one test only (the registry is process-wide)."""
    names = []

    def register(name, **kw):
        register_job(name, on_created, trigger="on_event", **kw)
        names.append(name)
    received.clear()
    yield register
    for name in names:
        unregister_job(name)


def _completed(lib, name):
    return [r for r in lib.jobs.list(name=name) if r["status"] == "completed"]


def test_on_event_job_runs_when_the_event_fires(lib, trigger):
    trigger("test.on_created", events=["entry.created"])
    lib.jobs  # the manager subscribes to core events
    for p in ("/x/a.txt", "/x/b.txt"):
        lib.events.publish(Event("entry.created", {"path": p}))
    lib.events.publish(Event("entry.deleted", {"path": "/x/c.txt"}))   # not subscribed
    assert _wait_for(lambda: _completed(lib, "test.on_created"))
    [row] = lib.jobs.list(name="test.on_created")
    assert row["trigger"] == "on_event" and row["result"] == 2    # one job for the burst
    assert [e["payload"]["path"] for e in received[0]] == ["/x/a.txt", "/x/b.txt"]


def test_on_event_job_runs_when_a_new_file_is_indexed(lib, trigger, tmp_path):
    root = tmp_path / "watched"
    root.mkdir()
    (root / "old.txt").write_text("old")
    loc = lib.add_location(root)
    lib.index(loc).wait(60)
    trigger("test.on_indexed", events=["entry.created", "index.finished"])
    (root / "new.txt").write_text("new")
    lib.index(loc).wait(60)
    assert _wait_for(lambda: _completed(lib, "test.on_indexed"))
    lib.jobs._batcher.flush_all()
    assert _wait_for(lambda: all(r["status"] == "completed"
                                 for r in lib.jobs.list(name="test.on_indexed")))
    events = [e for r in lib.jobs.list(name="test.on_indexed") for e in r["args"]["events"]]
    created = [e["payload"]["path"] for e in events if e["kind"] == "entry.created"]
    assert created == [f"{root}/new.txt"]                     # only the new file
    assert "index.finished" in [e["kind"] for e in events]


def test_on_event_job_of_an_extension_sees_only_its_locations(lib, trigger):
    conn = lib.conn
    requested = '{"permissions": [{"permission": "ReadEntries", "params": {"glob": "**/*.jpg"}}]}'
    conn.execute("INSERT INTO extensions (id, name, version, manifest, installed_at, updated_at) "
                 "VALUES ('com.test.ext', 'T', '1', ?, 'n', 'n')", (requested,))
    conn.execute("INSERT INTO extension_grants (extension_id, permission, params, scope, "
                 "granted_at) VALUES ('com.test.ext', 'ReadEntries', '{\"glob\": \"**/*.jpg\"}', "
                 "'[\"/photos\"]', 'n')")
    trigger("test.ext_created", events=["entry.created"], extension_id="com.test.ext")
    lib.jobs
    lib.events.publish(Event("entry.created", {"path": "/secret/a.txt"}))
    lib.events.publish(Event("entry.created", {"path": "/photos/b.jpg"}))
    lib.events.publish(Event("entry.created", {"path": "/photosX/c.jpg"}))
    lib.events.publish(Event("entry.created", {"path": "/photos/d.txt"}))     # outside the glob
    assert _wait_for(lambda: _completed(lib, "test.ext_created"))
    [row] = lib.jobs.list(name="test.ext_created")
    assert row["extension_id"] == "com.test.ext"
    assert [e["payload"]["path"] for e in row["args"]["events"]] == ["/photos/b.jpg"]


# ---- deterministic task keys ---------------------------------------------------------------
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.integers(-3, 3), st.text(max_size=3),
                          st.lists(st.integers(0, 2), max_size=2)), max_size=12))
def test_task_keys_are_unique_within_a_run_and_equal_across_runs(lib, items):
    def keys_job(ctx, items):
        return [ctx._key(step, (x,), {}, None) for x in items]

    register_job("test.keys", keys_job)
    first = lib.jobs.submit("test.keys", {"items": items}).wait(10)
    second = lib.jobs.submit("test.keys", {"items": items}).wait(10)
    assert first == second and len(set(first)) == len(first)


def test_a_replayed_task_returns_exactly_what_it_returned(lib):
    @task
    def odd(i):
        return {"tuple": (i, i), "set": {i}, "bytes": bytes([i])}   # not JSON: pickled

    runs = []

    def replay_job(ctx):
        out = repr(ctx.run(odd, 3, key="odd-3"))
        runs.append((ctx.tasks_run, ctx.tasks_replayed))
        return out

    register_job("test.replay", replay_job)
    j = lib.jobs.submit("test.replay")
    first = j.wait(10)
    lib.jobs.store._exec("UPDATE jobs SET status='queued' WHERE id=?", (j.id,))
    assert j.resume().wait(10) == first and runs == [(1, 0), (0, 1)]


# ---- resources -----------------------------------------------------------------------------
@task(timeout_ms=5000)
def reads_library(ctx, i: int) -> int:
    return ctx.lib.conn.execute("SELECT ? + 1", (i,)).fetchone()[0]


@job(name="test.reads", parallelism=3)
def reads_job(ctx, n: int):
    own = ctx.lib.conn.execute("SELECT 1").fetchone()[0]     # the job thread's connection
    return own + sum(ctx.map(reads_library, range(n)))


def test_many_tasks_and_jobs_do_not_leak_connections(lib):
    def open_fds():
        return len(os.listdir("/proc/self/fd"))

    lib.jobs.submit("test.reads", {"n": 5}).wait(30)          # warm the task threads up
    before = open_fds()
    for _ in range(20):
        assert lib.jobs.submit("test.reads", {"n": 30}).wait(30) == 1 + sum(range(1, 31))
    # 20 jobs x 31 threads' worth of work, yet the open files stay about where they were
    assert open_fds() - before < 15

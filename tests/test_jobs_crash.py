"""A job killed with SIGKILL at any point resumes and ends exactly like an uninterrupted run.

Real processes: tests/jobs_crash_worker.py runs the job and kills itself at a chosen point (or
is killed from outside); a second process resumes it with lib.jobs.resume_pending().
"""
from __future__ import annotations

import collections
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import core

WORKER = Path(__file__).with_name("jobs_crash_worker.py")
N = 8


def _expected(n: int = N) -> dict:
    return {"acc": sum(i * i + 1 for i in range(n)), "seen": list(range(n))}


def _run(lib_path: Path, log: Path, *args: str, kill: str = "", slow: float = 0.0,
         check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, VDFS_TEST_KILL=kill, VDFS_TEST_LOG=str(log),
               VDFS_TEST_SLOW=str(slow))
    proc = subprocess.run([sys.executable, str(WORKER), str(lib_path), *args], env=env,
                          capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def _executions(log: Path) -> tuple[collections.Counter, collections.Counter]:
    starts, ends = collections.Counter(), collections.Counter()
    for line in log.read_text().splitlines():
        what, item = line.split()
        (starts if what == "start" else ends)[int(item)] += 1
    return starts, ends


@pytest.fixture
def lib_path(tmp_path):
    core.Library.create(tmp_path / "crash.vdfs").close()
    return tmp_path / "crash.vdfs"


@pytest.mark.parametrize("kill", ["start:0", "in_task:4", "after_task:4", "after_checkpoint:5",
                                  "after_task:7"])
def test_killed_job_resumes_to_the_uninterrupted_result(lib_path, tmp_path, kill):
    log = tmp_path / "tasks.log"
    first = _run(lib_path, log, "start", str(N), kill=kill, check=False)
    assert first.returncode == -signal.SIGKILL, first.stderr
    with sqlite3.connect(lib_path / "jobs.db") as conn:   # it may die before printing its id
        job_id, status = conn.execute("SELECT id, status FROM jobs").fetchone()
    assert status == "running"   # the dead owner left it running: it is an orphan now

    second = _run(lib_path, log, "resume")
    out = json.loads(second.stdout)
    assert out["resumed"] == [job_id]
    assert out["results"] == [_expected()]

    starts, ends = _executions(log)
    killed_item = int(kill.split(":")[1])
    for item in range(N):
        # a task that completed is never run again; only the one killed mid-body repeats
        assert ends[item] == 1, (item, ends)
        want = 2 if kill.startswith("in_task") and item == killed_item else 1
        assert starts[item] == want, (item, starts)

    with sqlite3.connect(lib_path / "jobs.db") as conn:
        status, attempts, result = conn.execute(
            "SELECT status, attempts, result FROM jobs WHERE id=?", (job_id,)).fetchone()
        tasks = conn.execute("SELECT count(*), sum(status='completed') FROM tasks "
                             "WHERE job_id=?", (job_id,)).fetchone()
    assert (status, attempts) == ("completed", 2)
    assert json.loads(result) == _expected()
    assert tasks == (N, N)


@pytest.mark.parametrize("mode", ["start", "startpar"])
def test_killed_from_outside_mid_run_resumes(lib_path, tmp_path, mode):
    log = tmp_path / "tasks.log"
    env = dict(os.environ, VDFS_TEST_LOG=str(log), VDFS_TEST_SLOW="0.05", VDFS_TEST_KILL="")
    proc = subprocess.Popen([sys.executable, str(WORKER), str(lib_path), mode, str(N)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    job_id = json.loads(proc.stdout.readline())["id"]
    deadline = time.monotonic() + 60
    with sqlite3.connect(lib_path / "jobs.db") as conn:
        while time.monotonic() < deadline:   # wait until some tasks completed, then kill
            done, = conn.execute("SELECT count(*) FROM tasks WHERE job_id=? AND "
                                 "status='completed'", (job_id,)).fetchone()
            if done >= 3:
                break
            time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    proc.stdout.close()
    proc.stderr.close()
    with sqlite3.connect(lib_path / "jobs.db") as conn:
        keys = [k for (k,) in conn.execute("SELECT key FROM tasks WHERE job_id=? AND "
                                           "status='completed'", (job_id,))]
    if mode == "start":                  # items run in order: the first len(keys) are stored
        recorded = set(range(len(keys)))
    else:                                # explicit keys "….weigh:item-<i>"
        recorded = {int(k.rsplit("item-", 1)[1]) for k in keys}
    starts_before, _ = _executions(log)
    out = json.loads(_run(lib_path, log, "resume").stdout)
    assert out["resumed"] == [job_id] and out["results"] == [_expected()]
    starts, ends = _executions(log)
    # tasks recorded before the kill never ran again; the one in flight may have
    assert recorded and all(starts[i] == 1 for i in recorded), (recorded, starts)
    assert all(starts[i] - starts_before[i] <= 1 for i in range(N))
    assert sorted(ends) == list(range(N))


def test_a_live_owner_is_not_resumed_by_another_process(lib_path, tmp_path):
    """While the first process still runs the job, a second one must leave it alone."""
    log = tmp_path / "tasks.log"
    env = dict(os.environ, VDFS_TEST_LOG=str(log), VDFS_TEST_SLOW="0.2", VDFS_TEST_KILL="")
    proc = subprocess.Popen([sys.executable, str(WORKER), str(lib_path), "start", "4"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        job_id = json.loads(proc.stdout.readline())["id"]
        lib = core.Library.open(lib_path)
        try:
            assert lib.jobs.resume_pending() == []
            assert lib.jobs.find_unfinished("crashtest.sum", {"n": 4}) is None
            assert lib.jobs.get(job_id).info()["resumable"] is False
        finally:
            lib.close()
        assert proc.wait(60) == 0
        assert json.loads(proc.stdout.readline())["result"] == _expected(4)
    finally:
        proc.kill()
        proc.stdout.close()
        proc.stderr.close()

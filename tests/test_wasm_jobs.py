"""WASM jobs through the durable jobs runtime: steps checkpointed, tasks recorded in jobs.db,
pause and resume, a failing task retried by its policy, and a job killed with SIGKILL resumed in
another process without running its completed tasks again."""
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
from tests import wasm_guests as g

EXT = "com.test.wasmjobs"
WORKER = Path(__file__).with_name("wasm_job_worker.py")
STEPS = 6
STRIDE = 96


def guest(spin: int) -> bytes:
    """Job `steps`: step k < STEPS asks for two tasks, step STEPS finishes. Task `work` logs its
    item (a log request), spins `spin` iterations, and returns the item; `boom` runs out of fuel."""
    table = b"".join(
        json.dumps({"state": k, "tasks": [{"message": f"task {k}.{i}"} for i in range(2)]})
        .encode().ljust(STRIDE) for k in range(STEPS))
    table += b'{"done":true,"result":"finished"}'.ljust(STRIDE)
    esc = "".join(f"\\{c:02x}" for c in table)
    body = f"""
  (data (i32.const 0) "output")
  (data (i32.const 8) "log")
  (data (i32.const 1024) "{esc}")
  (func (export "steps") (param $in i32) (param $len i32) (result i32) (local $k i32)
    (local.set $k (i32.sub (i32.load8_u (i32.add (local.get $in) (i32.const 8))) (i32.const 48)))
    (drop (call $call (i32.const 0) (i32.const 6)
                (i32.add (i32.const 1024) (i32.mul (local.get $k) (i32.const {STRIDE})))
                (i32.const {STRIDE})))
    (i32.const 0))
  (func (export "work") (param $in i32) (param $len i32) (result i32) (local $i i32)
    (drop (call $call (i32.const 8) (i32.const 3) (local.get $in) (local.get $len)))
    (drop (call $response (i32.const 3000) (i32.const 100)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (i32.const {spin})))
      (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))
    (drop (call $call (i32.const 0) (i32.const 6) (local.get $in) (local.get $len)))
    (i32.const 0))
  (func (export "boom") (param $in i32) (param $len i32) (result i32)
    (loop $l (br $l)) (i32.const 0))
"""
    return g.module(body)


def manifest(task: str = "work", retries: int = 0) -> dict:
    return {"id": EXT, "name": "WASM jobs", "version": "1.0.0", "abi_version": 1,
            "jobs": [{"name": "steps", "export": "steps", "task": task, "retries": retries,
                      "parallelism": 2}],
            "limits": {"fuel": 400_000_000, "deadline_ms": 5000}}


def package(tmp_path, spin: int = 0, **kw) -> Path:
    root = tmp_path / "pkg"
    root.mkdir(exist_ok=True)
    (root / "manifest.json").write_text(json.dumps(manifest(**kw)))
    (root / "extension.wasm").write_bytes(guest(spin))
    return root


def task_log(lib_path: Path) -> collections.Counter:
    trail = lib_path / "logs" / "extensions" / f"{EXT}.jsonl"
    return collections.Counter(json.loads(ln)["msg"] for ln in trail.read_text().splitlines()
                               if json.loads(ln)["msg"].startswith("task "))


def expected_tasks() -> set[str]:
    return {f"task {k}.{i}" for k in range(STEPS) for i in range(2)}


def test_job_steps_checkpoint_and_tasks_are_recorded(lib, tmp_path):
    lib.extensions.install(package(tmp_path))
    job = lib.extensions.run_job(EXT, "steps")
    assert job.wait(timeout=60) == "finished"
    tasks = lib.jobs.store.tasks(job.id)
    assert len(tasks) == 2 * STEPS and {t["status"] for t in tasks} == {"completed"}
    assert json.loads(lib.jobs.store.get(job.id)["checkpoint"])["step"] == STEPS
    assert set(task_log(lib.path)) == expected_tasks()


def test_pause_lands_between_steps_and_resume_finishes(lib, tmp_path):
    lib.extensions.install(package(tmp_path, spin=3_000_000))
    job = lib.extensions.run_job(EXT, "steps")
    deadline = time.monotonic() + 30
    while not lib.jobs.store.tasks(job.id) and time.monotonic() < deadline:
        time.sleep(0.01)
    job.pause()
    while job.status not in ("paused", "completed") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert job.status == "paused"
    done_before = len(lib.jobs.store.tasks(job.id))
    assert done_before < 2 * STEPS
    assert job.resume().wait(timeout=60) == "finished"
    counts = task_log(lib.path)
    assert set(counts) == expected_tasks() and max(counts.values()) == 1


def test_a_trapping_task_follows_its_retry_policy(lib, tmp_path):
    lib.extensions.install(package(tmp_path, task="boom", retries=1))
    job = lib.extensions.run_job(EXT, "steps")
    with pytest.raises(Exception, match=r"2 attempt.*out of fuel after 400,000,000 units"):
        job.wait(timeout=120)
    assert job.status == "failed"
    assert lib.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_killed_job_resumes_in_another_process(tmp_path):
    lib_path = tmp_path / "crash.vdfs"
    lib = core.Library.create(lib_path)
    lib.extensions.install(package(tmp_path, spin=20_000_000))
    lib.close()
    proc = subprocess.Popen([sys.executable, str(WORKER), str(lib_path), "start"],
                            stdout=subprocess.PIPE, text=True)
    job_id = proc.stdout.readline().strip()
    deadline = time.monotonic() + 60
    step = 0
    while step < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
        with sqlite3.connect(lib_path / "jobs.db") as conn:
            row = conn.execute("SELECT checkpoint FROM jobs WHERE id = ?", (job_id,)).fetchone()
        step = json.loads(row[0])["step"] if row and row[0] else 0
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert 2 <= step < STEPS, "the job should be killed in the middle"
    env = dict(os.environ)
    second = subprocess.run([sys.executable, str(WORKER), str(lib_path), "resume"],
                            capture_output=True, text=True, timeout=120, env=env)
    assert second.returncode == 0, second.stderr
    out = json.loads(second.stdout)
    assert out == {"resumed": [job_id], "results": ["finished"]}
    counts = task_log(lib_path)
    assert set(counts) == expected_tasks()
    # a completed task is never run again: only tasks in flight at the kill may repeat
    assert sum(counts.values()) - len(counts) <= 2, counts

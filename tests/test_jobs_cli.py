"""`vdfs jobs …` and `vdfs actions` / `vdfs undo` in real subprocesses, controlling jobs and
actions of the test process through the library files only."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import jobs_crash_worker as worker

from core.jobs import JobCancelled

TESTS = Path(__file__).parent


def vdfs(lib, *args, ok=True):
    env = dict(os.environ, PYTHONPATH=str(TESTS), VDFS_TEST_SLOW="0", VDFS_TEST_KILL="")
    proc = subprocess.run([sys.executable, "-m", "core.cli", "-L", str(lib.path), *args],
                          env=env, capture_output=True, text=True, timeout=120)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def _wait_for(pred, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def slow(monkeypatch):
    monkeypatch.setattr(worker, "SLOW", 0.03)
    monkeypatch.setattr(worker, "LOG", None)


def test_pause_from_another_process_then_resume_there(lib, slow):
    job = lib.jobs.submit("crashtest.sum", {"n": 30})
    assert _wait_for(lambda: job.info()["tasks"].get("completed", 0) >= 2)
    out = vdfs(lib, "jobs", "pause", job.id[:8]).stdout
    assert job.id[:8] in out
    assert _wait_for(lambda: job.status == "paused")
    done_here = job.info()["tasks"]["completed"]
    assert done_here < 30

    listing = vdfs(lib, "jobs").stdout
    assert job.id[:8] in listing and "paused" in listing
    rows = [json.loads(line) for line in vdfs(lib, "jobs", "--json").stdout.splitlines()]
    assert [r["status"] for r in rows if r["id"] == job.id] == ["paused"]

    # resumed by the CLI in its own process, which imports the job's module to find it
    resumed = vdfs(lib, "jobs", "resume", job.id)
    assert json.loads(resumed.stdout) == {"acc": sum(i * i + 1 for i in range(30)),
                                          "seen": list(range(30))}
    assert job.status == "completed" and job.info()["attempts"] == 2
    shown = json.loads(vdfs(lib, "jobs", "show", job.id[:6]).stdout)
    assert shown["tasks"] == {"completed": 30}


def test_cancel_from_another_process(lib, slow):
    job = lib.jobs.submit("crashtest.sum", {"n": 200})
    assert _wait_for(lambda: job.info()["tasks"].get("completed", 0) >= 1)
    vdfs(lib, "jobs", "cancel", job.id)
    with pytest.raises(JobCancelled):
        job.wait(30)
    bad = vdfs(lib, "jobs", "resume", job.id, ok=False)
    assert bad.returncode == 1 and "is cancelled" in bad.stderr
    bad = vdfs(lib, "jobs", "pause", "zzzz", ok=False)
    assert bad.returncode == 1 and "no job 'zzzz'" in bad.stderr


def test_actions_log_and_undo(lib, tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    (root / "f.txt").write_text("x")
    lib.index(lib.add_location(root)).wait(60)
    (u,) = lib.conn.execute("SELECT uuid FROM entries WHERE name='f.txt'").fetchone()
    ctx = lib.actions.context()
    res = lib.actions.commit(lib.actions.preview_changes("rename f", [ctx.rename(u, "g.txt")]))
    assert vdfs(lib, "actions").stdout.splitlines()[1].split()[0] == str(res.audit_id)
    shown = vdfs(lib, "actions", "show", str(res.audit_id)).stdout
    assert "rename" in shown and "g.txt" in shown and "inverse:" in shown
    out = vdfs(lib, "undo", str(res.audit_id)).stdout
    assert f"undid #{res.audit_id}" in out
    assert (root / "f.txt").exists() and not (root / "g.txt").exists()
    assert lib.conn.execute("SELECT name FROM entries WHERE uuid=?", (u,)).fetchone()[0] == "f.txt"
    again = vdfs(lib, "undo", str(res.audit_id), ok=False)
    assert again.returncode == 1 and "already undone" in again.stderr


def test_prune_forgets_only_old_ended_jobs(lib):
    done = lib.jobs.submit("crashtest.sum", {"n": 2})
    done.wait(30)
    old = lib.jobs.submit("crashtest.sum", {"n": 3})
    old.wait(30)
    lib.jobs.store._exec("UPDATE jobs SET finished_at='2020-01-01T00:00:00.000000Z' WHERE id=?",
                         (old.id,))
    assert "pruned 1 job(s)" in vdfs(lib, "jobs", "prune", "--days", "7").stdout
    assert [r["id"] for r in lib.jobs.list()] == [done.id]
    assert lib.jobs.store.tasks(old.id) == []              # its tasks went with it
    assert len(lib.jobs.store.tasks(done.id)) == 2


def test_a_finished_index_shows_its_real_counts(lib, tmp_path):
    """`vdfs jobs` showed a completed index as `completed 0/N (0%)`."""
    from indexer_tree import build_tree
    tree = build_tree(tmp_path / "tree", files=30)
    result = lib.index(tree).wait()
    n = result["files"] + result["dirs"]
    row = next(line for line in vdfs(lib, "jobs").stdout.splitlines() if "core.index" in line)
    assert "completed" in row and f"{n}/{n} (100%)" in row, row
    listed = [json.loads(line) for line in vdfs(lib, "jobs", "--json").stdout.splitlines()]
    # only the index: on_event jobs that other tests registered in this process may run too
    assert [(r["progress_done"], r["progress_total"]) for r in listed
            if r["name"] == "core.index"] == [(n, n)]

"""Distributed execution on a real Dask cluster: a LocalCluster scheduler in this process and
`vdfs worker` processes registered as two devices — "gpu-box" (VDFS_CAPABILITIES says it has
a GPU) and "files-box" (the device whose VDFS_HOME the owner test's library shares, so it owns
that library's files). Jobs place tasks by capability and by owner, fail fast when no device
qualifies, survive a worker SIGKILLed mid-job and do not re-run finished tasks on resume."""
from __future__ import annotations

import collections
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import distributed   # the `distributed` extra, which `make test` installs
import pytest

import core
from core.devices import NoDeviceError, detach, use_dask
from core.jobs import JobFailed, codec, job

import distributed_tasks as t
from dask_cluster import REPO, _home, _worker, cluster  # noqa: F401 (a fixture)

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def dlib(cluster, tmp_path):
    library = core.Library.create(tmp_path / "d.vdfs")
    use_dask(library, cluster["address"], grace=2.0)
    yield library
    detach(library)
    library.close()


@job(name="test.dist.where")
def where_job(ctx, n: int, need: list):
    return ctx.map(t.where_am_i, range(n), device=ctx.select_device().with_capability(*need))


@job(name="test.dist.owner")
def owner_job(ctx, paths: list):
    one = ctx.execute_on(ctx.select_device().owner_of(paths[0]).select(), t.size_here, paths[0])
    rest = ctx.map(t.size_here, paths, device=lambda p: ctx.select_device().owner_of(p))
    return [one] + rest


@job(name="test.dist.hash", parallelism=4)
def hash_job(ctx, n: int, need: list):
    return ctx.map(t.slow_hash, range(n), device=ctx.select_device().with_capability(*need))


@job(name="test.dist.resume")
def resume_job(ctx, n: int, log: str, marker: str):
    out = ctx.map(t.logged, [[i, log] for i in range(n)], device=ctx.select_device())
    if not Path(marker).exists():
        Path(marker).write_text("the coordinator died here")
        raise RuntimeError("coordinator killed after its tasks finished")
    return {"squares": out, "run": ctx.tasks_run, "replayed": ctx.tasks_replayed}


def _address_of(client, name: str) -> str:
    deadline = time.monotonic() + 60
    while True:
        for addr, w in client.scheduler_info(n_workers=-1)["workers"].items():
            if w["name"] == name:
                return addr
        assert time.monotonic() < deadline, f"worker {name} never joined"
        time.sleep(0.1)


def _kill_when_busy(client, addr: str, proc: subprocess.Popen, ready) -> None:
    """SIGKILL the worker while it runs tasks of the job (and once `ready()` holds)."""
    deadline = time.monotonic() + 30
    while not (client.processing([addr]).get(addr) and ready()):
        assert time.monotonic() < deadline, "the worker never got a task"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)


def _rows(library, job_id):
    return library.jobs.store.tasks(job_id)


def test_tasks_route_by_capability(dlib):
    j = dlib.jobs.submit(where_job, {"n": 6, "need": ["gpu"]})
    assert j.wait(30) == [["gpu-box", i] for i in range(6)]
    rows = _rows(dlib, j.id)
    assert len(rows) == 6 and {r["status"] for r in rows} == {"completed"}
    # each worker told the coordinator what it has; the library records it
    caps = dict(dlib.conn.execute("SELECT name, capabilities FROM devices"))
    assert json.loads(caps["gpu-box"])["gpu"] is True
    assert json.loads(caps["files-box"])["gpu"] is False
    anywhere = dlib.jobs.submit(where_job, {"n": 8, "need": []}).wait(30)
    assert sorted(i for _, i in anywhere) == list(range(8))


def test_tasks_route_by_owner(cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("VDFS_HOME", str(cluster["homes"]["files-box"]))
    monkeypatch.setenv("VDFS_DEVICE_NAME", "files-box")
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(4):
        (folder / f"p{i}.bin").write_bytes(b"x" * (100 + i))
    library = core.Library.create(tmp_path / "o.vdfs")
    try:
        library.index(folder).wait(30)
        use_dask(library, cluster["address"], grace=2.0)
        paths = sorted(str(p) for p in folder.iterdir())
        got = library.jobs.submit(owner_job, {"paths": paths}).wait(30)
        assert got == [["files-box", 100]] + [["files-box", 100 + i] for i in range(4)]
    finally:
        detach(library)
        library.close()


def test_a_request_nobody_can_satisfy_fails_fast(dlib):
    @job(name="test.dist.select")
    def select_job(ctx, need: str):
        return ctx.select_device().with_capability(need).select().name

    assert dlib.jobs.submit(select_job, {"need": "gpu"}).wait(30) == "gpu-box"
    start = time.monotonic()
    with pytest.raises(JobFailed, match="no device has model:clip"):
        dlib.jobs.submit(select_job, {"need": "model:clip"}).wait(30)
    with pytest.raises(JobFailed, match="no device has gpu and os:plan9; online: "):
        dlib.jobs.submit(where_job, {"n": 3, "need": ["gpu", "os:plan9"]}).wait(30)
    assert time.monotonic() - start < 10
    with pytest.raises(NoDeviceError, match="online: .*gpu-box"):
        from core.devices import executor_for
        from core.devices.selection import DeviceQuery
        DeviceQuery(executor_for(dlib).devices, dlib.device_uuid,
                    lambda: dlib.conn).with_capability(cpus=10_000).select()


def test_sigkill_of_a_worker_mid_job_loses_and_duplicates_nothing(cluster, dlib, tmp_path):
    spare = _worker(cluster["address"], _home(tmp_path, "spare"), "spare", {})
    try:
        client = cluster["client"]
        addr = _address_of(client, "spare")
        n = 24
        j = dlib.jobs.submit(hash_job, {"n": n, "need": []})
        _kill_when_busy(client, addr, spare, lambda: dlib.jobs.store.task_counts(j.id)
                        .get("completed", 0) >= 3)
        got = j.wait(60)
    finally:
        spare.kill()
        spare.wait(10)
    assert got == [t.slow_hash(i) for i in range(n)]    # what a local run returns
    rows = _rows(dlib, j.id)
    assert len(rows) == n and len({r["key"] for r in rows}) == n
    assert {r["status"] for r in rows} == {"completed"}


def test_a_resumed_job_does_not_rerun_finished_tasks(dlib, tmp_path):
    log, marker = tmp_path / "calls.log", tmp_path / "died"
    j = dlib.jobs.submit(resume_job, {"n": 5, "log": str(log), "marker": str(marker)})
    with pytest.raises(JobFailed, match="coordinator killed"):
        j.wait(30)
    assert len(log.read_text().splitlines()) == 5
    again = dlib.jobs.retry(j.id).wait(30)
    assert again == {"squares": [i * i for i in range(5)], "run": 0, "replayed": 5}
    assert len(log.read_text().splitlines()) == 5


def test_losing_the_only_eligible_worker_fails_the_job_instead_of_hanging(cluster, dlib,
                                                                          tmp_path):
    rare = _worker(cluster["address"], _home(tmp_path, "rare"), "rare", {"rare": True})
    try:
        addr = _address_of(cluster["client"], "rare")
        j = dlib.jobs.submit(hash_job, {"n": 20, "need": ["rare"]})
        _kill_when_busy(cluster["client"], addr, rare, lambda: True)
        start = time.monotonic()
        with pytest.raises(JobFailed, match="no device has rare"):
            j.wait(30)
        assert time.monotonic() - start < 15      # the watchdog's grace is 2 s
    finally:
        rare.kill()
        rare.wait(10)
    rows = _rows(dlib, j.id)
    assert len({r["key"] for r in rows}) == len(rows) < 20   # finished ones kept, once each


def test_a_job_resumed_after_the_coordinator_is_killed_reruns_no_finished_task(cluster,
                                                                                tmp_path):
    lib_path, log, n = tmp_path / "c.vdfs", tmp_path / "ends.log", 20
    core.Library.create(lib_path).close()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests")]))
    coordinator = subprocess.Popen(
        [sys.executable, "-c", "import sys, distributed_tasks as t; t.main(sys.argv[1:])",
         str(lib_path),
         cluster["address"], str(n), str(log)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(_completed(lib_path)) < 4:
            assert time.monotonic() < deadline and coordinator.poll() is None
            time.sleep(0.02)
        coordinator.send_signal(signal.SIGKILL)
    finally:
        coordinator.kill()
        coordinator.wait(10)
    first_run = [math.isqrt(r) for r in _completed(lib_path)]
    finished = len(first_run)
    assert 4 <= finished < n
    library = core.Library.open(lib_path)
    try:
        use_dask(library, cluster["address"], grace=2.0)
        (resumed,) = library.jobs.resume_pending()
        got = resumed.wait(60)
        rows = _rows(library, resumed.id)
    finally:
        detach(library)
        library.close()
    assert got == {"squares": [i * i for i in range(n)], "run": n - finished,
                   "replayed": finished}
    assert len(rows) == n and {r["status"] for r in rows} == {"completed"}
    # a task whose result was stored before the kill ran to its end once, in the first run
    ends = collections.Counter(log.read_text().splitlines())
    assert [ends[f"end {i}"] for i in first_run] == [1] * len(first_run)


def _completed(lib_path: Path) -> list:
    """The stored results of completed tasks, read as another process would."""
    conn = sqlite3.connect(lib_path / "jobs.db", timeout=30)
    try:
        texts = conn.execute("SELECT result FROM tasks WHERE status = 'completed'").fetchall()
    except sqlite3.OperationalError:   # the table is not there yet
        return []
    finally:
        conn.close()
    return [codec.load_result(text) for (text,) in texts]


def test_vdfs_cluster_starts_workers_registered_as_this_device(tmp_path):
    from core.store.device import current_device
    me, _ = current_device()
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "cluster", "--workers", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith("scheduler tcp://"), first
        address = first.split()[1]
        with distributed.Client(address, set_as_default=False, timeout=30) as client:
            client.wait_for_workers(1, timeout=60)
            (worker,) = client.scheduler_info(n_workers=-1)["workers"].values()
            assert worker["resources"][f"device-{me.hex}"] > 0
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0


def test_a_dask_executor_does_not_keep_its_library_alive(cluster, tmp_path):
    import gc
    import weakref
    library = core.Library.create(tmp_path / "gc.vdfs")
    executor = use_dask(library, cluster["address"])
    assert {d.name for d in executor.devices()} >= {"gpu-box", "files-box"}
    library.close()
    ref = weakref.ref(library)
    del library
    gc.collect()
    assert ref() is None
    executor.close()


@job(name="test.dist.picky")
def picky_job(ctx, items: list):
    return ctx.map(t.picky, items, device=ctx.select_device())


def test_a_remote_task_sees_its_context_and_its_failure_comes_back_whole(dlib):
    assert dlib.jobs.submit(picky_job, {"items": [0, 2]}).wait(30) == \
        [["distributed_tasks.picky", 1, True]] * 2
    j = dlib.jobs.submit(picky_job, {"items": [0, 1]})
    with pytest.raises(JobFailed, match=r"task distributed_tasks.picky .* failed after 2 "
                                        r"attempt\(s\): ValueError: odd item 1"):
        j.wait(30)
    assert sorted(r["status"] for r in _rows(dlib, j.id)) in (["failed"],
                                                              ["completed", "failed"])


def test_cancelling_a_distributed_job_stops_it(dlib):
    j = dlib.jobs.submit(hash_job, {"n": 40, "need": []})
    deadline = time.monotonic() + 30
    while dlib.jobs.store.task_counts(j.id).get("completed", 0) < 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    j.cancel()
    start = time.monotonic()
    with pytest.raises(core.jobs.JobCancelled):
        j.wait(30)
    assert time.monotonic() - start < 5
    assert dlib.jobs.store.task_counts(j.id).get("completed", 0) < 40


def test_vdfs_scheduler_in_the_environment_attaches_dask(cluster, tmp_path, monkeypatch):
    from core.devices import executor_for
    monkeypatch.setenv("VDFS_SCHEDULER", cluster["address"])
    library = core.Library.create(tmp_path / "env.vdfs")
    try:
        assert executor_for(library).remote
        got = library.jobs.submit(where_job, {"n": 2, "need": ["gpu"]}).wait(30)
        assert got == [["gpu-box", 0], ["gpu-box", 1]]
    finally:
        detach(library)
        library.close()


def test_an_unreachable_scheduler_is_a_clear_error(lib):
    start = time.monotonic()
    with pytest.raises(core.VdfsError, match="cannot reach the Dask scheduler tcp://127.0.0.1:9"):
        use_dask(lib, "tcp://127.0.0.1:9", connect_timeout=1)
    assert time.monotonic() - start < 10


def test_vdfs_worker_without_a_scheduler_says_so_and_exits():
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "core.cli", "worker", "--scheduler",
                           "tcp://127.0.0.1:9", "--timeout", "2"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "vdfs: cannot reach the Dask scheduler tcp://127.0.0.1:9 within 2 s" in proc.stderr
    assert time.monotonic() - start < 30

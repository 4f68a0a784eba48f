"""Faults end cleanly: a full disk, a read-only folder, damaged files, a FIFO where a file was,
two indexers at once. Each ends with a clear error (a VdfsError; on the command line one line
and a non-zero exit, promptly) and leaves the library correct and the work resumable.

The disk is really full: the library lives on a small tmpfs mounted for the test (root only;
skipped with the reason otherwise)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import core
from core.store.faults import ReadOnlyStorageError, StorageFullError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def vdfs(*args, timeout=60, env=None):
    full = dict(os.environ, PYTHONPATH=REPO, **(env or {}))
    return subprocess.run([sys.executable, "-m", "core.cli", *map(str, args)],
                          capture_output=True, text=True, env=full, timeout=timeout)


def many_files(root: Path, dirs: int = 40, per_dir: int = 100) -> Path:
    for d in range(dirs):
        (root / f"d{d}").mkdir(parents=True)
        for i in range(per_dir):
            (root / f"d{d}" / f"file_with_a_rather_long_name_{i}.txt").write_text(f"{d}/{i}")
    return root


def finish(proc: subprocess.Popen, timeout: float = 30) -> tuple[str, str]:
    """The output of a process started by a test; killed (not left behind) if it hangs."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise


@pytest.fixture(scope="module")
def big_tree(tmp_path_factory) -> Path:
    return many_files(tmp_path_factory.mktemp("tree") / "t")


class Mount:
    """A tmpfs of a given size, unmounted at teardown; `resize` grows or shrinks it."""

    def __init__(self, path: Path, size: str):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs for a real full disk: {r.stderr.strip()}")

    def remount(self, options: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{options}", str(self.path)], check=True)

    def close(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=False)


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    m = Mount(tmp_path / "disk", "1m")
    yield m
    m.close()


def assert_one_clean_line(stderr: str, *needles: str) -> None:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    for needle in needles:
        assert needle in lines[0], stderr


# ---- disk full during an index ----------------------------------------------------------------
@pytest.mark.timeout(120)
def test_disk_full_during_index_fails_promptly_and_resumes(small_disk, big_tree):
    lib = small_disk.path / "l.vdfs"
    assert vdfs("init", lib).returncode == 0
    t0 = time.monotonic()
    r = vdfs("-L", lib, "index", big_tree, "--no-progress", timeout=40)
    took = time.monotonic() - t0
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert_one_clean_line(r.stderr, "no space left", str(lib))
    assert took < 30
    small_disk.remount("size=32m")         # space is freed: the next index finishes the work
    r = vdfs("-L", lib, "index", big_tree, "--no-progress")
    assert r.returncode == 0, r.stderr
    with core.Library.open(lib) as opened:
        n_files = opened.conn.execute(
            "SELECT count(*) FROM entries WHERE is_dir = 0 AND content_id IS NOT NULL"
        ).fetchone()[0]
        statuses = [j["status"] for j in opened.jobs.list(name="core.index")]
        opened.jobs.close()
    assert n_files == 4000
    assert "running" not in statuses and "completed" in statuses


# ---- a file that becomes a FIFO between walk and hash -----------------------------------------
SWAPS = {"FIFO": os.mkfifo, "folder": os.mkdir,
         "symlink": lambda p: os.symlink(p.parent / "a.txt", p)}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("now", sorted(SWAPS))
def test_file_replaced_before_hashing_is_skipped_not_blocking(lib, tmp_path, now):
    root = tmp_path / "t"
    root.mkdir()
    (root / "a.txt").write_text("kept")
    victim = root / "b.bin"
    victim.write_bytes(b"x" * 1000)
    swapped = []

    def swap(event):   # job.progress is published in the job's thread as the phase begins
        if event.payload.get("phase") == "content" and not swapped:
            victim.unlink()
            SWAPS[now](victim)
            swapped.append(True)

    unsubscribe = lib.events.subscribe(swap, "job.progress")
    try:
        result = lib.index(root, workers=1).wait(timeout=20)
    finally:
        unsubscribe()
    assert swapped
    assert [s["path"] for s in result["skipped"]] == [str(victim)]
    assert f"now a {now}" in result["skipped"][0]["reason"]
    assert result["errors"] == [] and result["hashed"] == 1
    assert lib.conn.execute("SELECT content_id FROM entries WHERE name = 'b.bin'"
                            ).fetchone() == (None,)


# ---- two indexers on one library ------------------------------------------------------------
BAD_OUTCOMES = ("Traceback", "IntegrityError", "not a vdfs library", "UNIQUE")


@pytest.mark.timeout(90)
def test_second_indexer_waits_for_the_same_index_and_refuses_another(lib, tmp_path):
    root = many_files(tmp_path / "t", dirs=3, per_dir=5)
    gate, entered = threading.Event(), threading.Event()

    def hold(event):   # keeps the first index running, in its content phase, until released
        if event.payload.get("phase") == "content":
            entered.set()
            gate.wait(60)

    unsubscribe = lib.events.subscribe(hold, "job.progress")
    try:
        first = lib.index(root)
        assert entered.wait(20)
        t0 = time.monotonic()
        other = vdfs("-L", lib.path, "index", root / "d1", "--no-progress", timeout=30)
        assert other.returncode == 1 and time.monotonic() - t0 < 20
        assert_one_clean_line(other.stderr, "another index of this library is running",
                              f"job {first.id[:8]}", f"pid {os.getpid()}")
        same = subprocess.Popen([sys.executable, "-m", "core.cli", "-L", str(lib.path), "index",
                                 str(root), "--no-progress"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, PYTHONPATH=REPO))
        time.sleep(1.0)
        assert same.poll() is None            # it waits for the running index...
    finally:
        gate.set()
        unsubscribe()
    out, err = finish(same)
    assert same.returncode == 0, err          # ...and reports it when it ends
    assert f"indexed {root}: 15 files" in out
    assert first.wait(10)["files"] == 15
    assert [j["status"] for j in lib.jobs.list(name="core.index")] == ["completed"]


@pytest.mark.timeout(120)
def test_two_index_processes_at_once_never_collide(big_tree, tmp_path):
    for round_ in range(2):
        library = tmp_path / f"race{round_}.vdfs"     # not there yet: both try to create it
        cmd = [sys.executable, "-m", "core.cli", "-L", str(library), "index", str(big_tree),
               "--no-progress"]
        env = dict(os.environ, PYTHONPATH=REPO)
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=env) for _ in range(2)]
        outs = [finish(p, 60) for p in procs]
        for p, (out, err) in zip(procs, outs):
            assert not any(bad in err for bad in BAD_OUTCOMES), err
            assert p.returncode == 0 or (p.returncode == 1 and "another index" in err), err
        assert any(p.returncode == 0 for p in procs)
        with core.Library.open(library) as opened:
            assert opened.conn.execute("SELECT count(*) FROM entries").fetchone()[0] == 4041
            opened.jobs.close()


# ---- a read-only library folder -----------------------------------------------------------------
@pytest.mark.timeout(60)
def test_read_only_library_folder_is_a_clear_error(small_disk):
    path = small_disk.path / "ro.vdfs"
    core.Library.create(path).close()
    small_disk.remount("ro")
    with pytest.raises(ReadOnlyStorageError, match=f"{path} is read-only"):
        core.Library.open(path)
    r = vdfs("-L", path, "summary", timeout=30)
    assert r.returncode == 1
    assert_one_clean_line(r.stderr, "is read-only")
    r = vdfs("init", small_disk.path / "new.vdfs", timeout=30)
    assert r.returncode == 1
    assert_one_clean_line(r.stderr, "is read-only")


# ---- disk full while storing a blob -------------------------------------------------------------
@pytest.mark.timeout(60)
def test_blob_that_does_not_fit_is_a_clear_error_and_nothing_is_kept(small_disk):
    from core.domain import blobs
    from core.store.txn import transaction
    with core.Library.create(small_disk.path / "b.vdfs") as opened:
        with pytest.raises(StorageFullError, match="no space left.*b.vdfs"):
            with transaction(opened.conn) as conn:
                blobs.put_blob(conn, os.urandom(2_000_000), "bytes")   # incompressible
        assert opened.conn.execute("SELECT count(*) FROM metadata_blobs").fetchone()[0] == 0
        assert not opened.conn.in_transaction
        with transaction(opened.conn) as conn:          # the library still takes what fits
            bid = blobs.put_blob(conn, b"small" * 10, "bytes")
        assert blobs.read_blob(opened.conn, bid, what="t") == b"small" * 10


# ---- disk full while downloading a model --------------------------------------------------------
@pytest.mark.timeout(60)
def test_model_download_on_a_full_disk_is_a_model_error_and_keeps_nothing(small_disk, tmp_path):
    import functools
    import hashlib
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from core.ai import ModelError, ModelRegistry, ModelSource
    served = tmp_path / "www"
    served.mkdir()
    data = os.urandom(2_000_000)
    (served / "big.onnx").write_bytes(data)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0),
                                functools.partial(Quiet, directory=str(served)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/big.onnx"
        reg = ModelRegistry(small_disk.path / "models")
        with pytest.raises(ModelError, match="scene:big.*no space left"):
            reg.register("big", "scene", ModelSource.download(url, hashlib.sha256(data).hexdigest()))
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert reg.list() == []
    assert [p.name for p in (small_disk.path / "models" / "scene").iterdir()] == []


# ---- a failure that is recorded resumes from its checkpoint -------------------------------------
@pytest.mark.timeout(120)
def test_recorded_disk_full_failure_is_resumed_by_the_next_index(small_disk, big_tree, tmp_path):
    """library.db lives on the full disk (a symlink), jobs.db does not: the failure is recorded
    as failed, and the next index resumes that job — which also rebuilds the entries indexes a
    first load dropped (VDFS_INDEX_BULK_MIN lowers its threshold)."""
    lib = tmp_path / "l.vdfs"
    with core.Library.create(lib) as made:
        want_indexes = sorted(made.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'entries'"))
    shutil.move(lib / "library.db", small_disk.path / "library.db")
    os.symlink(small_disk.path / "library.db", lib / "library.db")
    env = {"VDFS_INDEX_BULK_MIN": "100"}
    r = vdfs("-L", lib, "index", big_tree, "--no-progress", timeout=40, env=env)
    assert r.returncode == 1
    assert_one_clean_line(r.stderr, "no space left")
    with core.Library.open(lib) as opened:
        [job] = opened.jobs.list(name="core.index")
        opened.jobs.close()
    assert job["status"] == "failed" and "no space left" in job["error"]
    small_disk.remount("size=32m")
    r = vdfs("-L", lib, "index", big_tree, "--no-progress", timeout=40, env=env)
    assert r.returncode == 0, r.stderr
    with core.Library.open(lib) as opened:
        assert opened.conn.execute("SELECT count(*) FROM entries").fetchone()[0] == 4041
        assert sorted(opened.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'entries'"
        )) == want_indexes
        [again] = opened.jobs.list(name="core.index")
        assert (again["id"], again["status"]) == (job["id"], "completed")
        opened.jobs.close()
    assert "resumed an interrupted index" in r.stdout


@pytest.mark.timeout(60)
def test_orphaned_index_resumed_during_another_index_fails_clearly_then_resumes(tmp_path):
    from core.indexer.lock import IndexLock
    from core.jobs import JobFailed
    root = many_files(tmp_path / "t", dirs=4, per_dir=10)
    path = tmp_path / "o.vdfs"
    killed = vdfs("-L", path, "index", root, "--no-progress", "--batch-size", "5",
                  env={"VDFS_TEST_CRASH_AFTER": "processing:2"})
    assert killed.returncode == -9
    with core.Library.open(path) as lib:
        held = IndexLock(lib, "another-job").acquire()     # another indexer holds the library
        try:
            [job] = lib.jobs.resume_pending()
            with pytest.raises(JobFailed, match="another index of this library is running "
                                                r"\(job another-, pid \d+\)"):
                job.wait(timeout=20)
        finally:
            held.release()
        assert job.info()["checkpoint"]["phase"] == "processing"   # kept for the retry
        result = lib.index(root).wait(timeout=30)
        assert result["resumed"] and result["files"] == 40
        assert [j["id"] for j in lib.jobs.list(name="core.index")] == [job.id]
        lib.jobs.close()


HOLDER = """
import sys, threading, core
lib = core.Library.open(sys.argv[1])
def hold(event):
    if event.payload.get("phase") == "content":
        print("holding", flush=True)
        threading.Event().wait()
lib.events.subscribe(hold, "job.progress")
lib.index(sys.argv[2]).wait()
"""


@pytest.mark.timeout(90)
def test_a_waiting_indexer_carries_on_when_the_first_one_is_killed(tmp_path):
    root = many_files(tmp_path / "t", dirs=3, per_dir=5)
    path = tmp_path / "k.vdfs"
    core.Library.create(path).close()
    env = dict(os.environ, PYTHONPATH=REPO)
    first = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(root)],
                             stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert first.stdout.readline().strip() == "holding"
        waiter = subprocess.Popen([sys.executable, "-m", "core.cli", "-L", str(path), "index",
                                   str(root), "--no-progress"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env)
        time.sleep(1.0)
        assert waiter.poll() is None           # waiting for the first index
    finally:
        first.kill()
        first.wait()
    out, err = finish(waiter)
    assert waiter.returncode == 0, err
    assert "resumed an interrupted index" in out and f"indexed {root}: 15 files" in out


def test_storage_errors_name_the_place_and_the_remedy(tmp_path):
    from core.store.faults import StorageError, storage_error
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    with pytest.raises(OSError) as full:
        with open("/dev/full", "wb", buffering=0) as f:
            f.write(b"x")
    fault = storage_error(full.value, tmp_path)
    assert isinstance(fault, StorageFullError) and f"disk holding {tmp_path}" in str(fault)
    assert storage_error(ValueError("not a fault"), tmp_path) is None
    assert storage_error(FileNotFoundError(2, "gone"), tmp_path) is None
    assert isinstance(storage_error(OSError(5, "Input/output error"), tmp_path), StorageError)


@pytest.mark.timeout(90)
def test_disk_full_job_wait_raises_promptly_in_process(small_disk, big_tree):
    from core.jobs import JobFailed
    with core.Library.create(small_disk.path / "w.vdfs") as opened:
        job = opened.index(big_tree)
        t0 = time.monotonic()
        with pytest.raises(JobFailed, match="no space left on the disk holding"):
            job.wait(timeout=60)
        assert time.monotonic() - t0 < 30
        assert job.status == "failed"
        opened.jobs.close()


@pytest.mark.timeout(30)
def test_a_killed_hash_worker_is_a_clear_error(tmp_path):
    from core.errors import VdfsError
    from core.indexer.hashing import hash_one
    from core.indexer.hashworker import HashWorker
    f = tmp_path / "f.bin"
    f.write_bytes(b"abc")
    item = (1, str(f), 3, "bin")
    worker = HashWorker()
    try:
        worker.send([item])
        assert worker.receive()[0] == [hash_one(item)]
        worker.proc.kill()           # the batch is sent into a dying or dead process
        with pytest.raises(VdfsError, match="hashing process exited unexpectedly"):
            worker.send([item])
            worker.receive()
        with pytest.raises(VdfsError, match=r"exited unexpectedly \(code -9\)"):
            worker.send([item])      # dead for sure now
    finally:
        worker.close()


@pytest.mark.timeout(60)
def test_model_with_a_blob_too_big_for_the_disk_is_refused_whole(small_disk):
    from dataclasses import dataclass

    import numpy as np

    from core.sdk import blob_data, model

    @model(version="1.0.0", scope="standalone", extension_id="com.example.faults")
    @dataclass
    class Big:
        name: str
        data: "np.ndarray | None" = blob_data(compression="zstd")

    with core.Library.create(small_disk.path / "m.vdfs") as opened:
        api = opened.vdfs()
        noise = np.random.default_rng(1).random(300_000)      # 2.4 MB of incompressible floats
        with pytest.raises(StorageFullError, match="no space left"):
            api.create_model(Big(name="too big", data=noise))
        counts = [opened.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("models", "metadata_blobs", "model_blobs")]
        assert counts == [0, 0, 0]
        api.create_model(Big(name="fits", data=noise[:100]))
        assert opened.conn.execute("SELECT count(*) FROM models").fetchone()[0] == 1


DYING_HOLDER = """
import ctypes, os, sys, threading, time, core
from core.indexer.lock import IndexLock
lib = core.Library.open(sys.argv[1])
IndexLock(lib, "dying-job").acquire()
def last_thread():
    time.sleep(1.5)          # still exiting: the lock goes with the process's last thread
    os._exit(0)
threading.Thread(target=last_thread).start()
print("holding", flush=True)
ctypes.CDLL(None).syscall({"x86_64": 60, "aarch64": 93}[os.uname().machine], 0)  # leader exits
"""


@pytest.mark.timeout(60)
@pytest.mark.skipif(os.uname().machine not in ("x86_64", "aarch64") or sys.platform != "linux",
                    reason="exits one thread with the raw exit syscall (Linux x86_64/aarch64)")
def test_the_run_lock_of_a_process_still_dying_is_waited_for_not_refused(tmp_path):
    """A killed process's main thread shows as a zombie (what job resumption calls dead)
    while its other threads still exit holding its files, and with them the index lock: a
    resumed index waits those moments out instead of failing with IndexBusyError (seen once
    under load in test_a_waiting_indexer_carries_on_when_the_first_one_is_killed)."""
    from core.indexer.lock import IndexLock
    from core.jobs.owner import process_gone
    path = tmp_path / "d.vdfs"
    core.Library.create(path).close()
    holder = subprocess.Popen([sys.executable, "-c", DYING_HOLDER, str(path)],
                              stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        assert holder.stdout.readline().strip() == "holding"
        deadline = time.monotonic() + 10
        while not process_gone(holder.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert process_gone(holder.pid) and holder.poll() is None   # a zombie leader, alive
        with core.Library.open(path) as lib:
            lock = IndexLock(lib, "resumed-job").acquire()
            lock.release()
        assert holder.poll() is not None or holder.wait(5) == 0
    finally:
        holder.kill()
        holder.wait()

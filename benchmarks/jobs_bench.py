"""Jobs benchmark: the runtime's overhead per task and per job, next to baselines in the same run.

    python benchmarks/jobs_bench.py [--tasks N] [--jobs M] [--repeat R]

Figures (medians of R runs):
- durable empty tasks/s: a job calling ctx.run(noop, i) N times — each completion is one
  INSERT into jobs.db (autocommit, WAL, synchronous=NORMAL). Baselines: calling noop directly,
  and N single-row autocommit INSERTs into the tasks table of a fresh jobs.db (the floor of any
  task that is durable when ctx.run returns).
- parallel empty tasks/s: ctx.map over N items with parallelism=4 (thread pool).
- replayed tasks/s: the same job resumed after every task completed (results read back).
- jobs/s: submit + wait of M empty jobs. Baseline: threading.Thread start + join.
- CPU-bound tasks/s: 8 pure-Python tasks with parallelism=2, thread vs process executor.
Never run by CI.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import core  # noqa: E402
from core.store import db  # noqa: E402
from core.jobs import register_job  # noqa: E402


def noop(i: int) -> int:
    return i


def seq_job(ctx, n: int) -> int:
    total = 0
    for i in range(n):
        total += ctx.run(noop, i)
    return total


def par_job(ctx, n: int) -> int:
    return sum(ctx.map(noop, range(n)))


def empty_job(ctx) -> None:
    return None


def burn(i: int) -> int:
    """CPU-bound pure Python (~50 ms): holds the GIL the whole time."""
    return sum(k * k for k in range(1_000_000 + i))


def cpu_job(ctx, n: int) -> int:
    return sum(ctx.map(burn, range(n)))


register_job("bench.seq", seq_job)
register_job("bench.par", par_job, parallelism=4)
register_job("bench.empty", empty_job)
register_job("bench.cpu_threads", cpu_job, parallelism=2)
register_job("bench.cpu_procs", cpu_job, parallelism=2, executor="process")


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench(lib: core.Library, n: int, m: int, tmp: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    out["direct calls/s"] = n / timed(lambda: [noop(i) for i in range(n)])

    # the floor: one autocommit INSERT per task into a fresh jobs.db's own tasks table
    floor_lib = core.Library.create(tmp / f"floor-{time.monotonic_ns()}.vdfs")
    conn = db.connect(floor_lib.jobs_db_path)
    jid = "00000000-0000-4000-8000-000000000000"
    conn.execute("INSERT INTO jobs (id, name, status, created_at, updated_at) "
                 "VALUES (?, 'floor', 'running', 'n', 'n')", (jid,))
    out["sqlite autocommit inserts/s (floor)"] = n / timed(lambda: [
        conn.execute("INSERT INTO tasks (job_id, key, name, status, attempts, result, "
                     "started_at, finished_at) VALUES (?, ?, 'noop', 'completed', 1, '1', "
                     "'2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')",
                     (jid, f"noop:0123456789abcdef#{i}")) for i in range(n)])
    conn.close()
    floor_lib.close()

    job_id = []

    def run_seq() -> None:
        j = lib.jobs.submit("bench.seq", {"n": n})
        j.wait()
        job_id.append(j.id)
    out["durable empty tasks/s"] = n / timed(run_seq)
    out["parallel empty tasks/s (map, 4 threads)"] = n / timed(
        lambda: lib.jobs.submit("bench.par", {"n": n}).wait())

    # replay: mark the finished job resumable again and run it; every task is already stored
    lib.jobs.store._exec("UPDATE jobs SET status='queued', owner=NULL WHERE id=?", (job_id[0],))
    out["replayed tasks/s"] = n / timed(lambda: lib.jobs.get(job_id[0]).resume().wait())

    out["jobs/s (submit + wait)"] = m / timed(
        lambda: [lib.jobs.submit("bench.empty").wait() for _ in range(m)])

    def thread_once() -> None:
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()
    out["thread start+join/s (baseline)"] = m / timed(lambda: [thread_once() for _ in range(m)])

    lib.jobs.submit("bench.cpu_procs", {"n": 2}).wait()        # start the worker processes
    out["cpu-bound tasks/s, 2 threads"] = 8 / timed(
        lambda: lib.jobs.submit("bench.cpu_threads", {"n": 8}).wait())
    out["cpu-bound tasks/s, 2 processes"] = 8 / timed(
        lambda: lib.jobs.submit("bench.cpu_procs", {"n": 8}).wait())
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=int, default=5000)
    ap.add_argument("--jobs", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        lib = core.Library.create(tmp / "bench.vdfs")
        runs = [bench(lib, args.tasks, args.jobs, tmp) for _ in range(args.repeat)]
        lib.close()
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    floor = med["sqlite autocommit inserts/s (floor)"]
    print(f"jobs benchmark: {args.tasks} tasks, {args.jobs} jobs, median of {args.repeat}")
    for k, v in med.items():
        ratio = f"{v / floor:6.2f}x floor" if "empty tasks/s" in k or "replayed" in k else ""
        print(f"  {k:42} {v:12,.0f}  {ratio}")
    print(f"  process executor speed-up on CPU-bound work: "
          f"{med['cpu-bound tasks/s, 2 processes'] / med['cpu-bound tasks/s, 2 threads']:.2f}x")
    per_job_ms = 1000 / med["jobs/s (submit + wait)"]
    print(f"  job overhead: {per_job_ms:.2f} ms per empty job; "
          f"{1e6 / med['durable empty tasks/s']:.0f} us per durable empty task")
    return 0


if __name__ == "__main__":
    sys.exit(main())

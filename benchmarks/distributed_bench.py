"""Distributed benchmark: a CPU-bound task set run by one local process, then spread over a
2-worker local Dask cluster, as a ratio measured in the same run, plus what a task costs.

    .venv/bin/python benchmarks/distributed_bench.py [--tasks 16] [--size 3000000] [--noop 200]

- "local": the job's tasks run in this process (the Local executor). Pure-Python work holds the
  GIL, so this is one core's worth whatever the thread count.
- "dask": the same job places its tasks (`device=ctx.select_device()`) on a LocalCluster of two
  worker processes (`core.devices.worker.start_cluster`, as `vdfs cluster` starts it), each
  registered as this device. Every result is still written to jobs.db by this process.
- Per-task overhead: a job of no-op tasks, local and on Dask, divided by its task count.
The results of both runs are compared: a distributed run that answered differently would be a
bug, not a speed-up. Needs the `distributed` extra. Run by hand or `make bench`, never by CI.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(HERE)]


def _timed(lib, job, args: dict) -> tuple[float, list]:
    t0 = time.perf_counter()
    out = lib.jobs.submit(job, args).wait(600)
    return time.perf_counter() - t0, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=int, default=16, help="CPU-bound tasks (default 16)")
    ap.add_argument("--size", type=int, default=3_000_000, help="loop steps per task")
    ap.add_argument("--noop", type=int, default=200, help="no-op tasks for the overhead figure")
    args = ap.parse_args(argv)
    # the workers import distributed_tasks by name, as they would an extension's module
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), str(HERE)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))
    import core
    from core.devices import detach, use_dask
    from core.devices.worker import start_cluster
    import distributed_tasks as t

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("VDFS_HOME", str(Path(tmp) / "home"))
        lib = core.Library.create(Path(tmp) / "bench.vdfs")
        try:
            spin = {"n_tasks": args.tasks, "size": args.size}
            _timed(lib, t.spin_job, {**spin, "n_tasks": 2, "placed": False})   # warm
            t_local, local = _timed(lib, t.spin_job, {**spin, "placed": False})
            n_local, _ = _timed(lib, t.nothing_job, {"n_tasks": args.noop, "placed": False})
            t0 = time.perf_counter()
            with start_cluster(2, threads_per_worker=1) as cluster:
                t_start = time.perf_counter() - t0
                use_dask(lib, cluster.scheduler_address)
                try:
                    _timed(lib, t.spin_job, {**spin, "n_tasks": 2, "placed": True})  # warm
                    t_dask, remote = _timed(lib, t.spin_job, {**spin, "placed": True})
                    n_dask, _ = _timed(lib, t.nothing_job, {"n_tasks": args.noop,
                                                            "placed": True})
                finally:
                    detach(lib)
        finally:
            lib.close()
    if remote != local:
        print("results differ between the local and the distributed run", file=sys.stderr)
        return 1
    cpus = os.cpu_count()
    print(f"{args.tasks} CPU-bound tasks of {args.size:,} pure-Python steps; {cpus} cores; "
          f"cluster started in {t_start:.1f} s (not counted)")
    print(f"{'run':<34}{'seconds':>9}{'per task':>11}{'ratio':>9}")
    print(f"{'local (this process)':<34}{t_local:>9.2f}{t_local / args.tasks * 1e3:>9.0f} ms"
          f"{1.0:>8.2f}x")
    print(f"{'dask, 2 worker processes':<34}{t_dask:>9.2f}{t_dask / args.tasks * 1e3:>9.0f} ms"
          f"{t_local / t_dask:>8.2f}x  (speed-up over local; same results)")
    print(f"per-task overhead ({args.noop} no-op tasks): local {n_local / args.noop * 1e3:.2f} ms, "
          f"dask {n_dask / args.noop * 1e3:.2f} ms "
          f"(+{(n_dask - n_local) / args.noop * 1e3:.2f} ms per task placed on the cluster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

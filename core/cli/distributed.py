"""`vdfs worker --scheduler tcp://HOST:PORT` and `vdfs cluster`: run vdfs tasks on Dask.

`worker` makes this machine a device of a Dask cluster: its capabilities become the worker's
resources, so the coordinator's tasks that need a GPU, a model or this machine's files land
here only when it can serve them. `cluster` starts a scheduler and local worker processes to
try distributed jobs on one machine; point a library at it with VDFS_SCHEDULER (printed).
Both need the `distributed` extra: pip install 'vdfs[distributed]'.
"""
from __future__ import annotations

import argparse
import time

from core.errors import VdfsError


def register(subparsers: argparse._SubParsersAction) -> None:
    w = subparsers.add_parser("worker", help="serve vdfs tasks as this device on a Dask cluster")
    w.add_argument("--scheduler", required=True, help="the scheduler, e.g. tcp://10.0.0.5:8786")
    w.add_argument("--nthreads", type=int, default=1, help="tasks at once (default 1)")
    w.add_argument("--name", default=None, help="worker name (default: device name and pid)")
    w.add_argument("--timeout", type=float, default=30.0,
                   help="seconds to reach the scheduler before giving up (default 30)")
    w.set_defaults(func=_worker)
    c = subparsers.add_parser("cluster", help="start a local Dask cluster to try distributed jobs")
    c.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    c.add_argument("--threads", type=int, default=1, help="threads per worker (default 1)")
    c.add_argument("--port", type=int, default=0, help="scheduler port (default: any free one)")
    c.set_defaults(func=_cluster)


def _need_dask() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise VdfsError("distributed execution needs Dask: pip install 'vdfs[distributed]'") \
            from None


def _worker(args: argparse.Namespace) -> int:
    _need_dask()
    from core.devices.worker import run_worker
    run_worker(args.scheduler, nthreads=args.nthreads, name=args.name, timeout=args.timeout)
    return 0


def _cluster(args: argparse.Namespace) -> int:
    _need_dask()
    from core.devices.worker import start_cluster
    with start_cluster(args.workers, threads_per_worker=args.threads, port=args.port) as cluster:
        workers = f"{args.workers} worker{'s' * (args.workers != 1)}"
        print(f"scheduler {cluster.scheduler_address} with {workers} "
              f"(this device); in another shell:\n"
              f"  export VDFS_SCHEDULER={cluster.scheduler_address}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("vdfs: cluster stopped")
    return 0

"""A real process for the crash tests: runs (or resumes) a durable job and can SIGKILL itself.

    python jobs_crash_worker.py LIBRARY start N      submit "crashtest.sum" over N items, wait
    python jobs_crash_worker.py LIBRARY startpar N   the same as a parallel map ("crashtest.par")
    python jobs_crash_worker.py LIBRARY resume       resume every pending job, wait, print results

VDFS_TEST_KILL="<point>:<item>" kills this process with SIGKILL at that point of that item:
in_task (inside the task body), after_task (task recorded, before the checkpoint),
after_checkpoint, or start (before any task). Every task execution appends "start KEY" and
"end KEY" to VDFS_TEST_LOG, so the test can count executions per task.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time

import core
from core.jobs import register_job, task

KILL = os.environ.get("VDFS_TEST_KILL", "")
LOG = os.environ.get("VDFS_TEST_LOG")
SLOW = float(os.environ.get("VDFS_TEST_SLOW", "0"))


def _maybe_die(point: str, item: int) -> None:
    if KILL == f"{point}:{item}":
        os.kill(os.getpid(), signal.SIGKILL)


def _log(line: str) -> None:
    if LOG:
        with open(LOG, "a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())


@task(retries=1)
def weigh(item: int) -> int:
    _log(f"start {item}")
    _maybe_die("in_task", item)
    if SLOW:
        time.sleep(SLOW)
    _log(f"end {item}")
    return item * item + 1


def crash_sum(ctx, n: int, every: int = 3) -> dict:
    state = ctx.state or {"next": 0, "acc": 0, "seen": []}
    if state["next"] == 0:
        _maybe_die("start", 0)
    acc, seen = state["acc"], list(state["seen"])
    for i in range(state["next"], n):
        acc += ctx.run(weigh, i)
        seen.append(i)
        _maybe_die("after_task", i)
        ctx.progress(i + 1, n)
        if (i + 1) % every == 0 or i + 1 == n:
            ctx.checkpoint({"next": i + 1, "acc": acc, "seen": seen})
            _maybe_die("after_checkpoint", i)
    return {"acc": acc, "seen": seen}


def crash_par(ctx, n: int) -> dict:
    """The same work as crash_sum, as one parallel map with explicit task keys."""
    values = ctx.map(weigh, range(n), keys=[f"item-{i}" for i in range(n)])
    return {"acc": sum(values), "seen": list(range(n))}


register_job("crashtest.sum", crash_sum)
register_job("crashtest.par", crash_par, parallelism=3)


def main(argv: list[str]) -> int:
    path, mode = argv[1], argv[2]
    lib = core.Library.open(path)
    if mode in ("start", "startpar"):
        name = "crashtest.sum" if mode == "start" else "crashtest.par"
        job = lib.jobs.submit(name, {"n": int(argv[3])})
        print(json.dumps({"id": job.id}), flush=True)
        print(json.dumps({"result": job.wait(60)}), flush=True)
    else:
        jobs = lib.jobs.resume_pending()
        print(json.dumps({"resumed": [j.id for j in jobs],
                          "results": [j.wait(60) for j in jobs]}), flush=True)
    lib.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

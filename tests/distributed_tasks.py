"""Tasks of tests/test_distributed.py: a module the Dask workers import by name (their
PYTHONPATH includes tests/), so the functions travel by reference, as an extension's would."""
from __future__ import annotations

import os
import time
from pathlib import Path

import blake3

from core.jobs import job, task
from core.store.device import current_device


@task()
def where_am_i(item: int) -> list:
    """(device name, item): which device ran it."""
    return [current_device()[1], item]


@task()
def size_here(path: str) -> list:
    """Reads the bytes, so it only works on the device that has them."""
    return [current_device()[1], len(Path(path).read_bytes())]


@task()
def slow_hash(item: int) -> str:
    time.sleep(0.3)
    return blake3.blake3(str(item).encode()).hexdigest()[:16]


@task()
def logged(pair: list) -> int:
    """Appends one line per execution, so a test counts how often each task really ran."""
    item, log = pair
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"{item} {os.getpid()}\n")
    return item * item


@task()
def slow_logged(pair: list) -> int:
    """Sleeps, then logs "end ITEM": one line per execution that ran to its end."""
    item, log = pair
    time.sleep(0.3)
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"end {item}\n")
    return item * item


@job(name="test.dist.coordinated", parallelism=4)
def coordinated(ctx, n: int, log: str) -> dict:
    out = ctx.map(slow_logged, [[i, log] for i in range(n)], device=ctx.select_device())
    return {"squares": out, "run": ctx.tasks_run, "replayed": ctx.tasks_replayed}


def main(argv: list[str]) -> None:
    """A coordinator process the test SIGKILLs: LIBRARY SCHEDULER N LOG. Started with
    `python -c` importing this module by name, so its tasks keep the names a resumer sees."""
    import core
    from core.devices import use_dask
    lib_path, scheduler, n, log = argv
    lib = core.Library.open(lib_path)
    use_dask(lib, scheduler)
    lib.jobs.submit(coordinated, {"n": int(n), "log": log}).wait(120)


@task(retries=1, backoff_ms=1)
def picky(ctx, item: int) -> list:
    """Fails on odd items (every attempt); reports the TaskContext a worker gives it."""
    if item % 2:
        raise ValueError(f"odd item {item}")
    return [ctx.key.split(":")[0], ctx.attempt, ctx.lib is None]

"""Tasks of distributed_bench.py, in a module of their own: Dask workers import it by name
(the bench puts benchmarks/ on their PYTHONPATH), as they would an extension's tasks."""
from __future__ import annotations

from core.jobs import job, task


@task()
def spin(n: int) -> int:
    """CPU-bound pure Python (holds the GIL): what one process cannot run twice at once."""
    total = 0
    for i in range(n):
        total = (total + i * i) % 1_000_003
    return total


@task()
def nothing(i: int) -> int:
    """No work: what a task costs the engine itself."""
    return i


@job(name="bench.dist.spin", parallelism=2)
def spin_job(ctx, n_tasks: int, size: int, placed: bool) -> list:
    where = ctx.select_device() if placed else None
    return ctx.map(spin, [size] * n_tasks, device=where)


@job(name="bench.dist.nothing", parallelism=2)
def nothing_job(ctx, n_tasks: int, placed: bool) -> list:
    where = ctx.select_device() if placed else None
    return ctx.map(nothing, list(range(n_tasks)), device=where)

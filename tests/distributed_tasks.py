"""Tasks of tests/test_distributed.py: a module the Dask workers import by name (their
PYTHONPATH includes tests/), so the functions travel by reference, as an extension's would."""
from __future__ import annotations

import os
import time
from pathlib import Path

import blake3

from core.jobs import task
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

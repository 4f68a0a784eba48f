"""Run code that must not block on a FIFO, and unblock it (then fail) when it does."""
from __future__ import annotations

import os
import threading
from typing import Any, Callable


def run_beside_fifo(fn: Callable[[], Any], fifo: os.PathLike[str], timeout: float = 3.0) -> Any:
    """fn()'s result; AssertionError when fn is still running after `timeout` (a read-open
    of `fifo` without a writer waits forever, so the test opens the write end to free it)."""
    out: list[Any] = []
    t = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        t.join(timeout)
        raise AssertionError(f"blocked opening the FIFO {fifo}")
    return out[0]

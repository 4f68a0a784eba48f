"""Hash ahead: while processing writes entries, the idle hash workers already hash the files
those entries will need, so the content phase finds most hashes ready and mostly writes.

This is a cache, not a phase: results live in memory only, keyed by what the request named
(an entry id, or the path of a file not written yet) and checked against the size stored. After
a crash they are gone and the content phase simply hashes again, so crash safety is unchanged.
New files are sent right after the walk, so processing can wait for their hashes (`wait`) and
write each new file's row once, with its content identity.
"""
from __future__ import annotations

import queue
import threading

from .hashing import Item, Result

CHUNK = 4096     # files per request: results arrive steadily and stopping waits little


class Prefetcher:
    def __init__(self, pool: list) -> None:
        self._pool = pool
        self._queue: queue.Queue[list[Item] | None] = queue.Queue()
        self._stopping = False
        self.results: dict[int, tuple[int, Result]] = {}   # entry id -> (size, result)
        self.error: BaseException | None = None
        self._done = 0                   # items hashed so far, in the order they were sent
        self._progress = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="vdfs-index-prefetch",
                                        daemon=True)
        self._thread.start()

    def submit(self, items: list[Item]) -> None:
        """Queue files (entry id, path, size, ext) whose rows are committed."""
        for i in range(0, len(items), CHUNK):
            self._queue.put(items[i:i + CHUNK])

    def _run(self) -> None:
        n = len(self._pool)
        while not self._stopping:
            items = self._queue.get()
            if items is None or self._stopping:
                return
            step = -(-len(items) // n)
            parts = [items[i:i + step] for i in range(0, len(items), step)]
            try:
                for worker, part in zip(self._pool, parts):
                    worker.send(part)
                for worker, part in zip(self._pool, parts):
                    done, _ = worker.receive()
                    sizes = {item[0]: item[2] for item in part}
                    for result in done:
                        self.results[result[0]] = (sizes[result[0]], result)
            except BaseException as exc:   # workers killed (job stopped): give up quietly
                self.error = exc
                with self._progress:
                    self._progress.notify_all()
                return
            with self._progress:
                self._done += len(items)
                self._progress.notify_all()

    def wait(self, n: int) -> None:
        """Return once the first `n` items sent are hashed (or the prefetcher stopped)."""
        with self._progress:
            while self._done < n and self.error is None and not self._stopping:
                self._progress.wait(0.5)

    def hashed_by(self, n: int) -> bool:
        """Whether the first `n` items sent are hashed (never waits)."""
        return self._done >= n or self.error is not None or self._stopping

    def stop(self) -> None:
        """Ask the thread to stop without waiting (the caller then closes the workers)."""
        self._stopping = True
        self._queue.put(None)
        with self._progress:
            self._progress.notify_all()

    def finish(self) -> dict[int, tuple[int, Result]]:
        """Stop after the request in flight (what is still queued is hashed later, by the
        content phase) and hand over the results; the workers are free again after this."""
        self.stop()
        self._thread.join()
        return self.results

"""A helper process for content identification (HashWorker starts it).

It reads batches (length-prefixed pickles) on stdin and answers with their hash results on
stdout. A plain subprocess rather than multiprocessing: spawn and forkserver re-import the
user's __main__, which breaks scripts without a main guard, and fork from a threaded process
is unsafe. When the parent dies, stdin closes and the worker exits.
"""
from __future__ import annotations

import os
import time

from core.errors import VdfsError
from .hashing import Item, Result, hash_batch


def _read_frame(stream) -> bytes | None:
    head = stream.read(8)
    if len(head) < 8:
        return None
    n = int.from_bytes(head, "little")
    data = stream.read(n)
    return data if len(data) == n else None


def _write_frame(stream, data: bytes) -> None:
    stream.write(len(data).to_bytes(8, "little"))
    stream.write(data)
    stream.flush()


class HashWorkerError(VdfsError):
    """A hashing helper process died mid-batch."""


class HashWorker:
    """One helper process that hashes whole batches sent to it (one batch in flight)."""

    def __init__(self) -> None:
        import subprocess
        import sys
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH")
                                    else "")
        # its own process group: a terminal's Ctrl-C goes to the indexer, which stops the
        # job at a checkpoint and closes this pipe, not to a helper that would die mid-batch
        # not `-m core.indexer.hashworker`: the package imports this module first, and runpy
        # then warns about it on the terminal of every index
        self.proc = subprocess.Popen([sys.executable, "-c",
                                      "from core.indexer.hashworker import serve; serve()"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                     process_group=0)

    in_flight = False

    def send(self, items: list[Item]) -> None:
        import pickle
        try:
            _write_frame(self.proc.stdin, pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL))
        except (BrokenPipeError, ValueError) as exc:   # it died; ValueError: pipe closed
            raise self._died() from exc
        self.in_flight = True

    def receive(self) -> tuple[list[Result], float]:
        """The results of the batch sent, and the seconds the worker spent hashing it."""
        import pickle
        data = _read_frame(self.proc.stdout)
        if data is None:
            raise self._died()
        self.in_flight = False
        return pickle.loads(data)

    def _died(self) -> "HashWorkerError":
        """Killed (out of memory, say): the job fails clearly, and resumes when run again."""
        try:
            code = self.proc.wait(timeout=5)
        except Exception:
            code = self.proc.poll()
        return HashWorkerError(f"a hashing process exited unexpectedly (code {code}); "
                               "index again to carry on")

    def close(self) -> None:
        if self.in_flight:          # stopped mid-batch (pause, cancel, error): nobody reads it
            self.proc.kill()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


def serve() -> None:
    """The helper's loop: hash each batch read on stdin, answer on stdout."""
    import pickle
    import sys
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    while True:
        data = _read_frame(inp)
        if data is None:     # parent closed the pipe (or died): stop
            return
        t0 = time.perf_counter()
        results = hash_batch(pickle.loads(data))
        elapsed = time.perf_counter() - t0
        try:
            _write_frame(out, pickle.dumps((results, elapsed), protocol=pickle.HIGHEST_PROTOCOL))
        except BrokenPipeError:   # the parent stopped reading (interrupted): nothing to say
            return


if __name__ == "__main__":
    serve()

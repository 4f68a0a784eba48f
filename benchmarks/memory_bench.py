"""Associative memory benchmark: the in-memory incremental index vs the former rebuild-and-scan.

    python benchmarks/memory_bench.py [--vectors 100000] [--dim 128] [--repeat 20]

Both search exactly (no approximate-nearest-neighbour package ships with vdfs: hnswlib, usearch,
faiss and DuckDB's vss are not dependencies), so both return the same neighbours. They differ in
what a write costs the next search:
  - scan: the former AssociativeMemory, reproduced here: any write drops the cached matrix, and
    the next search reads every vector back from SQLite, stacks and normalises them, scores all
    rows and fully sorts the scores;
  - index: AssociativeMemory now: each write updates one row of a contiguous float32 matrix in
    the same transaction that bumps a generation counter; a search scores all rows and keeps the
    top k with a partial sort.
Printed: the first search after opening (both load everything), a warm search, and the agent's
pattern "add one face, then search" (and "remove one, then search"), medians in milliseconds.
Never run by CI.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.agents import AssociativeMemory, agent_memory, close_memory, open_memory  # noqa: E402


@agent_memory
class Mind:
    faces: AssociativeMemory


class ScanMemory:
    """The former search: rebuild the normalised matrix from SQLite after every write."""

    def __init__(self, path: Path, field: str = "faces"):
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.field = field
        self.cache: tuple[list[str], np.ndarray, list] | None = None

    def add(self, key: str, vec: np.ndarray) -> None:
        self.conn.execute("INSERT OR REPLACE INTO associative (field, key, vector, dim, data, device, "
                          "updated_at) VALUES (?,?,?,?,?,?,?)",
                          (self.field, key, vec.astype(np.float32).tobytes(), vec.size, "null", "d", ""))
        self.cache = None

    def remove(self, key: str) -> None:
        self.conn.execute("DELETE FROM associative WHERE field = ? AND key = ?", (self.field, key))
        self.cache = None

    def query_similar(self, q: np.ndarray, k: int) -> list[tuple[str, float]]:
        if self.cache is None:
            rows = self.conn.execute("SELECT key, vector, data FROM associative WHERE field = ? "
                                     "ORDER BY key", (self.field,)).fetchall()
            mat = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
            norms = np.linalg.norm(mat, axis=1, keepdims=True)
            self.cache = ([r[0] for r in rows], mat / np.where(norms == 0, 1, norms),
                          [json.loads(r[2]) for r in rows])
        keys, mat, _ = self.cache
        scores = mat @ (q / np.linalg.norm(q))
        order = np.argsort(-scores, kind="stable")[:k]
        return [(keys[i], float(scores[i])) for i in order]


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vectors", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("-k", type=int, default=10)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((a.vectors, a.dim)).astype(np.float32)
    queries = rng.standard_normal((a.repeat, a.dim)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.db"
        mind = open_memory(Mind, path, "d")
        mind.faces.add("seed", vecs[0])             # creates the field and its generation
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN")
        conn.executemany("INSERT OR REPLACE INTO associative (field, key, vector, dim, data, device, "
                         "updated_at) VALUES ('faces', ?, ?, ?, 'null', 'd', '')",
                         ((f"k{i:07d}", v.tobytes(), a.dim) for i, v in enumerate(vecs)))
        conn.execute("UPDATE associative_generation SET gen = gen + 1 WHERE field = 'faces'")
        conn.execute("COMMIT")
        conn.close()
        close_memory(mind)

        index = open_memory(Mind, path, "d").faces
        scan = ScanMemory(path)
        it = iter(range(10 ** 9))
        results = {}
        for name, mem in (("scan", scan), ("index", index)):
            t0 = time.perf_counter()
            mem.query_similar(queries[0], a.k)
            first = (time.perf_counter() - t0) * 1000
            warm = median_ms(lambda: mem.query_similar(queries[next(it) % a.repeat], a.k), a.repeat)
            add = median_ms(lambda: (mem.add(f"new{next(it)}", vecs[next(it) % a.vectors]),
                                     mem.query_similar(queries[0], a.k)), a.repeat)
            rem = median_ms(lambda: (mem.remove(f"k{next(it) % a.vectors:07d}"),
                                     mem.query_similar(queries[0], a.k)), a.repeat)
            results[name] = (first, warm, add, rem)
        same = [k for k, *_ in scan.query_similar(queries[1], a.k)] == \
            [k for k, *_ in index.query_similar(queries[1], a.k)]
    print(f"{a.vectors} vectors × {a.dim} dims, k={a.k}, medians of {a.repeat} (ms); "
          f"same neighbours: {same}")
    print(f"{'':8}{'first search':>14}{'warm search':>14}{'add+search':>14}{'remove+search':>15}")
    for name, (first, warm, add, rem) in results.items():
        print(f"{name:8}{first:14.1f}{warm:14.2f}{add:14.2f}{rem:15.2f}")
    s, i = results["scan"], results["index"]
    print(f"{'speed-up':8}{s[0] / i[0]:13.1f}×{s[1] / i[1]:13.1f}×{s[2] / i[2]:13.1f}×"
          f"{s[3] / i[3]:14.1f}×")


if __name__ == "__main__":
    main()

"""Associative memory benchmark: the in-memory incremental index vs the former rebuild-and-scan.

    python benchmarks/memory_bench.py [--vectors 100000] [--dim 128] [--repeat 20]
    python benchmarks/memory_bench.py --backends [--vectors 100000] [--queries 200]
                                         [--data faces|uniform] [--only usearch,hnswlib]

Both search exactly here (the index's HNSW graph waits for n/8 searches, see --backends), so
both return the same neighbours. They differ in what a write costs the next search:
  - scan: the former AssociativeMemory, reproduced here: any write drops the cached matrix, and
    the next search reads every vector back from SQLite, stacks and normalises them, scores all
    rows and fully sorts the scores;
  - index: AssociativeMemory now: each write updates one row of a contiguous float32 matrix in
    the same transaction that bumps a generation counter; a search scores all rows and keeps the
    top k with a partial sort.
Printed: the first search after opening (both load everything), a warm search, and the agent's
pattern "add one face, then search" (and "remove one, then search"), medians in milliseconds.

`--backends` compares the vector indexes that install from PyPI (each skipped when absent) with
the exact scan on the same unit float32 vectors, one thread each: build time, median latency of
one k-nearest query, and recall@k against the exact answer — raw, and after the exact rerank of
the top RERANK·k candidates that AssociativeMemory applies to an approximate index.
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
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.agents import AssociativeMemory, agent_memory, close_memory, open_memory  # noqa: E402
from core.agents.vector_index import VectorIndex  # noqa: E402


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


RERANK = 4


def _exact(mat: np.ndarray) -> Any:
    index = VectorIndex(mat.shape[1])
    index.bulk([str(i) for i in range(len(mat))], mat, [None] * len(mat))
    return lambda q, n: [int(key) for key, _, _ in index.search(q, n)]


def _usearch(mat: np.ndarray) -> Any:
    from usearch.index import Index

    from core.agents import ann            # the parameters AssociativeMemory's graph uses
    index = Index(ndim=mat.shape[1], metric="cos", dtype="f32", connectivity=ann.CONNECTIVITY,
                  expansion_add=ann.EXPANSION_ADD, expansion_search=ann.EXPANSION_SEARCH)
    index.add(np.arange(len(mat), dtype=np.uint64), mat, threads=1)
    return lambda q, n: index.search(q, n, threads=1).keys


def _hnswlib(mat: np.ndarray) -> Any:
    import hnswlib
    index = hnswlib.Index(space="cosine", dim=mat.shape[1])
    index.init_index(max_elements=len(mat), ef_construction=128, M=16)
    index.set_num_threads(1)
    index.add_items(mat, np.arange(len(mat)))
    index.set_ef(64)
    return lambda q, n: index.knn_query(q, k=n)[0][0]


def _faiss_hnsw(mat: np.ndarray) -> Any:
    import faiss
    faiss.omp_set_num_threads(1)
    index = faiss.IndexHNSWFlat(mat.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 128
    index.add(mat)
    index.hnsw.efSearch = 64
    return lambda q, n: index.search(q[None, :], n)[1][0]


def _sqlite_vec(mat: np.ndarray) -> Any:
    import sqlite_vec
    conn = sqlite3.connect(":memory:")
    if not hasattr(conn, "enable_load_extension"):
        raise ImportError("this Python's sqlite3 cannot load extensions")
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    conn.execute(f"CREATE VIRTUAL TABLE v USING vec0(e float[{mat.shape[1]}] distance_metric=cosine)")
    conn.executemany("INSERT INTO v(rowid, e) VALUES (?, ?)",
                     ((i, row.tobytes()) for i, row in enumerate(mat)))
    sql = "SELECT rowid FROM v WHERE e MATCH ? AND k = ? ORDER BY distance"
    return lambda q, n: [r[0] for r in conn.execute(sql, (q.tobytes(), int(n)))]


BACKENDS = {"exact scan (numpy)": _exact, "usearch (as used)": _usearch, "hnswlib": _hnswlib,
            "faiss-cpu HNSW": _faiss_hnsw, "sqlite-vec": _sqlite_vec}


def _unit_rows(a: np.ndarray) -> np.ndarray:
    return (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32)


def face_like(rng: np.random.Generator, n: int, dim: int, n_queries: int, per_person: int = 20
              ) -> tuple[np.ndarray, np.ndarray]:
    """Vectors shaped like face embeddings: n / per_person people, each photographed
    per_person times (centre + noise); queries are new photos of known people."""
    centres = _unit_rows(rng.standard_normal((max(1, n // per_person), dim)))
    noise = 0.6 / np.sqrt(dim)
    mat = _unit_rows(centres[np.arange(n) % len(centres)]
                     + noise * rng.standard_normal((n, dim)))
    queries = _unit_rows(centres[rng.integers(0, len(centres), n_queries)]
                         + noise * rng.standard_normal((n_queries, dim)))
    return mat, queries


def uniform(rng: np.random.Generator, n: int, dim: int, n_queries: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian noise: the hardest case, where a query's 10 nearest are barely nearer than
    the rest (queries are stored vectors plus noise)."""
    mat = _unit_rows(rng.standard_normal((n, dim)))
    queries = _unit_rows(mat[rng.integers(0, n, n_queries)]
                         + 0.5 / np.sqrt(dim) * rng.standard_normal((n_queries, dim)))
    return mat, queries


def compare_backends(n: int, dim: int, n_queries: int, k: int, data: str = "faces",
                     only: str | None = None) -> None:
    make_data = face_like if data == "faces" else uniform
    mat, queries = make_data(np.random.default_rng(0), n, dim, n_queries)
    truth = [set(np.argsort(-(mat @ q))[:k].tolist()) for q in queries]
    print(f"{n} vectors × {dim} dims ({data}), k={k}, {n_queries} queries, one thread")
    print(f"{'backend':22}{'build s':>9}{'query ms':>10}{'recall@k':>10}"
          f"{f'{RERANK}k+rerank':>12}{'recall@k':>10}")
    for name, make in BACKENDS.items():
        if only and not any(o.strip() and o.strip() in name for o in only.split(",")):
            continue
        try:
            t0 = time.perf_counter()
            search = make(mat)
        except ImportError as e:
            print(f"{name:22}  not usable: {e}")
            continue
        build = time.perf_counter() - t0
        lat, lat_rr, raw, rer = [], [], 0, 0
        for q, want in zip(queries, truth):
            t0 = time.perf_counter()
            raw += len(want & {int(i) for i in search(q, k)})
            lat.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            cand = np.asarray([int(i) for i in search(q, RERANK * k)], dtype=np.int64)
            best = cand[np.argsort(-(mat[cand] @ q))[:k]]
            lat_rr.append(time.perf_counter() - t0)
            rer += len(want & set(best.tolist()))
        total = k * len(queries)
        print(f"{name:22}{build:9.2f}{statistics.median(lat) * 1000:10.3f}{raw / total:10.3f}"
              f"{statistics.median(lat_rr) * 1000:12.3f}{rer / total:10.3f}")


if __name__ == "__main__":
    if "--backends" in sys.argv:
        ap = argparse.ArgumentParser()
        ap.add_argument("--backends", action="store_true")
        ap.add_argument("--vectors", type=int, default=100_000)
        ap.add_argument("--dim", type=int, default=128)
        ap.add_argument("--queries", type=int, default=200)
        ap.add_argument("-k", type=int, default=10)
        ap.add_argument("--data", choices=["faces", "uniform"], default="faces")
        ap.add_argument("--only", help="comma-separated backend names (default: all)")
        a = ap.parse_args()
        compare_backends(a.vectors, a.dim, a.queries, a.k, a.data, a.only)
    else:
        main()

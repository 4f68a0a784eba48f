"""A cosine index over unit float32 rows kept in one contiguous matrix, updated in place.

Small indexes are searched exactly: one matrix-vector product and an O(n) partial sort. From
ANN_MIN items on, when usearch is installed, an HNSW graph (core.agents.ann) proposes the
RERANK·k nearest candidates and those are scored exactly against the matrix, so scores are exact
and the answer is the exact top k whenever the graph's candidates hold it (recall measured by
benchmarks/memory_bench.py --backends). Without usearch every search is the exact scan.

Building the graph costs far more than one scan (100k × 128-d: ~45 s on one loaded core against
~3 ms a scan, ~0.3 ms a graph search), so it is built only once the index has served
WARMUP · n exact searches — when the scans have already cost a fair share of the build — and
from then on follows each add and remove. An agent that opens its memory for one lookup never
pays for a graph.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import ann

ANN_MIN = 20_000      # below this an exact scan takes about a millisecond: no graph needed
RERANK = 4            # graph candidates per requested neighbour, rescored exactly
WARMUP = 0.125        # exact searches per item before the graph is built


class VectorIndex:
    """key → (unit vector, data). Not thread-safe: its owner holds a lock around each call."""

    def __init__(self, dim: int, capacity: int = 64, ann_min: int | None = ANN_MIN,
                 warmup: float = WARMUP):
        """`ann_min`: the size from which searches may go through the graph (None: never);
        `warmup`: exact searches per item before the graph is built."""
        self.dim = dim
        self.ann_min = ann_min if ann.available() else None
        self.warmup = warmup
        self.scans = 0                   # exact searches served since the last bulk load
        self._graph: ann.AnnGraph | None = None
        self.graph_searches = 0          # searches the graph answered (the rest were scans)
        self._mat = np.zeros((max(1, capacity), dim), np.float32)
        self._keys: list[str] = []
        self._data: list[Any] = []
        self._row: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._keys)

    @staticmethod
    def unit(vector: np.ndarray) -> np.ndarray:
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    def put(self, key: str, vector: np.ndarray, data: Any) -> None:
        """Add or replace one item."""
        row = self._row.get(key)
        if row is None:
            row = len(self._keys)
            if row == len(self._mat):
                grown = np.zeros((2 * len(self._mat), self.dim), np.float32)
                grown[:row] = self._mat[:row]
                self._mat = grown
            self._keys.append(key)
            self._data.append(data)
            self._row[key] = row
        else:
            self._data[row] = data
        self._mat[row] = self.unit(np.asarray(vector, np.float32))
        if self._graph is not None:
            self._graph.put(key, self._mat[row])

    def bulk(self, keys: list[str], vectors: np.ndarray, data: list[Any]) -> None:
        """Load many items at once (an empty index, filled from storage)."""
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self._mat = np.ascontiguousarray(vectors / np.where(norms == 0, 1, norms), np.float32)
        self._keys, self._data = list(keys), list(data)
        self._row = {k: i for i, k in enumerate(keys)}
        self._graph, self.scans = None, 0

    def remove(self, key: str) -> bool:
        """Drop one item; the last row moves into its place."""
        row = self._row.pop(key, None)
        if row is None:
            return False
        if self._graph is not None:
            self._graph.remove(key)
        last = len(self._keys) - 1
        if row != last:
            self._mat[row] = self._mat[last]
            self._keys[row], self._data[row] = self._keys[last], self._data[last]
            self._row[self._keys[row]] = row
        self._keys.pop()
        self._data.pop()
        return True

    def search(self, query: np.ndarray, k: int) -> list[tuple[str, float, Any]]:
        """The k best (key, cosine, data), best first; equal scores in key order."""
        n = len(self._keys)
        if n == 0 or k <= 0:
            return []
        q = self.unit(np.asarray(query, np.float32))
        if self.ann_min is not None and n >= self.ann_min and k < n and (
                self._graph is not None or self.scans >= self.warmup * n):
            found = self._graph_search(q, k)
            if found is not None:
                return found
        self.scans += 1
        scores = self._mat[:n] @ q
        if k < n:
            # everything scoring at least the k-th best, so ties at the edge are decided by key
            kth = np.partition(scores, n - k)[n - k]
            cand = np.flatnonzero(scores >= kth)
        else:
            cand = np.arange(n)
        return self._ranked(cand, scores[cand], k)

    def _graph_search(self, q: np.ndarray, k: int) -> list[tuple[str, float, Any]] | None:
        """The exact top k of the graph's RERANK·k candidates, or None (scan instead) when the
        graph returns fewer than k."""
        if self._graph is None:
            n = len(self._keys)
            self._graph = ann.AnnGraph(self.dim)
            self._graph.add_many(self._keys, self._mat[:n])
        rows = np.fromiter((self._row[key] for key in self._graph.candidates(q, RERANK * k)),
                           dtype=np.int64)
        if len(rows) < k:
            return None
        self.graph_searches += 1
        return self._ranked(rows, self._mat[rows] @ q, k)

    def _ranked(self, rows: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[str, float, Any]]:
        best = sorted(zip(rows.tolist(), scores.tolist()), key=lambda r: (-r[1], self._keys[r[0]]))
        return [(self._keys[i], float(s), self._data[i]) for i, s in best[:k]]

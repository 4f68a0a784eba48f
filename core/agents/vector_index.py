"""An exact cosine index over unit float32 rows kept in one contiguous matrix, updated in place.

No approximate-nearest-neighbour package (hnswlib, usearch, faiss, DuckDB's vss) ships with
vdfs, so search stays exact: one matrix-vector product over the rows and an O(n) partial sort
for the top k. What makes it an index rather than a scan of the database is that the matrix
lives in memory and each add or remove touches one row (amortised O(dim)), instead of reading
every vector back from SQLite and re-stacking them after each write.
"""
from __future__ import annotations

from typing import Any

import numpy as np


class VectorIndex:
    """key → (unit vector, data). Not thread-safe: its owner holds a lock around each call."""

    def __init__(self, dim: int, capacity: int = 64):
        self.dim = dim
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

    def bulk(self, keys: list[str], vectors: np.ndarray, data: list[Any]) -> None:
        """Load many items at once (an empty index, filled from storage)."""
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self._mat = np.ascontiguousarray(vectors / np.where(norms == 0, 1, norms), np.float32)
        self._keys, self._data = list(keys), list(data)
        self._row = {k: i for i, k in enumerate(keys)}

    def remove(self, key: str) -> bool:
        """Drop one item; the last row moves into its place."""
        row = self._row.pop(key, None)
        if row is None:
            return False
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
        scores = self._mat[:n] @ self.unit(np.asarray(query, np.float32))
        if k < n:
            # everything scoring at least the k-th best, so ties at the edge are decided by key
            kth = np.partition(scores, n - k)[n - k]
            cand = np.flatnonzero(scores >= kth)
        else:
            cand = np.arange(n)
        best = sorted(cand.tolist(), key=lambda i: (-scores[i], self._keys[i]))[:k]
        return [(self._keys[i], float(scores[i]), self._data[i]) for i in best]

"""The approximate-nearest-neighbour graph behind a large VectorIndex: usearch's HNSW (a wheel on
PyPI for every platform, with removal), chosen by measurement (benchmarks/memory_bench.py
--backends). Absent the package, `available()` is False and VectorIndex scans exactly.

Labels are stable integers, one per key, never reused: a replaced or removed key's old label is
removed from the graph, so a search never returns a key that is gone.
"""
from __future__ import annotations

from typing import Any

import numpy as np

CONNECTIVITY = 16
EXPANSION_ADD = 64
EXPANSION_SEARCH = 64


def available() -> bool:
    try:
        import usearch.index  # noqa: F401
    except ImportError:
        return False
    return True


class AnnGraph:
    """key → label → graph node. Vectors given are unit float32; the metric is cosine."""

    def __init__(self, dim: int):
        from usearch.index import Index
        self._index: Any = Index(ndim=dim, metric="cos", dtype="f32", connectivity=CONNECTIVITY,
                                 expansion_add=EXPANSION_ADD, expansion_search=EXPANSION_SEARCH)
        self._label: dict[str, int] = {}
        self._key: dict[int, str] = {}
        self._next = 0

    def __len__(self) -> int:
        return len(self._label)

    def add_many(self, keys: list[str], vectors: np.ndarray) -> None:
        labels = np.arange(self._next, self._next + len(keys), dtype=np.uint64)
        for key, label in zip(keys, labels.tolist()):
            self._drop(key)
            self._label[key], self._key[label] = label, key
        self._next += len(keys)
        if len(keys):
            self._index.add(labels, np.ascontiguousarray(vectors, np.float32))

    def put(self, key: str, vector: np.ndarray) -> None:
        self.add_many([key], vector[None, :])

    def remove(self, key: str) -> None:
        self._drop(key)

    def _drop(self, key: str) -> None:
        label = self._label.pop(key, None)
        if label is not None:
            del self._key[label]
            self._index.remove(label)

    def candidates(self, query: np.ndarray, count: int) -> list[str]:
        """Up to `count` keys near `query`, by the graph (approximate)."""
        found = self._index.search(np.ascontiguousarray(query, np.float32), count)
        return [self._key[int(label)] for label in found.keys if int(label) in self._key]

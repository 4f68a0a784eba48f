"""Associative memory: the in-memory index equals a brute-force scan after any sequence of
writes (through this object or another on the same file), and query_similar_faces."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from core.agents import AssociativeMemory, WorkingMemory, agent_memory, sync
from core.agents.memory import MemoryError_, close_memory, face_embeddings, open_memory


@agent_memory
class PhotosMind:
    knowledge: AssociativeMemory["FaceGraph"] = sync("shared")  # noqa: F821 - generic parameter
    plan: WorkingMemory = sync("device_owned")


def test_query_similar_faces_takes_faces_in_any_documented_shape(tmp_path):
    mind = open_memory(PhotosMind, tmp_path / "m.db", "d")
    mind.knowledge.add("ann", [1, 0, 0])
    mind.knowledge.add("bob", [0, 1, 0])
    face = {"score": 0.9, "embedding": [0.1, 1, 0]}
    assert [k for k, _, _ in mind.knowledge.query_similar_faces([0.1, 1, 0], k=1)] == ["bob"]
    assert [k for k, _, _ in mind.knowledge.query_similar_faces({"faces": [face]}, k=1)] == ["bob"]
    both = mind.knowledge.query_similar_faces([face, {"embedding": [1, 0.2, 0]}], k=5,
                                              min_score=0.9)
    assert [k for k, _, _ in both] == ["ann", "bob"] or [k for k, _, _ in both] == ["bob", "ann"]
    assert len({k for k, _, _ in both}) == 2                      # each person once
    assert mind.knowledge.query_similar_faces({"gps": {"lat": 1.0}}) == []   # bare EXIF
    assert mind.knowledge.query_similar_faces(None) == []
    assert len(face_embeddings(np.eye(3))) == 3
    with pytest.raises(MemoryError_, match="list of numbers"):
        mind.knowledge.query_similar_faces({"embedding": ["x", None]})
    close_memory(mind)


# ---- the in-memory index stays equal to a brute-force scan of what is stored -----------------
_ops = st.lists(st.tuples(st.sampled_from(["add", "remove"]), st.integers(0, 6),
                          st.lists(st.integers(-3, 3), min_size=3, max_size=3)
                          .filter(lambda v: any(v))), min_size=1, max_size=25)


@settings(max_examples=30, deadline=None)
@given(_ops, st.lists(st.integers(-3, 3), min_size=3, max_size=3).filter(lambda v: any(v)))
def test_incremental_index_matches_a_scan_after_any_writes(tmp_path_factory, ops, query):
    path = tmp_path_factory.mktemp("m") / "m.db"
    mind, other = open_memory(PhotosMind, path, "d"), open_memory(PhotosMind, path, "d")
    model: dict[str, np.ndarray] = {}
    for i, (op, key, vec) in enumerate(ops):
        writer = mind if i % 3 else other          # writes through another object, too
        if op == "add":
            writer.knowledge.add(f"k{key}", vec, {"i": i})
            model[f"k{key}"] = np.asarray(vec, np.float64)
        else:
            assert writer.knowledge.remove(f"k{key}") == (f"k{key}" in model)
            model.pop(f"k{key}", None)
        q = np.asarray(query, np.float64)
        want = sorted(((-(v @ q) / (np.linalg.norm(v) * np.linalg.norm(q)), k)
                       for k, v in model.items()))[:4]
        got = mind.knowledge.query_similar(query, k=4)
        assert len(got) == len(want)       # float32 vs float64: equal scores, ties in any order
        assert np.allclose([s for _, s, _ in got], [-s for s, _ in want], atol=1e-5)
    close_memory(mind)
    close_memory(other)

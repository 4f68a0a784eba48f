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


# ---- the HNSW graph (usearch) answers large searches, rescored exactly -----------------------
def _people(n: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n face-like vectors of n // 10 people (centre + noise), and one new photo of each."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n // 10, dim))
    vecs = centres[np.arange(n) % len(centres)] + 0.1 * rng.standard_normal((n, dim))
    return vecs.astype(np.float32), (centres + 0.1 * rng.standard_normal(centres.shape))


def test_a_large_index_searches_through_the_graph_and_matches_the_scan():
    from core.agents import ann
    from core.agents.vector_index import ANN_MIN, VectorIndex
    if not ann.available():
        pytest.skip("usearch is not installed (the exact scan is the fallback)")
    assert VectorIndex(4).ann_min == ANN_MIN
    vecs, queries = _people(3000, 32)
    graph, scan = VectorIndex(32, ann_min=1000, warmup=0.01), VectorIndex(32, ann_min=None)
    for index in (graph, scan):
        index.bulk([f"f{i:05d}" for i in range(len(vecs))], vecs, list(range(len(vecs))))
    found = 0
    for q in queries[:80]:
        got, want = graph.search(q, 10), scan.search(q, 10)
        unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
        exact = [float(unit[data] @ (q / np.linalg.norm(q))) for _, _, data in got]
        assert len(got) == 10 and np.allclose([s for _, s, _ in got], exact, atol=1e-5)
        found += len({key for key, _, _ in got} & {key for key, _, _ in want})
    assert found >= 0.95 * 800                 # recall@10 (approximate; usually 1.0)
    # the first 30 searches (warm-up: 0.01 per item) scan, the graph answers the rest
    assert (graph.scans, graph.graph_searches, scan.graph_searches) == (30, 50, 0)
    # writes reach the graph: a removed face is never returned, a moved one is found where it is
    top = graph.search(queries[0], 1)[0][0]
    graph.remove(top)
    scan.remove(top)
    graph.put("f00001", queries[0], "moved")
    scan.put("f00001", queries[0], "moved")
    got = graph.search(queries[0], 10)
    assert got[0][0] == "f00001" and got[0][1] == pytest.approx(1.0) and got[0][2] == "moved"
    assert top not in {key for key, _, _ in got} and graph.graph_searches == 52 and graph.scans == 30


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 40)), min_size=1, max_size=80),
       st.integers(1, 8))
def test_graph_answers_hold_only_live_keys_with_exact_scores(ops, k):
    from core.agents import ann
    from core.agents.vector_index import VectorIndex
    if not ann.available():
        pytest.skip("usearch is not installed")
    rng = np.random.default_rng(len(ops))
    index, live = VectorIndex(8, ann_min=0, warmup=0), {}
    for add, key in ops:
        if add:
            live[f"k{key}"] = v = rng.standard_normal(8).astype(np.float32)
            index.put(f"k{key}", v, key)
        else:
            assert index.remove(f"k{key}") == (live.pop(f"k{key}", None) is not None)
        q = rng.standard_normal(8).astype(np.float32)
        got = index.search(q, k)
        assert len(got) == min(k, len(live)) and {g[0] for g in got} <= set(live)
        for key, score, _ in got:
            v = live[key]
            assert score == pytest.approx(float(v @ q / np.linalg.norm(v) / np.linalg.norm(q)),
                                          abs=1e-5)
        assert [s for _, s, _ in got] == sorted((s for _, s, _ in got), reverse=True)

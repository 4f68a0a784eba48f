"""Agents: memories, handlers fired by real indexing events, scope filtering, the trail."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from core.agents import (AssociativeMemory, TemporalMemory, WorkingMemory, agent, agent_memory,
                         agent_trail, on_event, open_memory, sync)
from core.agents.memory import MemoryError_, close_memory
from core.extensions import Permission
from core.extensions.definition import extension
from core.extensions.manager import ExtensionManager
from core.jobs import job

EXT = "com.test.agents"


@agent_memory
class Mind:
    history: TemporalMemory = sync("shared")
    faces: AssociativeMemory["FaceGraph"] = sync("shared")  # noqa: F821 - generic parameter
    plan: WorkingMemory = sync("device_owned")


@job(name="agent_followup")
def followup(ctx, path: str = ""):
    return path


@agent_trail(level="debug")
@agent
@extension(id=EXT, name="Agents", version="1.0.0",
           permissions=[Permission.ReadEntries(glob="**/*.jpg"), Permission.WriteTags,
                        Permission.DispatchJobs])
class Watcher:
    memory = Mind
    jobs = [followup]
    photos: list = []

    def on_new_photo(self, ctx, photo):
        ctx.trace("new photo", path=photo.path)
        ctx.memory().history.record("photo", {"path": photo.path})
        ctx.vdfs().add_tag(photo.id, "#new-photo")
        if photo.path.endswith("dispatch.jpg"):
            ctx.dispatch_job(followup, path=photo.path)
        Watcher.photos.append(photo.path)

    def on_tag_added(self, ctx, payload):
        ctx.memory().plan.set("last_tag", payload["tag"])

    @on_event("index.finished")
    def done(self, ctx, payload):
        ctx.trace("index finished", level="info")

    def on_new_entry(self, ctx, entry):
        if entry.path.endswith("boom.jpg"):
            raise RuntimeError("handler exploded")


def test_memory_fields_declare_their_sync_mode(tmp_path):
    fields = {f.name: (f.kind, f.sync) for f in Mind.__vdfs_agent_memory__}
    assert fields == {"history": (TemporalMemory, "shared"), "faces": (AssociativeMemory, "shared"),
                      "plan": (WorkingMemory, "device_owned")}
    with pytest.raises(MemoryError_, match="sync mode"):
        sync("everywhere")
    with pytest.raises(MemoryError_, match="must be TemporalMemory"):
        @agent_memory
        class Bad:
            notes: dict


def test_temporal_and_working_memory_persist(tmp_path):
    mind = open_memory(Mind, tmp_path / "m.db", "dev-1")
    t0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
    for day in range(5):
        mind.history.record("visit", {"day": day}, at=t0.replace(day=1 + day))
    assert [e["data"]["day"] for e in mind.history.recent(2)] == [4, 3]
    assert [e["data"]["day"] for e in mind.history.between("2024-05-02", "2024-05-04")] == [1, 2]
    mind.plan.set("cursor", {"next": 7})
    close_memory(mind)
    again = open_memory(Mind, tmp_path / "m.db", "dev-1")
    assert again.plan.get("cursor") == {"next": 7} and len(again.history) == 5
    assert open_memory(Mind, tmp_path / "m.db", "dev-2").plan.get("cursor") is None  # device-owned


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.floats(-10, 10, allow_nan=False), min_size=4, max_size=4)
                .filter(lambda v: np.linalg.norm(v) > 1e-3), min_size=1, max_size=12, unique_by=tuple),
       st.lists(st.floats(-10, 10, allow_nan=False), min_size=4, max_size=4)
       .filter(lambda v: np.linalg.norm(v) > 1e-3))
def test_associative_search_ranks_by_cosine_like_brute_force(tmp_path_factory, vectors, query):
    mind = open_memory(Mind, tmp_path_factory.mktemp("a") / "m.db", "d")
    for i, v in enumerate(vectors):
        mind.faces.add(f"k{i}", v, {"i": i})
    got = mind.faces.query_similar(query, k=3)
    mat = np.asarray(vectors, dtype=np.float32)
    cos = mat @ np.asarray(query, np.float32) / (np.linalg.norm(mat, axis=1) * np.linalg.norm(query))
    expected = sorted(cos, reverse=True)[:3]
    # float32 arithmetic in two orders: equal within rounding, not to the last digit
    assert len(got) == len(expected)
    assert np.allclose([s for _, s, _ in got], expected, atol=1e-4)
    close_memory(mind)


def test_associative_memory_checks_dimensions(tmp_path):
    mind = open_memory(Mind, tmp_path / "m.db", "d")
    mind.faces.add("alice", [1, 0, 0], {"name": "Alice"})
    with pytest.raises(MemoryError_, match="3 dimensions, got 2"):
        mind.faces.add("bob", [1, 0])
    assert mind.faces.query_similar([0.9, 0.1, 0], k=1)[0][0] == "alice"
    assert mind.faces.remove("alice") and mind.faces.query_similar([1, 0, 0]) == []


def test_a_malformed_event_does_not_end_the_agent(lib, tmp_path):
    """An entry event without its entry_uuid (as an action's once was) is counted and traced,
    and the agent goes on receiving the events after it."""
    from core.store.events import Event
    root = tmp_path / "pics"
    root.mkdir()
    Watcher.photos.clear()
    mgr = lib.extensions
    mgr.install(Watcher, "requested", scope=[str(root)])
    lib.events.publish(Event("entry.created", {"path": str(root / "odd.jpg")}))
    mgr.wait_idle()
    (root / "a.jpg").write_bytes(b"a photo")
    lib.index(lib.add_location(root)).wait(timeout=60)
    mgr.wait_idle()
    assert Watcher.photos == [str(root / "a.jpg")]


def test_agent_reacts_to_a_real_index_within_its_scope(lib, tmp_path):
    root = tmp_path / "pics"
    (root / "inside").mkdir(parents=True)
    (root / "outside").mkdir()
    for rel in ("inside/a.jpg", "inside/dispatch.jpg", "inside/boom.jpg", "inside/readme.txt",
                "outside/b.jpg"):
        (root / rel).write_bytes(rel.encode())
    Watcher.photos.clear()
    mgr = lib.extensions
    mgr.install(Watcher, "requested", scope=[str(root / "inside")])
    lib.index(lib.add_location(root)).wait(timeout=60)
    mgr.wait_idle()
    inside = root / "inside"
    assert sorted(Watcher.photos) == [str(inside / n) for n in ("a.jpg", "boom.jpg", "dispatch.jpg")]
    tags = lib.conn.execute("SELECT e.path, t.name, l.applied_by FROM tag_links l JOIN tags t ON "
                            "t.id = l.tag_id JOIN user_metadata m ON m.id = l.metadata_id JOIN entries e "
                            "ON e.uuid = m.entry_uuid ORDER BY e.path").fetchall()
    assert [(p.rsplit("/", 1)[1], t, a) for p, t, a in tags] == [
        ("a.jpg", "#new-photo", EXT), ("boom.jpg", "#new-photo", EXT), ("dispatch.jpg", "#new-photo", EXT)]
    ctx = mgr.context(EXT)
    assert ctx.memory().plan.get("last_tag") == "#new-photo"     # on_tag_added saw its own tags
    assert len(ctx.memory().history) == 3
    dispatched = [j for j in lib.jobs.list() if j["name"] == f"{EXT}.agent_followup"]
    assert len(dispatched) == 1
    trail = [json.loads(l) for l in (lib.path / "logs/extensions" / f"{EXT}.jsonl").read_text().splitlines()]
    msgs = [(r["level"], r["msg"]) for r in trail]
    assert ("info", "index finished") in msgs
    assert ("error", "on_new_entry failed: handler exploded") in msgs
    assert sum(m == "new photo" for _, m in msgs) == 3
    assert not any("outside" in json.dumps(r) for r in trail)   # never saw what it may not read
    mgr.close()

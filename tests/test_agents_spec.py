"""The SDK's agent example as written (Python names): the photo a handler gets has `exif`,
`location()` and `read()`; similar faces come from memory; the agent dispatches a job with the
photo's location; `ctx.prompts()` renders a template. Against a real index of real JPEGs."""
from __future__ import annotations

import json

import pytest

from core.agents import AssociativeMemory, WorkingMemory, agent, agent_memory, agent_trail, sync
from core.errors import ArgumentError
from core.extensions import Permission
from core.extensions.definition import extension
from core.extensions.manager import ExtensionManager
from core.jobs import job
from core.domain.sidecars import Sidecars
from tests.test_ai_extraction import jpeg_bytes

EXT = "com.test.agentspec"
SEEN: list[dict] = []


@agent_memory
class PhotosMind:
    knowledge: AssociativeMemory["FaceGraph"] = sync("shared")  # noqa: F821 - generic parameter
    plan: WorkingMemory = sync("device_owned")


@job(name="agentspec_analyze_photos")
def analyze_photos(ctx, location):
    return location


@agent_trail(level="debug", format="jsonl")
@agent
@extension(id=EXT, name="Photos", version="1.0.0",
           permissions=[Permission.ReadEntries(glob="**/*.jpg"),
                        Permission.ReadSidecars(kinds=["exif", "faces"]),
                        Permission.WriteTags, Permission.DispatchJobs])
class Photos:
    memory = PhotosMind
    jobs = [analyze_photos]

    def on_new_photo(self, ctx, photo):
        ctx.trace("New photo added - checking for faces")
        # Use memory for reasoning
        mind = ctx.memory()
        similar_faces = mind.knowledge.query_similar_faces(photo.exif)
        known = ctx.query_similar_faces(photo, k=1)     # over the photo's stored faces
        # Dispatch job if needed
        if not similar_faces and not known:
            ctx.dispatch_job(analyze_photos, photo.location())
        # Mutation to VDFS (audit log)
        ctx.vdfs().add_tag(photo.id, "#new-photo")
        SEEN.append({"name": photo.name, "gps": (photo.exif or {}).get("gps"),
                     "location": photo.location(), "size": len(photo.read()),
                     "known": [k for k, _, _ in known],
                     "prompt": ctx.prompts().render("hello.j2", name=photo.name)})


@pytest.fixture
def installed(lib, tmp_path):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "hello.j2").write_text("Describe {{ name }}.")
    Photos.prompts_dir = prompts
    SEEN.clear()
    mgr = lib.extensions
    mgr.install(Photos, "requested")
    yield lib, mgr
    mgr.close()


def test_on_new_photo_runs_as_written(installed, tmp_path):
    lib, mgr = installed
    root = tmp_path / "pics"
    root.mkdir()
    (root / "paris.jpg").write_bytes(jpeg_bytes(48.8566, 2.3522))
    lib.index(lib.add_location(root)).wait(timeout=60)
    mgr.wait_idle()
    [seen] = SEEN
    assert seen["name"] == "paris.jpg" and seen["location"] == str(root)
    assert seen["gps"]["lat"] == pytest.approx(48.8566, abs=1e-4)
    assert seen["size"] == (root / "paris.jpg").stat().st_size
    assert seen["prompt"] == "Describe paris.jpg." and seen["known"] == []
    dispatched = [j for j in lib.jobs.list() if j["name"] == f"{EXT}.agentspec_analyze_photos"]
    assert [j["args"] for j in dispatched] == [{"location": str(root)}]

    # the job "analysed" it: a face stored for its content, the person in memory
    cu = lib.conn.execute("SELECT c.uuid FROM entries e JOIN content_identities c ON "
                          "c.id = e.content_id WHERE e.name = 'paris.jpg'").fetchone()[0]
    side = Sidecars(lib.path).path(__import__("uuid").UUID(bytes=cu), "faces", "json")
    side.parent.mkdir(parents=True, exist_ok=True)
    side.write_text(json.dumps([{"score": 0.9, "embedding": [0.0, 1.0, 0.1]}]))
    mgr.context(EXT).memory().knowledge.add("person-1", [0.0, 1.0, 0.0], {"name": "Ann"})
    (root / "copy.jpg").write_bytes((root / "paris.jpg").read_bytes())   # same content again
    lib.index(lib.add_location(root)).wait(timeout=60)
    mgr.wait_idle()
    assert [s["known"] for s in SEEN] == [[], ["person-1"]]
    assert len([j for j in lib.jobs.list()
                if j["name"] == f"{EXT}.agentspec_analyze_photos"]) == 1     # not dispatched again


def test_dispatch_with_one_value_needs_a_job_that_takes_one():
    from core.agents.agent import _first_parameter
    assert _first_parameter(analyze_photos) == "location"
    with pytest.raises(ArgumentError, match="takes no argument after ctx"):
        _first_parameter(lambda ctx: None)

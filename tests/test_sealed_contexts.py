"""No context an extension's code receives hands out the library.

A real extension, installed in a real library, probes every context it is given — the
ExtensionContext of init(), a job's and a task's context, an action's preview and execute
contexts, an agent handler's, an @on_event handler's and an on_event job's — from inside its
own code: the old escapes (`ctx.lib`, `ctx.vdfs().lib`, `ctx.vdfs()._api`, the mangled
`ctx.vdfs()._ScopedVdfsApi__api`, `ctx.conn`, `ctx.manager`, `vars(ctx)`) are refused; nothing
the context, its services, the queries and models of its checked API or its memory hold leads
to the Library, a connection, the unchecked VdfsApi or a manager within a step or two; and the
legitimate operations still work.

This is a guard rail against mistakes, not a sandbox. Python extensions are trusted code, and
code in the same process can always import its way to the library (core.access.facade keeps core's
halves in side tables, which a determined extension can import). Extensions from others run as
WebAssembly.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
import sqlite3
import time
import uuid
from typing import Any

import duckdb
import pytest

import core
from core.actions import ActionContext, action, action_execute
from core.agents import WorkingMemory, agent, agent_memory, on_event, sync
from core.extensions import Permission
from core.extensions.context import ExtensionRuntime
from core.extensions.definition import extension
from core.access.guard import Guard
from core.extensions.manager import ExtensionManager
from core.access.permissions import GrantSet, PermissionDenied
from core.extensions.settings import setting
from core.host import VdfsApi
from core.domain.models import model
from core.store.facade import core_side
from core.jobs import (Job, JobContext, JobError, JobManager, TaskContext, job, register_job, task,
                       unregister_job)

EXT = "com.test.sealed"
REPORTS: dict[str, dict[str, Any]] = {}

# What extension code must not reach: the library, its connections, the unchecked API, the
# managers, core's halves of the contexts, and what holds the library one step further.
FORBIDDEN = (core.Library, sqlite3.Connection, duckdb.DuckDBPyConnection, VdfsApi, JobManager,
             ExtensionManager, ExtensionRuntime, JobContext, TaskContext, ActionContext, Guard,
             GrantSet, Job)
ESCAPES = {
    "ctx.lib": lambda c: c.lib,
    "ctx.conn": lambda c: c.conn,
    "ctx.manager": lambda c: c.manager,
    "ctx._m": lambda c: c._m,
    "ctx.guard": lambda c: c.guard,
    "ctx.grants": lambda c: c.grants,
    "ctx.__dict__": lambda c: c.__dict__,
    "vars(ctx)": vars,
    "ctx.vdfs().lib": lambda c: c.vdfs().lib,
    "ctx.vdfs()._api": lambda c: c.vdfs()._api,
    "ctx.vdfs()._grants": lambda c: c.vdfs()._grants,
    "ctx.vdfs().conn": lambda c: c.vdfs().conn,
    "ctx.vdfs()._ScopedVdfsApi__api": lambda c: c.vdfs()._ScopedVdfsApi__api,
    "ctx.vdfs()._ScopedVdfsApi__guard": lambda c: c.vdfs()._ScopedVdfsApi__guard,
}


def _attrs(obj: Any) -> list[tuple[str, Any]]:
    """Every attribute of obj one step away: private and mangled ones and whatever its
    __dict__ holds (a model's `__vdfs__` state), not the dunders of the object model."""
    names = {n for n in dir(obj) if not n.startswith("__")}
    own = getattr(obj, "__dict__", None)
    names |= set(own) if isinstance(own, dict) else set()
    out = []
    for name in sorted(names):
        try:
            out.append((name, getattr(obj, name)))
        except Exception:   # refused (NotForExtensions, PermissionDenied) or not available
            pass
    return out


def _reach(obj: Any, path: str, depth: int) -> list[str]:
    """Paths of at most `depth` attribute steps from obj that end at something FORBIDDEN."""
    if isinstance(obj, FORBIDDEN):
        return [path]
    if depth == 0:
        return []
    return [p for name, value in _attrs(obj) for p in _reach(value, f"{path}.{name}", depth - 1)]


def _leaks(ctx: Any) -> list[str]:
    """What reaches something FORBIDDEN: the context in two attribute steps, what its services
    return in one, and a query the checked API builds or runs in two."""
    found = _reach(ctx, "ctx", 2)
    for service in ("vdfs", "extension"):
        if callable(getattr(ctx, service, None)):
            found += _reach(getattr(ctx, service)(), f"ctx.{service}()", 1)
    api = ctx.vdfs()
    found += _reach(api.query_entries(), "ctx.vdfs().query_entries()", 2)
    found += _reach(api.query("entries"), "ctx.vdfs().query('entries')", 2)
    for m in api.list_models(Note):
        found += _reach(m, "ctx.vdfs().list_models(Note)[i]", 2)
    ext = ctx if hasattr(ctx, "memory") else ctx.extension()
    mind = ext.memory()
    mind.seen.set("probed", True)
    found += _reach(mind, "memory()", 2)
    found += _reach(ext.ai(), "ai()", 2) + _reach(ext.models(), "models()", 2)
    return found


def probe(kind: str, ctx: Any, **legit: Any) -> None:
    """Called from the extension's own code with the context it was given."""
    escaped = {}
    for what, attempt in ESCAPES.items():
        try:
            escaped[what] = type(attempt(ctx)).__name__
        except (AttributeError, TypeError, PermissionDenied):
            pass
    REPORTS[kind] = {"type": type(ctx).__name__, "escaped": escaped, "leaks": _leaks(ctx),
                     "legit": legit}


def _files(api: Any) -> list[str]:
    return sorted(r["name"] for r in api.query("entries where is_dir = false select name").rows())


# ---- the extension -------------------------------------------------------------------------
@agent_memory
class Mind:
    seen: WorkingMemory = sync("device_owned")


@model(version="1.0.0", scope="entry", extension_id=EXT)
@dataclass
class Note:
    text: str = ""


@task
def probe_task(ctx, entry: str) -> str:
    copy = pickle.loads(pickle.dumps(ctx))      # what a process-isolated task would receive
    try:
        copy.vdfs()
        detached = "reached the library"
    except Exception as exc:
        detached = type(exc).__name__
    probe("task", ctx, read=ctx.vdfs().read_entry(uuid.UUID(entry)).decode(),
          copy_key=copy.key == ctx.key, detached=detached)
    return "done"


@job(name="probe_job")
def probe_job(ctx, inside: str, outside: str) -> dict:
    api = ctx.vdfs()
    api.add_tag_to_entry(uuid.UUID(inside), "#job")
    if api.get_model_by_entry(Note, uuid.UUID(inside)) is None:
        api.create_model_for_entry(uuid.UUID(inside), Note(text="seen"))
    try:
        api.add_tag_to_entry(uuid.UUID(outside), "#job")
        refused = False
    except PermissionDenied:
        refused = True
    ctx.progress(1, 2, phase="probing")
    ctx.checkpoint({"step": 1})
    probe("job", ctx, files=_files(api), outside_refused=refused, state=ctx.state,
          task=ctx.run(probe_task, inside), config=ctx.extension().config.level)
    return {"ok": True}


@job(name="probe_on_event", trigger="on_event", events=["index.finished"])
def probe_on_event(ctx, events: list) -> int:
    probe("on_event job", ctx, kinds=sorted({e["kind"] for e in events}), files=_files(ctx.vdfs()))
    return len(events)


@action(name=f"{EXT}.tag_it", extension_id=EXT)
def tag_it(ctx, entry: str):
    probe("action preview", ctx, files=_files(ctx.vdfs()))
    return ctx.preview("Tag it", [ctx.add_tag(uuid.UUID(entry), "#action")])


@action_execute(tag_it)
def tag_it_execute(ctx, preview):
    ctx.apply_all()
    probe("action execute", ctx, applied=len(preview.changes))


class Level:
    level: int = setting(label="Level", default=3)


@agent
@extension(id=EXT, name="Sealed", version="1.0.0",
           permissions=[Permission.ReadEntries(glob="**"), Permission.WriteTags,
                        Permission.DispatchJobs])
class Sealed:
    config: Level
    models = [Note]
    memory = Mind
    jobs = [probe_job, probe_on_event]
    actions = [tag_it]

    def init(self, ctx):
        probe("extension", ctx, files=_files(ctx.vdfs()), config=ctx.config.level)

    def on_new_entry(self, ctx, entry):
        if entry.path.endswith("a.txt"):
            probe("agent handler", ctx, tags=[t.name for t in ctx.vdfs().tags_of_entry(entry.id)],
                  path=entry.path.rsplit("/", 2)[-2:])

    @on_event("index.finished")
    def finished(self, ctx, payload):
        probe("event handler", ctx, event=ctx.event.kind, files=_files(ctx.vdfs()))


# ---- the library ---------------------------------------------------------------------------
def _entry(lib: Any, path: Any) -> str:
    (eu,) = lib.conn.execute("SELECT uuid FROM entries WHERE path = ?", (str(path),)).fetchone()
    return str(uuid.UUID(bytes=eu))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sealed")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VDFS_HOME", str(tmp / "home"))
        root = tmp / "tree"
        for rel in ("inside/a.txt", "outside/secret.txt"):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(rel)
        lib = core.Library.create(tmp / "lib.vdfs")
        REPORTS.clear()
        mgr = lib.extensions
        mgr.install(Sealed, "requested", scope=[str(root / "inside")])
        for part in ("inside", "outside"):
            lib.index(lib.add_location(root / part)).wait(timeout=60)
        mgr.wait_idle()
        inside, outside = _entry(lib, root / "inside/a.txt"), _entry(lib, root / "outside/secret.txt")
        assert mgr.run_job(EXT, "probe_job", inside=inside, outside=outside).wait(60) == {"ok": True}
        mgr.commit_action(mgr.preview_action(EXT, tag_it, entry=inside))
        deadline = time.monotonic() + 30
        while "on_event job" not in REPORTS and time.monotonic() < deadline:
            time.sleep(0.02)
        yield lib, mgr, inside, outside
        lib.close()


CONTEXTS = ["extension", "job", "task", "action preview", "action execute", "agent handler",
            "event handler", "on_event job"]


@pytest.mark.parametrize("kind", CONTEXTS)
def test_no_context_an_extension_receives_hands_out_the_library(world, kind):
    report = REPORTS[kind]
    assert report["escaped"] == {}, f"{kind} ({report['type']}) let these through"
    assert report["leaks"] == [], f"{kind} ({report['type']}) reaches what it must not"


def test_what_the_contexts_are_for_still_works(world):
    lib, mgr, inside, outside = world
    legit = {k: REPORTS[k]["legit"] for k in CONTEXTS}
    assert legit["extension"] == {"files": [], "config": 3}      # installed before indexing
    assert legit["job"] == {"files": ["a.txt"], "outside_refused": True, "state": {"step": 1},
                            "task": "done", "config": 3}
    assert legit["task"] == {"read": "inside/a.txt", "copy_key": True,
                             "detached": "JobError"}
    assert legit["action preview"] == {"files": ["a.txt"]}
    assert legit["action execute"] == {"applied": 1}
    assert legit["agent handler"] == {"tags": [], "path": ["inside", "a.txt"]}
    assert legit["event handler"] == {"event": "index.finished", "files": ["a.txt"]}
    assert legit["on_event job"] == {"kinds": ["index.finished"], "files": ["a.txt"]}
    tags = {t.name: t.applied_by for t in lib.vdfs().tags_of_entry(uuid.UUID(inside))}
    assert tags == {"#job": EXT, "#action": EXT}
    assert lib.vdfs().tags_of_entry(uuid.UUID(outside)) == []


def test_whose_job_it_is_comes_from_the_registry_not_the_submitter(world):
    lib, mgr, inside, outside = world
    args = {"inside": inside, "outside": outside}
    for name in (f"{EXT}.probe_job", "probe_job"):
        for claimed in ("", "com.test.other"):
            with pytest.raises(JobError, match=f"belongs to extension '{EXT}'"):
                lib.jobs.submit(name, args, extension_id=claimed)
    REPORTS.pop("job")
    j = lib.jobs.submit(probe_job, args)          # the bare @job registration: still the extension's
    assert j.wait(60) == {"ok": True} and j.info()["extension_id"] == EXT
    assert REPORTS["job"]["type"] == "ExtensionJobContext" and REPORTS["job"]["leaks"] == []
    with pytest.raises(JobError, match="belongs to core"):
        lib.jobs.submit("core.index", {}, extension_id=EXT, start=False)


def test_core_code_acting_for_an_extension_reaches_the_core_side(world):
    """A host shim (core code registered as an extension's job, as the WASM host does) gets the
    sealed context like any of the extension's jobs, and asks core.access.facade for core's half."""
    lib, mgr, inside, outside = world
    seen = {}

    def shim(ctx):
        seen["given"] = type(ctx).__name__
        seen["core side"] = type(core_side(ctx)).__name__
        seen["library"] = core_side(ctx).lib is lib
        seen["extension"] = type(core_side(ctx.extension())).__name__
        return 1

    register_job(f"{EXT}.shim", shim, extension_id=EXT)
    try:
        assert lib.jobs.submit(f"{EXT}.shim").wait(30) == 1
    finally:
        unregister_job(f"{EXT}.shim")
    assert seen == {"given": "ExtensionJobContext", "core side": "JobContext", "library": True,
                    "extension": "ExtensionRuntime"}
    assert core_side(lib) is lib


def test_prompts_of_an_extension_without_a_prompts_folder_is_a_vdfs_error(world):
    """An extension that ships no prompts/ folder asking for its prompts gets a VdfsError that
    says so, not a bare FileNotFoundError."""
    from core.errors import VdfsError
    lib, mgr, inside, outside = world
    ctx = lib.extensions.context(EXT).facade
    with pytest.raises(VdfsError, match="no prompts/ folder"):
        ctx.prompts()

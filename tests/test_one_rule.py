"""One rule, one place: the location that holds a path, an extension's grants and which events
it may see are each decided by one function, so the agent runtime, on_event jobs, location
jobs and the scoped host API give the same answer for the same file."""
from __future__ import annotations

import re
import time
import uuid
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from core.agents import agent, on_event
from core.domain.locations import is_within, location_for_path
from core.extensions import Permission
from core.extensions.definition import extension
from core.jobs import job, unregister_job
from core.jobs.registry import all_job_specs
from core.store.events import Event

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def new_jobs():
    """Jobs a test registers are forgotten after it (the registry is process-wide)."""
    before = {s.name for s in all_job_specs()}
    yield
    for s in all_job_specs():
        if s.name not in before:
            unregister_job(s.name)


def _results(lib, name, timeout=20.0):
    """Every completed run's result of job `name`, once its queued runs are done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lib.jobs._batcher.flush_all()
        rows = lib.jobs.list(name=name)
        if rows and all(r["status"] in ("completed", "failed") for r in rows):
            return [x for r in rows if r["status"] == "completed" for x in r["result"]]
        time.sleep(0.02)
    raise AssertionError(f"job {name} did not finish: {lib.jobs.list(name=name)}")


# ---- 1. the location of a path -------------------------------------------------------------
def _other_device_location(lib, path):
    """A location of another device (as sync brings in), nested in one of ours."""
    conn = lib.conn
    cols = [r[1] for r in conn.execute("PRAGMA table_info(devices)")]
    values = {"uuid": uuid.uuid4().bytes, "name": "other", "created_at": "n", "last_seen_at": "n"}
    known = {c: values.get(c, "x") for c in cols if c != "id" and c in values}
    cur = conn.execute(f"INSERT INTO devices ({', '.join(known)}) VALUES "
                       f"({', '.join('?' * len(known))})", tuple(known.values()))
    conn.execute("INSERT INTO locations (uuid, device_id, path, name, created_at) "
                 "VALUES (?, ?, ?, 'theirs', 'n')", (uuid.uuid4().bytes, cur.lastrowid, path))


def test_the_location_of_a_path_is_this_devices_folder_that_holds_it(lib, tmp_path):
    photos, twin = tmp_path / "photos", tmp_path / "photosX"
    (photos / "2024").mkdir(parents=True)
    twin.mkdir()
    mine = lib.add_location(photos)
    _other_device_location(lib, f"{photos}/2024")       # nested, but not this device's
    assert location_for_path(lib, f"{photos}/2024/a.jpg") == mine
    assert location_for_path(lib, str(photos)) == mine
    assert location_for_path(lib, f"{photos}/2024/") == mine          # a trailing slash
    assert location_for_path(lib, f"{twin}/a.jpg") is None            # a sibling, not a child
    assert location_for_path(lib, str(tmp_path)) is None


_PART = st.sampled_from(["a", "b", "ab", "a b", "É", "a.b", "c:", "x\\y"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(_PART, min_size=1, max_size=3), min_size=1, max_size=4),
       st.lists(_PART, max_size=4), st.booleans())
def test_the_location_of_a_path_agrees_with_path_arithmetic(lib, roots, parts, slash):
    """Against PurePosixPath: the holding root is the one the path is relative to, whatever
    the names (spaces, accents, a Windows-looking `c:` or backslash) or a trailing slash."""
    lib.conn.execute("DELETE FROM locations")
    kept: list[str] = []
    for r in roots:                          # this device's locations never nest
        root = "/" + "/".join(r)
        if not any(is_within(root, k) or is_within(k, root) for k in kept):
            kept.append(root)
            lib.conn.execute("INSERT INTO locations (uuid, device_id, path, name, created_at) "
                             "VALUES (?, ?, ?, ?, 'n')",
                             (uuid.uuid4().bytes, lib.device_id, root, root))
    path = "/" + "/".join(parts) + ("/" if slash and parts else "")
    expected = [k for k in kept if PurePosixPath(path).is_relative_to(k)]
    found = location_for_path(lib, path)
    assert (found.path if found else None) == (expected[0] if expected else None)


@pytest.fixture
def pics(lib, tmp_path):
    """A location with inside/{a.jpg, notes.txt} and outside/b.jpg, indexed."""
    root = tmp_path / "pics"
    (root / "inside").mkdir(parents=True)
    (root / "outside").mkdir()
    (root / "inside" / "a.jpg").write_bytes(b"\xff\xd8\xffa")
    (root / "inside" / "notes.txt").write_text("notes")
    (root / "outside" / "b.jpg").write_bytes(b"\xff\xd8\xffb")
    lib.index(lib.add_location(root)).wait(60)
    return root


def _install(lib, name, events, glob, grants="requested", scope=(), handlers=None):
    """Install extension com.test.onerule.<name> requesting ReadEntries(glob), with an on_event
    job returning the [kind, path] of the events it got (and an agent when `handlers`)."""
    @job(name=f"onerule_{name}", trigger="on_event", events=events)
    def seen(ctx, events):
        return [[e["kind"], e["payload"].get("path")] for e in events]

    ext_id = f"com.test.onerule.{name}"
    cls = extension(id=ext_id, name=name, version="1.0.0",
                    permissions=[Permission.ReadEntries(glob=glob)])(
        type(name.title(), (), {"jobs": [seen], **(handlers or {})}))
    if handlers:
        cls = agent(cls)
    mgr = lib.extensions
    mgr.install(cls, grants, scope=scope)
    return mgr, f"{ext_id}.onerule_{name}"


def test_an_on_event_job_finds_the_location_of_an_actions_event(lib, pics, new_jobs):
    """A rename made by an action announces the new path without a location id; the job's
    glob (relative to the location root) must still apply to it."""
    mgr, name = _install(lib, "renames", ["entry.modified"], "inside/*.jpg")
    a = uuid.UUID(bytes=lib.conn.execute("SELECT uuid FROM entries WHERE name='a.jpg'").fetchone()[0])
    ctx = lib.actions.context()
    lib.actions.commit(lib.actions.preview_changes("rename", [ctx.rename(a, "c.jpg")]))
    assert _results(lib, name) == [["entry.modified", f"{pics}/inside/c.jpg"]]
    mgr.close()


# ---- 2. grants: what was granted, within what was requested ----------------------------------
def test_an_on_event_job_sees_only_what_its_host_api_may_read(lib, tmp_path, new_jobs):
    """Requested `**/*.jpg`, granted `**`: the grant cannot widen the request, for the job's
    events as for its queries."""
    mgr, name = _install(lib, "grants", ["entry.created"], "**/*.jpg",
                         grants=[Permission.ReadEntries(glob="**")])
    root = tmp_path / "docs"
    root.mkdir()
    (root / "a.jpg").write_bytes(b"\xff\xd8\xff")
    (root / "notes.txt").write_text("notes")
    lib.index(lib.add_location(root)).wait(60)
    readable = [str(r["path"]) for r in mgr.host_for("com.test.onerule.grants")
                .query_entries().collect() if not r["is_dir"]]
    assert readable == [f"{root}/a.jpg"]
    assert sorted({p for _, p in _results(lib, name)}) == readable
    mgr.close()


# ---- 3. which events an extension sees: the agent and the jobs agree --------------------------
def test_the_agent_and_the_jobs_of_an_extension_see_the_same_events(lib, tmp_path, new_jobs):
    agent_saw: list = []

    @on_event("index.finished")
    def done(self, ctx, payload):
        agent_saw.append(["index.finished", payload["path"]])

    root, other = tmp_path / "pics", tmp_path / "other"
    (root / "inside").mkdir(parents=True)
    other.mkdir()
    (root / "inside" / "a.jpg").write_bytes(b"\xff\xd8\xff")
    (other / "b.jpg").write_bytes(b"\xff\xd8\xff")
    mgr, name = _install(lib, "events", ["index.finished"], "**/*.jpg",
                         scope=[str(root / "inside")], handlers={"done": done})
    lib.index(lib.add_location(root)).wait(60)      # reaches the granted folder
    lib.index(lib.add_location(other)).wait(60)     # does not
    mgr.wait_idle()
    assert agent_saw == _results(lib, name) == [["index.finished", str(root)]]
    mgr.close()


def test_an_extensions_job_is_never_also_run_as_a_core_job(lib, pics, new_jobs):
    """The bare @job name of an extension's job is the same job: it gets the extension's
    events, not every event of the library."""
    mgr, name = _install(lib, "bare", ["entry.created"], "nothing/*")
    lib.events.publish(Event("entry.created", {"path": f"{pics}/inside/a.jpg"}))
    lib.events.publish(Event("entry.created", {"path": f"{pics}/nothing/x"}))
    assert _results(lib, name) == [["entry.created", f"{pics}/nothing/x"]]
    assert lib.jobs.list(name="onerule_bare") == []
    mgr.close()


# ---- the copies stay gone ------------------------------------------------------------------
def _sources_matching(pattern: str, *, allowed: set[str]) -> list[str]:
    found = []
    for top in ("core", "kernel_ext"):
        for path in sorted((REPO / top).rglob("*.py")):
            rel = str(path.relative_to(REPO))
            if rel not in allowed and re.search(pattern, path.read_text(encoding="utf-8")):
                found.append(rel)
    return found


def test_location_roots_are_read_in_one_module():
    """Which location holds a path, and what roots exist, is answered by core.domain.locations
    (the install dialog only lists locations for its picker)."""
    assert _sources_matching(r"SELECT[^\"']*\bpath\b[^\"']*FROM locations\b",
                             allowed={"core/domain/locations.py",
                                      "kernel_ext/widgets/install.py"}) == []


def test_grants_are_read_in_one_module():
    assert _sources_matching(r"SELECT[^\"']*FROM extension_grants\b",
                             allowed={"core/access/granted.py"}) == []
    # and what a manifest requests, by manifest_permissions (manifest.py only validates it)
    assert _sources_matching(r"Permission\.from_json\(\w+\) for \w+ in",
                             allowed={"core/access/permissions.py"}) == []


def _quiet_import_guards(tree) -> list[int]:
    """Lines of `except ImportError` handlers that swallow the error although their `try`
    imports no third-party module: a guard around our own package, which always ships whole."""
    import ast
    ours = ("core", "kernel_ext", "vdfs_query")
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        imported = [(n.level, n.module or "") for b in node.body for n in ast.walk(b)
                    if isinstance(n, ast.ImportFrom)]
        imported += [(0, a.name) for b in node.body for n in ast.walk(b)
                     if isinstance(n, ast.Import) for a in n.names]
        external = any(level == 0 and mod.split(".")[0] not in ours for level, mod in imported)
        for h in node.handlers:
            names = [h.type] if not isinstance(h.type, ast.Tuple) else list(h.type.elts)
            catches = any(isinstance(t, ast.Name) and t.id == "ImportError" for t in names)
            reraises = any(isinstance(n, ast.Raise) for n in ast.walk(h))
            if catches and not external and not reraises:
                lines.append(h.lineno)
    return lines


def test_no_import_guard_around_our_own_modules():
    import ast
    found = [f"{path.relative_to(REPO)}:{line}"
             for top in ("core", "kernel_ext") for path in sorted((REPO / top).rglob("*.py"))
             for line in _quiet_import_guards(ast.parse(path.read_text(encoding="utf-8")))]
    assert found == []


def test_the_sdk_names_are_plain_imports():
    """core.sdk re-exports what the parts define; no lazy lookup stands between them."""
    import core.sdk as sdk
    assert "__getattr__" not in vars(sdk)
    assert [n for n in sdk.__all__ if n not in vars(sdk)] == []


def test_an_agent_gets_an_actions_entry_events_like_the_indexers(lib, pics, new_jobs):
    """An action's rename is an entry.modified like the indexer's: same payload keys, so the
    agent hands its handler an entry and keeps running."""
    got: list = []

    def on_entry_modified(self, ctx, entry):
        got.append((entry.id, entry.path))

    mgr, _ = _install(lib, "agent", ["entry.modified"], "inside/*.jpg",
                      handlers={"on_entry_modified": on_entry_modified})
    a = uuid.UUID(bytes=lib.conn.execute("SELECT uuid FROM entries WHERE name='a.jpg'").fetchone()[0])
    ctx = lib.actions.context()
    lib.actions.commit(lib.actions.preview_changes("rename", [ctx.rename(a, "c.jpg")]))
    lib.actions.commit(lib.actions.preview_changes("rename back", [ctx.rename(a, "a.jpg")]))
    mgr.wait_idle(10)
    assert got == [(a, f"{pics}/inside/c.jpg"), (a, f"{pics}/inside/a.jpg")]
    mgr.close()

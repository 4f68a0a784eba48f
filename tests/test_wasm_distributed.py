"""A WASM extension's tasks placed on other devices of a real Dask cluster (tests/dask_cluster.py:
"gpu-box" with a GPU, "files-box" owning the library's files). The guest's tasks forward their
item to one host operation and return its answer, so each test reads what the worker's host did:
where the task ran (`device.current`), an entry's bytes by read ticket, a refusal."""
from __future__ import annotations

import json
import re
import time
import uuid

import blake3
import pytest

import core
from core.devices import detach, use_dask
from core.extensions import Permission
from core.jobs import JobFailed
from tests import wasm_guests as g

from dask_cluster import cluster  # noqa: F401 (a fixture)

pytestmark = pytest.mark.timeout(120)
EXT = "com.test.wasmremote"
PREFIX = '{"done":true,"result":'


def forward(export: str, op_at: int, op: str, skip: int = 0, trim: int = 0) -> str:
    """A task export that sends its input (less `skip` bytes in front and `trim` behind) as the
    request of `op` and outputs the answer, an error answer included, as its JSON result."""
    return f"""
  (func (export "{export}") (param $in i32) (param $len i32) (result i32)
    (local $r i32) (local $n i32) (local $buf i32)
    (local.set $r (call $call (i32.const {op_at}) (i32.const {len(op)})
                        (i32.add (local.get $in) (i32.const {skip}))
                        (i32.sub (local.get $len) (i32.const {skip + trim}))))
    (local.set $n (select (i32.sub (i32.const 0) (local.get $r)) (local.get $r)
                          (i32.lt_s (local.get $r) (i32.const 0))))
    (local.set $buf (call $alloc (local.get $n)))
    (drop (call $response (local.get $buf) (local.get $n)))
    (drop (call $call (i32.const 0) (i32.const 6) (local.get $buf) (local.get $n)))
    (i32.const 0))"""


def guest() -> bytes:
    """Step 0 outputs the job's args as the step ({"tasks", "device"}); step 1 finishes with
    its whole input, so the job's result holds the task results."""
    esc = PREFIX.replace('"', '\\"')
    return g.module(f"""
  (data (i32.const 0) "output")
  (data (i32.const 16) "device.current")
  (data (i32.const 32) "entry.read")
  (data (i32.const 48) "tags.add")
  (data (i32.const 64) "{esc}")
  (data (i32.const 96) "settings.get")
  (func (export "plan") (param $in i32) (param $len i32) (result i32) (local $buf i32)
    (if (i32.eq (i32.load8_u (i32.add (local.get $in) (i32.const 8))) (i32.const 48))
      (then   ;; {{"step":0,"args":ARGS,"state":null,"results":null}} -> ARGS
        (drop (call $call (i32.const 0) (i32.const 6) (i32.add (local.get $in) (i32.const 17))
                          (i32.sub (local.get $len) (i32.const 46))))
        (return (i32.const 0))))
    (local.set $buf (call $alloc (i32.add (local.get $len) (i32.const {len(PREFIX) + 1}))))
    (memory.copy (local.get $buf) (i32.const 64) (i32.const {len(PREFIX)}))
    (memory.copy (i32.add (local.get $buf) (i32.const {len(PREFIX)})) (local.get $in)
                 (local.get $len))
    (i32.store8 (i32.add (local.get $buf) (i32.add (local.get $len) (i32.const {len(PREFIX)})))
                (i32.const 125))
    (drop (call $call (i32.const 0) (i32.const 6) (local.get $buf)
                      (i32.add (local.get $len) (i32.const {len(PREFIX) + 1}))))
    (i32.const 0))
  {forward("where", 16, "device.current")}
  {forward("read", 32, "entry.read")}
  {forward("inner", 32, "entry.read", skip=5, trim=1)}
  {forward("tag", 48, "tags.add")}
  {forward("settings", 96, "settings.get")}
""")


def package(root) -> object:
    root.mkdir()
    jobs = [{"name": n, "export": "plan", "task": n, "parallelism": 4}
            for n in ("where", "read", "inner", "tag", "settings")]
    # a failing task of this job fails late (after two retries 0.3 s apart): its siblings are
    # done and recorded by then
    jobs.append({"name": "retried", "export": "plan", "task": "read", "retries": 2,
                 "backoff_ms": 300})
    (root / "manifest.json").write_text(json.dumps({
        "id": EXT, "name": "Remote tasks", "version": "1.0.0", "abi_version": 1,
        "permissions": [{"permission": "ReadEntries", "params": {"glob": "**/*.json"}},
                        {"permission": "WriteTags"}],
        "settings": {"type": "object", "properties": {"greeting": {"type": "string",
                                                                   "default": "hi"}}},
        "jobs": jobs}))
    (root / "extension.wasm").write_bytes(guest())
    return root


def installed(library, tmp_path) -> tuple[dict, object]:
    """Three files indexed, the extension installed with ReadEntries(**/*.json) inside public/
    only; returns ({relative path: entry uuid}, the folder)."""
    files = tmp_path / "files"
    for name in ("public/a.json", "public/b.json", "private/c.json"):
        (files / name).parent.mkdir(parents=True, exist_ok=True)
        (files / name).write_text(json.dumps({"file": name}))
    library.index(files).wait(30)
    library.extensions.install(package(tmp_path / "pkg"), [
        Permission.ReadEntries(glob="**/*.json").scoped_to(str(files / "public")),
        Permission.WriteTags])
    uuids = {path.split("files/")[1]: str(uuid.UUID(bytes=u)) for u, path in
             library.conn.execute("SELECT uuid, path FROM entries WHERE is_dir = 0")}
    return uuids, files


@pytest.fixture
def wlib(cluster, tmp_path, monkeypatch):   # noqa: F811
    """A library made on "files-box" (so it owns the files), the extension granted
    ReadEntries(**/*.json) inside public/ only, attached to the cluster."""
    monkeypatch.setenv("VDFS_HOME", str(cluster["homes"]["files-box"]))
    monkeypatch.setenv("VDFS_DEVICE_NAME", "files-box")
    library = core.Library.create(tmp_path / "w.vdfs")
    try:
        uuids, files = installed(library, tmp_path)
        use_dask(library, cluster["address"], grace=2.0)
        yield library, uuids, files
    finally:
        detach(library)
        library.close()


def run(library, job: str, **args):
    j = library.extensions.run_job(EXT, job, **args)
    return j, j.wait(60)["results"]


def test_tasks_land_on_the_device_with_the_capability(wlib, cluster, monkeypatch):
    import pickle

    from core.extensions.wasm.remote import RemoteWasmTask
    library, _, _ = wlib
    gpu_box = json.loads((cluster["homes"]["gpu-box"] / "device.json").read_text())["uuid"]
    sent: list[bytes] = []
    publish = RemoteWasmTask.publish

    def recorded(self, executor):
        task = publish(self, executor)
        sent.append(pickle.dumps(task))            # what goes to the cluster with each task
        return task
    monkeypatch.setattr(RemoteWasmTask, "publish", recorded)
    j, got = run(library, "where", tasks=[{"i": i} for i in range(4)],
                 device={"capabilities": ["gpu"]})
    assert got == [{"uuid": gpu_box, "name": "gpu-box"}] * 4
    rows = library.jobs.store.tasks(j.id)
    assert sorted(r["key"] for r in rows) == [f"{EXT}.where:0.{i}" for i in range(4)]
    assert {r["status"] for r in rows} == {"completed"}
    # the module went to the cluster once, by digest; the tasks carried only the digest
    digest = blake3.blake3(guest()).hexdigest()
    assert f"vdfs-wasm-{digest}" in cluster["client"].list_datasets()
    assert sent and all(digest.encode() in t and guest() not in t for t in sent)
    # a selected device, by its uuid; and the extension's settings travel with the task
    _, got = run(library, "where", tasks=[{}], device={"uuid": gpu_box.upper()})
    assert got == [{"uuid": gpu_box, "name": "gpu-box"}]
    _, got = run(library, "settings", tasks=[{}], device={"capabilities": ["gpu"]})
    assert got == [{"greeting": "hi"}]


def test_a_task_reads_its_ticketed_entry_on_the_owner_device(wlib):
    library, uuids, _ = wlib
    names = ["public/a.json", "public/b.json"]
    tasks = [{"entry": uuids[n]} for n in names]
    _, got = run(library, "read", tasks=tasks,
                 device=[{"owner_of": uuids[n]} for n in names])
    assert got == [{"file": n} for n in names]
    # the ticket names the device with the bytes: read elsewhere, the worker refuses
    _, elsewhere = run(library, "read", tasks=tasks[:1], device={"capabilities": ["gpu"]})
    assert elsewhere[0]["error"] == "LookupError"
    assert "on device 'files-box'" in elsewhere[0]["message"]
    assert "runs on 'gpu-box'" in elsewhere[0]["message"]
    # a local run of the same job gives the same results
    detach(library)
    _, local = run(library, "read", tasks=tasks, device=[{"owner_of": uuids[n]} for n in names])
    assert local == got


def test_a_read_outside_the_ticket_or_the_grant_is_refused(wlib):
    library, uuids, files = wlib
    _, got = run(library, "read", tasks=[{"entry": uuids["private/c.json"]}], device={})
    assert got[0]["error"] == "PermissionDenied"
    assert f"(scope ['{files / 'public'}'])" in got[0]["message"]
    assert "outside the granted glob or scope" in got[0]["message"]
    # `inner` reads {"entry": ...} nested in its item: an entry its item does not name
    _, got = run(library, "inner", tasks=[{"a": {"entry": uuids["public/a.json"]}}], device={})
    assert got[0]["error"] == "PermissionDenied"
    assert "not in this remote task's read ticket" in got[0]["message"]


def test_a_write_from_a_remote_task_is_refused(wlib):
    library, uuids, _ = wlib
    _, got = run(library, "tag", tasks=[{"entry": uuids["public/a.json"], "tag": "seen"}],
                 device={})
    assert got[0]["error"] == "PermissionDenied"
    assert "tags.add" in got[0]["message"]
    assert "not available on a remote device" in got[0]["message"]
    assert library.conn.execute("SELECT count(*) FROM tag_links").fetchone() == (0,)


def test_a_capability_nobody_has_fails_fast(wlib):
    library, _, _ = wlib
    start = time.monotonic()
    j = library.extensions.run_job(EXT, "where", tasks=[{"i": 0}],
                                   device={"capabilities": ["model:clip"]})
    with pytest.raises(JobFailed, match="no device has model:clip; online: "):
        j.wait(30)
    nobody = str(uuid.uuid4())
    with pytest.raises(JobFailed, match=f"no device has the device {nobody} online; online: "):
        library.extensions.run_job(EXT, "where", tasks=[{}], device={"uuid": nobody}).wait(30)
    assert time.monotonic() - start < 10
    assert library.jobs.store.tasks(j.id) == []


def test_a_resumed_job_replays_its_finished_remote_tasks(wlib):
    library, uuids, files = wlib
    (files / "public/bad.json").write_text("not json")
    library.index(files).wait(30)
    bad = library.conn.execute("SELECT uuid FROM entries WHERE name = 'bad.json'").fetchone()[0]
    names = ["public/a.json", "public/b.json"]
    tasks = [{"entry": uuids[n]} for n in names] + [{"entry": str(uuid.UUID(bytes=bad))}]
    j = library.extensions.run_job(EXT, "retried", tasks=tasks,
                                   device=[{"owner_of": t["entry"]} for t in tasks])
    with pytest.raises(JobFailed, match="not valid JSON"):
        j.wait(60)
    assert library.jobs.store.get(j.id)["error"].startswith("TaskFailed: task ")
    rows = {r["key"]: r["status"] for r in library.jobs.store.tasks(j.id)}
    assert rows == {f"{EXT}.read:0.0": "completed", f"{EXT}.read:0.1": "completed",
                    f"{EXT}.read:0.2": "failed"}
    for name in names + ["public/bad.json"]:
        (files / name).write_text(json.dumps({"file": "changed"}))
    got = library.jobs.retry(j.id).wait(60)["results"]
    # the finished tasks were replayed from jobs.db (what they read then), not run again
    assert got == [{"file": n} for n in names] + [{"file": "changed"}]


def test_on_one_machine_a_placed_task_gets_the_placed_host(lib, tmp_path):
    """The Local executor keeps placed tasks on this device, with the same host as a worker's:
    a job behaves alike on one machine and on a cluster."""
    uuids, files = installed(lib, tmp_path)
    a = {"entry": uuids["public/a.json"], "tag": "seen"}
    assert run(lib, "read", tasks=[a], device={})[1] == [{"file": "public/a.json"}]
    refused = run(lib, "tag", tasks=[a], device={"prefer_local": True})[1][0]
    assert "tags.add" in refused["message"] and "not available on a remote device" in \
        refused["message"]
    assert run(lib, "tag", tasks=[a])[1] == [True]        # not placed: the full host
    nothing = str(uuid.uuid4())
    missing = run(lib, "read", tasks=[{"entry": nothing}], device={})[1][0]
    assert missing == {"error": "LookupError", "message": f"no entry {nothing}"}
    with pytest.raises(JobFailed, match="no device has gpu; online: test-device"):
        run(lib, "where", tasks=[{}], device={"capabilities": ["gpu"]})
    with pytest.raises(JobFailed, match=r"ReadEntries.*outside the granted glob or scope"):
        run(lib, "where", tasks=[{}], device={"owner_of": uuids["private/c.json"]})


@pytest.mark.parametrize("device, message", [
    ([{}], "'device' lists 1 placements for 2 tasks"),
    ({"gpu": True}, "a task's device is an object with capabilities, minimums, owner_of, "
                    "prefer_local, uuid"),
    ({"capabilities": "gpu"}, "'capabilities' is a list and 'minimums' an object"),
])
def test_a_malformed_placement_fails_the_job_naming_it(lib, tmp_path, device, message):
    installed(lib, tmp_path)
    with pytest.raises(JobFailed, match=re.escape(message)):
        run(lib, "where", tasks=[{}, {}], device=device)

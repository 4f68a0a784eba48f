"""Installing WASM packages (folder and .zip) through lib.extensions.install:
manifest errors with JSON paths, grants recorded as for Python extensions, jobs through the
durable jobs runtime, actions previewed and checked, and the extension back after a reopen."""
from __future__ import annotations

import json
import uuid
import zipfile

import pytest

import core
from core.extensions import Permission, PermissionDenied
from core.extensions.manager import ExtensionManager
from core.extensions.manifest import ManifestError
from core.extensions.wasm import WasmGuestError
from core.extensions.wasm.package import zip_package
from tests import wasm_guests as g

EXT = "com.test.wasmpkg"


def guest(action_target: str = "00000000-0000-0000-0000-000000000000") -> bytes:
    s = g.Segments()
    progress = g.host_call(s, "job.progress", '{"done": 1, "total": 2, "message": "half"}')
    step0 = s('{"state":{"k":1},"tasks":[1,2,3]}')
    step1 = s('{"done":true,"result":"finished"}')
    model = g.host_call(s, "models.create", '{"type":"Big","data":{"size":5,"blob":{"$base64":"AAEC"}}}')
    change = s(json.dumps({"title": "tag it", "changes": [
        {"op": "add_tag", "entry": action_target, "tag": "#big"}]}))
    write = g.host_call(s, "tags.add", json.dumps({"entry": action_target, "tag": "#sneaky"}))
    hook = g.host_call(s, "log", '{"message": "hook ran"}')
    out = "(drop (call $call (i32.const 0) (i32.const 6) {}))"
    body = f"""
  (data (i32.const 0) "output")
  {s.wat()}
  (func (export "scan") (param $in i32) (param $len i32) (result i32) (local $r i32)
    (if (i32.eq (i32.load8_u (i32.add (local.get $in) (i32.const 8))) (i32.const 48))
      (then {progress} {out.format(step0)})
      (else {out.format(step1)}))
    (i32.const 0))
  (func (export "echo") (param $in i32) (param $len i32) (result i32)
    (drop (call $call (i32.const 0) (i32.const 6) (local.get $in) (local.get $len)))
    (i32.const 0))
  (func (export "make") (param $in i32) (param $len i32) (result i32) (local $r i32)
    {model} (i32.lt_s (local.get $r) (i32.const 0)))
  (func (export "propose") (param $in i32) (param $len i32) (result i32) (local $r i32)
    {out.format(change)} (i32.const 0))
  (func (export "hook") (param $in i32) (param $len i32) (result i32) (local $r i32)
    {hook} (i32.const 0))
  (func (export "sneak") (param $in i32) (param $len i32) (result i32) (local $r i32)
    {write} {out.format(change)} (i32.lt_s (local.get $r) (i32.const 0)))
"""
    return g.module(body)


MANIFEST = {
    "id": EXT, "name": "WASM test package", "version": "1.0.0", "abi_version": 1,
    "required_features": ["jobs"],
    "permissions": [{"permission": "ReadEntries", "params": {"glob": "**/*.txt"}},
                    {"permission": "WriteTags"}],
    "settings": {"type": "object", "properties": {
        "min_size": {"type": "integer", "title": "Minimum size", "default": 10}}},
    "models": [{"name": "Big", "scope": "standalone", "schema": {"type": "object", "properties": {
        "size": {"type": "integer"}, "blob": {"type": "string", "contentEncoding": "base64"}}}}],
    "jobs": [{"name": "scan", "export": "scan", "task": "echo", "parallelism": 2, "retries": 1}],
    "actions": [{"name": "propose", "export": "propose"}, {"name": "sneak", "export": "sneak"}],
    "limits": {"fuel": 5_000_000, "deadline_ms": 2000},
}


def write_package(root, manifest=None, wasm=None, ui=None):
    root.mkdir(parents=True, exist_ok=True)
    (root / "manifest.json").write_text(json.dumps(manifest or MANIFEST))
    (root / "extension.wasm").write_bytes(wasm if wasm is not None else guest())
    if ui is not None:
        (root / "ui_manifest.json").write_text(json.dumps(ui))
    return root


@pytest.fixture
def world(lib, tmp_path):
    files = tmp_path / "files"
    for rel in ("public/a.txt", "private/b.txt"):
        (files / rel).parent.mkdir(parents=True, exist_ok=True)
        (files / rel).write_bytes(rel.encode() * 5)
    lib.index(lib.add_location(files)).wait(timeout=60)
    yield lib, files
    lib.extensions.close()


def entry_uuid(lib, path) -> str:
    row = lib.conn.execute("SELECT uuid FROM entries WHERE path = ?", (str(path),)).fetchone()
    return str(uuid.UUID(bytes=row[0]))


@pytest.mark.parametrize("change,path,message", [
    (lambda m: m.pop("abi_version"), "$.abi_version", "required"),
    (lambda m: m.update(abi_version=2), "$.abi_version", "ABI version 2 is not supported"),
    (lambda m: m["jobs"][0].update(export="bad name"), "$.jobs[0].export", "does not match"),
    (lambda m: m["models"][0]["schema"]["properties"].update(x={"type": "blob"}),
     "$.models[0].schema.properties.x.type", "not one of"),
    (lambda m: m["permissions"].append({"permission": "Root"}), "$.permissions[2]",
     "unknown permission"),
    (lambda m: m["limits"].update(fuel=10**12), "$.limits", "exceeds the host ceiling"),
    (lambda m: m["actions"].append({"name": "propose", "export": "x"}), "$.actions[2].name",
     "duplicate"),
])
def test_manifest_errors_name_the_json_path(world, tmp_path, change, path, message):
    lib, _ = world
    manifest = json.loads(json.dumps(MANIFEST))
    change(manifest)
    root = write_package(tmp_path / "pkg", manifest)
    with pytest.raises(ManifestError, match=message) as exc:
        lib.extensions.install(root)
    assert exc.value.path == path
    assert lib.extensions.list() == []


def test_bad_ui_manifest_and_missing_module(world, tmp_path):
    lib, _ = world
    root = write_package(tmp_path / "pkg", ui={"views": [{"id": "v", "label": "V",
                                                          "component": "table_view",
                                                          "data_source": "query:entries where"}]})
    with pytest.raises(ManifestError, match=r"ui_manifest.json: \$.views\[0\].data_source"):
        lib.extensions.install(root)
    (root / "ui_manifest.json").unlink()
    (root / "extension.wasm").unlink()
    with pytest.raises(ManifestError, match=r"\$.entry: 'extension.wasm' is not in the package"):
        lib.extensions.install(root)


def test_install_from_zip_records_grants_like_a_python_extension(world, tmp_path):
    lib, files = world
    pkg = write_package(tmp_path / "pkg")
    archive = tmp_path / "pkg.zip"
    archive.write_bytes(zip_package({p.name: p.read_bytes() for p in pkg.iterdir()}))
    mgr = lib.extensions
    with pytest.raises(PermissionDenied, match="DispatchJobs"):
        mgr.install(archive, [Permission.DispatchJobs])            # not requested
    ctx = mgr.install(archive, [Permission.ReadEntries(glob="**/*.txt").scoped_to(
        str(files / "public"))], config={"min_size": 3})
    rows = lib.conn.execute("SELECT permission, params, scope FROM extension_grants "
                            "WHERE extension_id = ?", (EXT,)).fetchall()
    assert rows == [("ReadEntries", '{"glob": "**/*.txt"}', json.dumps([str(files / "public")]))]
    assert mgr.record(EXT)["config"] == {"min_size": 3}
    assert (lib.path / "extensions" / EXT / "1.0.0" / "extension.wasm").is_file()
    assert ctx.definition.settings_schema["properties"]["min_size"]["title"] == "Minimum size"


def test_job_runs_steps_and_tasks_through_the_jobs_runtime(world, tmp_path):
    lib, _ = world
    lib.extensions.install(write_package(tmp_path / "pkg"))
    job = lib.extensions.run_job(EXT, "scan")
    assert job.wait(timeout=60) == "finished"
    assert lib.jobs.store.get(job.id)["extension_id"] == EXT
    tasks = lib.jobs.store.tasks(job.id)
    assert sorted(t["key"] for t in tasks) == [f"{EXT}.echo:0.{i}" for i in range(3)]
    assert {t["status"] for t in tasks} == {"completed"}
    assert json.loads(lib.jobs.store.get(job.id)["checkpoint"])["results"] == [1, 2, 3]


def test_model_with_a_blob_field_is_stored_as_the_extension(world, tmp_path):
    lib, _ = world
    lib.extensions.install(write_package(tmp_path / "pkg"))
    from core.extensions.wasm.runtime import WasmRuntime
    rt = WasmRuntime.of(lib, EXT)
    rt.call("make", {})
    cls = rt.host().models["Big"]
    [m] = lib.vdfs().list_models(cls)
    assert m.size == 5 and m.blob == b"\x00\x01\x02"
    assert lib.conn.execute("SELECT extension_id FROM models").fetchall() == [(EXT,)]


def test_action_preview_is_checked_and_cannot_write(world, tmp_path):
    lib, files = world
    inside = entry_uuid(lib, files / "public/a.txt")
    outside = entry_uuid(lib, files / "private/b.txt")
    mgr = lib.extensions
    grants = [Permission.ReadEntries(glob="**/*.txt"),
              Permission.WriteTags.scoped_to(str(files / "public"))]
    lib.extensions.install(write_package(tmp_path / "ok", wasm=guest(inside)), grants)
    p = mgr.preview_action(EXT, f"{EXT}.propose")
    assert [c.target for c in p.changes] == [f"entry:{inside}"]
    mgr.commit_action(p)
    assert [t.name for t in lib.vdfs().tags_of_entry(inside)] == ["#big"]
    lib.extensions.install(write_package(tmp_path / "bad", wasm=guest(outside)), grants)
    with pytest.raises(PermissionDenied, match="WriteTags"):
        mgr.preview_action(EXT, f"{EXT}.propose")             # outside the WriteTags scope
    with pytest.raises(WasmGuestError, match="preview changes nothing"):
        mgr.preview_action(EXT, f"{EXT}.sneak")
    assert lib.vdfs().tags_of_entry(outside) == []


def test_installed_wasm_extension_comes_back_after_reopen(world, tmp_path):
    lib, _ = world
    lib.extensions.install(write_package(tmp_path / "pkg"))
    path = lib.path
    lib.close()
    from core.extensions import definition
    definition._DEFINED.pop(EXT, None)         # as in a new process
    again = core.Library.open(path)
    try:
        assert again.extensions.run_job(EXT, "scan").wait(timeout=60) == "finished"
    finally:
        again.close()


def test_cli_install_asks_before_granting(world, tmp_path):
    import subprocess
    import sys
    lib, _ = world
    root = write_package(tmp_path / "pkg")
    cli = [sys.executable, "-m", "core.cli", "-L", str(lib.path), "install", str(root)]
    lib.close()
    refused = subprocess.run(cli, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert refused.returncode == 2 and "pass --yes" in refused.stderr
    assert "ReadEntries(glob='**/*.txt') everywhere" in refused.stderr
    bad = subprocess.run(cli[:-1] + [str(tmp_path)], capture_output=True, text=True)
    assert bad.returncode == 1 and "vdfs: manifest.json" in bad.stderr
    done = subprocess.run(cli + ["--yes", "--scope", str(tmp_path / "files" / "public")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"installed {EXT} 1.0.0 with 2 grant(s)" in done.stdout
    again = core.Library.open(lib.path)
    try:
        scopes = again.conn.execute("SELECT DISTINCT scope FROM extension_grants").fetchall()
        assert scopes == [(json.dumps([str(tmp_path / "files" / "public")]),)]
    finally:
        again.close()


def test_agent_hooks_call_the_guest_for_events_inside_the_scope(world, tmp_path):
    lib, files = world
    manifest = dict(MANIFEST, hooks=[{"event": "tag.added", "export": "hook"}])
    lib.extensions.install(write_package(tmp_path / "pkg", manifest),
                 [Permission.ReadEntries(glob="**/*.txt").scoped_to(str(files / "public"))])
    trail = lib.path / "logs" / "extensions" / f"{EXT}.jsonl"

    def hooks_run() -> int:
        lines = trail.read_text().splitlines() if trail.exists() else []
        return sum(json.loads(ln)["msg"] == "hook ran" for ln in lines)

    lib.vdfs().add_tag_to_entry(entry_uuid(lib, files / "private/b.txt"), "#seen")
    lib.extensions.wait_idle()
    assert hooks_run() == 0                      # outside the read scope: never delivered
    lib.vdfs().add_tag_to_entry(entry_uuid(lib, files / "public/a.txt"), "#seen")
    lib.extensions.wait_idle()
    assert hooks_run() == 1


def test_manifest_exports_must_exist_in_the_module(world, tmp_path):
    lib, _ = world
    manifest = json.loads(json.dumps(MANIFEST))
    manifest["jobs"][0]["task"] = "missing"
    with pytest.raises(ManifestError, match=r"\$\.jobs\[0\]\.task: extension.wasm: the module "
                                            r"exports no function 'missing'"):
        lib.extensions.install(write_package(tmp_path / "pkg", manifest))
    assert lib.extensions.list() == []


OPS_MANIFEST = {
    "id": EXT, "name": "ops", "version": "1.0.0", "abi_version": 1,
    "permissions": [{"permission": "ReadEntries", "params": {"glob": "**"}},
                    {"permission": "ReadSidecars", "params": {"kinds": ["faces"]}},
                    {"permission": "WriteSidecars", "params": {"kinds": ["faces"]}},
                    {"permission": "DispatchJobs"},
                    {"permission": "UseModel", "params": {"category": "scene"}}],
    "jobs": [{"name": "scan", "export": "run"}]}


def test_sidecars_dispatch_and_ai_go_through_the_grants(world, tmp_path):
    """The remaining host operations, from a real guest, granted and refused."""
    from core.extensions.wasm.runtime import WasmRuntime
    lib, files = world
    root = write_package(tmp_path / "pkg", OPS_MANIFEST, wasm=g.proxy())
    grants = [Permission.ReadEntries(glob="**").scoped_to(str(files / "public")),
              Permission.WriteSidecars(kinds=["faces"]), Permission.ReadSidecars(kinds=["faces"])]
    lib.extensions.install(root, grants)
    rt = WasmRuntime.of(lib, EXT)
    content = lib.conn.execute("SELECT c.uuid FROM entries e JOIN content_identities c ON "
                               "c.id = e.content_id WHERE e.path = ?",
                               (str(files / "public/a.txt"),)).fetchone()[0]
    cu = str(uuid.UUID(bytes=content))

    def call(op: str, request: dict):
        return rt.call("run", g.proxy_input(op, json.dumps(request)))

    call("sidecar.write", {"content": cu, "kind": "faces", "data": '{"n": 2}'})
    assert call("sidecar.read", {"content": cu, "kind": "faces"}) == b'{"n": 2}'
    with pytest.raises(WasmGuestError, match="PermissionDenied: .*kind 'ocr'"):
        call("sidecar.write", {"content": cu, "kind": "ocr", "data": "x"})
    with pytest.raises(WasmGuestError, match="PermissionDenied: .*DispatchJobs was not granted"):
        call("job.dispatch", {"job": "scan"})
    with pytest.raises(WasmGuestError, match=r"PermissionDenied: .*UseModel\(category='scene'\)"):
        call("ai.run", {"model": "scene:tiny", "args": {"prompt": "hi"}})
    lib.extensions.install(root, grants + [Permission.DispatchJobs])
    dispatched = json.loads(WasmRuntime.of(lib, EXT).call(
        "run", g.proxy_input("job.dispatch", '{"job": "scan"}')))
    assert lib.jobs.store.get(dispatched["job_id"])["extension_id"] == EXT


def test_upgrade_keeps_grants_settings_and_models(world, tmp_path):
    lib, files = world
    mgr = lib.extensions
    grants = [Permission.ReadEntries(glob="**/*.txt").scoped_to(str(files / "public"))]
    lib.extensions.install(write_package(tmp_path / "v1"), grants, config={"min_size": 7})
    from core.extensions.wasm.runtime import WasmRuntime
    WasmRuntime.of(lib, EXT).call("make", {})
    mgr.upgrade(write_package(tmp_path / "v2", dict(MANIFEST, version="1.1.0")))
    rec = mgr.record(EXT)
    assert (rec["version"], rec["config"]) == ("1.1.0", {"min_size": 7})
    assert mgr.grants(EXT) == grants
    assert lib.extensions.run_job(EXT, "scan").wait(timeout=60) == "finished"
    assert lib.conn.execute("SELECT count(*) FROM models WHERE extension_id = ?",
                            (EXT,)).fetchone()[0] == 1


def test_a_corrupt_zip_is_a_manifest_error(world, tmp_path):
    """A .zip whose member fails its CRC is the package's fault, named as such, not a raw
    zipfile.BadZipFile reaching the user."""
    lib, _ = world
    pkg = write_package(tmp_path / "pkg")
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        for p in pkg.iterdir():
            z.writestr(p.name, p.read_bytes())
    data = bytearray(archive.read_bytes())
    data[data.index(b"abi_version")] ^= 0x20     # manifest.json's stored bytes no longer match its CRC
    archive.write_bytes(bytes(data))
    with pytest.raises(ManifestError, match="bad.zip"):
        lib.extensions.install(archive)

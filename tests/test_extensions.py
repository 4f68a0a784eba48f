"""Extension definition, install refusals, grants, and the permission-bound host API."""
from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass

import pytest

from core.ai import ModelSource
from core.extensions import Permission, PermissionDenied
from core.extensions.definition import ExtensionError, discover_names, extension, resolve
from core.extensions.manager import ExtensionManager
from core.extensions.settings import SettingsError, setting
from core.actions import action
from core.jobs import job, task
from core.domain.metadata import NotFoundError
from core.domain.models import model

EXT = "com.test.demo"


@model(version="1.0.0", scope="content", extension_id=EXT)
@dataclass
class Note:
    text: str = ""


@model(version="1.0.0", scope="standalone", extension_id=EXT)
@dataclass
class Board:
    name: str = ""


@model(version="1.0.0", scope="standalone", extension_id="com.test.other")
@dataclass
class Foreign:
    name: str = ""


def every_file(lib):
    """[uuid, name] of every file in the library: what the test hands an extension's job, task
    or action to try (extension code has no library handle to list them itself)."""
    return [[str(uuid.UUID(bytes=eu)), name] for eu, name in lib.conn.execute(
        "SELECT uuid, name FROM entries WHERE is_dir = 0 ORDER BY name").fetchall()]


@job(name="demo_count")
def count_visible(ctx, tag: str = "#seen", files=()):
    """Tags every given file it may through the job's own (scoped) host API."""
    api = ctx.vdfs()
    seen = 0
    for eu, _ in files:
        try:
            api.add_tag_to_entry(uuid.UUID(eu), tag)
            seen += 1
        except PermissionDenied:
            pass
    return seen


def _readable(api, files):
    """Names of the files whose tags `api` lets the caller read (PermissionDenied for others)."""
    names = []
    for eu, name in files:
        try:
            api.tags_of_entry(uuid.UUID(eu))
            names.append(name)
        except PermissionDenied:
            pass
    return names


@task
def read_in_task(ctx, files):
    return _readable(ctx.vdfs(), files)


@job(name="demo_task_reads")
def task_reads(ctx, files):
    """A task of an extension's job reads through its own ctx.vdfs()."""
    return ctx.run(read_in_task, files)


@action(name=f"{EXT}.readable", extension_id=EXT)
def readable_action(ctx, files):
    return ctx.preview(",".join(_readable(ctx.vdfs(), files)), [])


class DemoConfig:
    enabled: bool = setting(label="Enabled", default=True)
    mode: str = setting(label="Mode", default="fast", choices=["fast", "thorough"])


@extension(id=EXT, name="Demo", version="1.0.0", min_core_version="2.0.0",
           required_features=["exif_extraction"],
           permissions=[Permission.ReadEntries(glob="**/*.{jpg,png}"), Permission.WriteTags,
                        Permission.ReadSidecars(kinds=["exif"]),
                        Permission.WriteSidecars(kinds=["faces"]),
                        Permission.WriteCustomFields(namespaces=["demo"]),
                        Permission.DispatchJobs,
                        Permission.UseModel(category="scene", preference="local")])
class Demo:
    config: DemoConfig
    models = [Note, Board]
    jobs = [count_visible, task_reads]
    actions = [readable_action]
    migrated_from: list = []

    def migrate(self, ctx, from_version):
        Demo.migrated_from.append(from_version)


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "files"
    for rel in ("photos/a.jpg", "photos/deep/b.png", "photos/notes.txt", "private/c.jpg"):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(rel.encode() * 3)
    return root


@pytest.fixture
def indexed(lib, tree):
    lib.index(lib.add_location(tree)).wait(timeout=60)
    mgr = lib.extensions
    yield lib, mgr, tree
    mgr.close()


def entry(lib, path):
    row = lib.conn.execute("SELECT e.uuid, c.uuid FROM entries e LEFT JOIN content_identities c "
                           "ON c.id = e.content_id WHERE e.path = ?", (str(path),)).fetchone()
    return uuid.UUID(bytes=row[0]), uuid.UUID(bytes=row[1]) if row[1] else None


def test_definition_collects_components_and_settings_schema():
    d = resolve(Demo)
    assert d.id == EXT and d.models == [Note, Board] and d.jobs == [count_visible, task_reads]
    schema = d.settings_schema["properties"]
    assert schema["enabled"] == {"title": "Enabled", "default": True, "type": "boolean"}
    assert schema["mode"]["enum"] == ["fast", "thorough"]
    with pytest.raises(ExtensionError, match="reverse-DNS"):
        extension(id="Demo", name="x", version="1.0.0")


def test_install_refuses_newer_core_and_missing_features(lib):
    mgr = lib.extensions

    @extension(id="com.test.future", name="F", version="1.0.0", min_core_version="9.1.0")
    class Future:
        pass

    @extension(id="com.test.needy", name="N", version="1.0.0",
               required_features=["ai_models", "teleportation", "time_travel"])
    class Needy:
        pass
    with pytest.raises(ExtensionError, match=r"needs core >= 9\.1\.0, but this core is 2\.0\.0"):
        mgr.install(Future)
    with pytest.raises(ExtensionError, match="lacks: teleportation, time_travel$"):
        mgr.install(Needy)
    assert mgr.list() == []


def test_install_records_grants_and_validates_config(indexed):
    lib, mgr, tree = indexed
    with pytest.raises(PermissionDenied, match=r"kinds \['passwords'\] were not requested"):
        mgr.install(Demo, [Permission.WriteSidecars(kinds=["faces", "passwords"])])
    with pytest.raises(SettingsError, match=r"\$\.mode"):
        mgr.install(Demo, [Permission.WriteTags], config={"mode": "reckless"})
    assert mgr.list() == []
    mgr.install(Demo, [Permission.ReadEntries(glob="**/*.jpg").scoped_to(str(tree / "photos")),
                       Permission.WriteTags], config={"mode": "thorough"})
    rec = mgr.record(EXT)
    assert rec["version"] == "1.0.0" and rec["config"] == {"enabled": True, "mode": "thorough"}
    rows = lib.conn.execute("SELECT permission, params, scope FROM extension_grants "
                            "WHERE extension_id = ? ORDER BY id", (EXT,)).fetchall()
    assert rows == [("ReadEntries", '{"glob": "**/*.jpg"}', f'["{tree / "photos"}"]'),
                    ("WriteTags", "{}", "[]")]
    assert mgr.context(EXT).config.mode == "thorough"


def test_host_api_refuses_everything_outside_grants_and_scope(indexed):
    lib, mgr, tree = indexed
    ctx = mgr.install(Demo, [
        Permission.ReadEntries(glob="**/*.{jpg,png}").scoped_to(str(tree / "photos")),
        Permission.ReadSidecars(kinds=["exif"]).scoped_to(str(tree / "photos")),
        Permission.WriteCustomFields(namespaces=["demo"])])
    api = ctx.vdfs()
    a_entry, a_content = entry(lib, tree / "photos/a.jpg")
    _, c_content = entry(lib, tree / "private/c.jpg")
    txt_entry, _ = entry(lib, tree / "photos/notes.txt")
    assert api.read_entry(a_entry) == b"photos/a.jpg" * 3
    with pytest.raises(PermissionDenied, match=r"ReadEntries\(glob='\*\*/\*\.\{jpg,png\}'\) \(scope \["):
        api.read_entry(txt_entry)                               # outside the glob
    with pytest.raises(PermissionDenied, match="has no entry inside the granted glob or scope"):
        api.create_model_for_content(c_content, Note(text="x"))  # outside the scope
    with pytest.raises(PermissionDenied, match="WriteTags was not granted"):
        api.add_tag_to_content(a_content, "#nice")
    with pytest.raises(PermissionDenied, match="belongs to extension 'com.test.other'"):
        api.create_model(Foreign(name="x"))
    with pytest.raises(PermissionDenied, match="namespace 'other' was not granted"):
        api.set_custom_field(a_content, "other", {"x": 1})
    with pytest.raises(PermissionDenied, match="user's own metadata"):
        api.set_note(a_entry, "hello")
    with pytest.raises(PermissionDenied, match="does not expose 'conn'"):
        api.conn
    with pytest.raises(PermissionDenied, match=r"UseModel\(category='scene'\).*not granted"):
        ctx.ai().from_registered("scene:tiny")
    with pytest.raises(PermissionDenied, match="DispatchJobs was not granted"):
        ctx.dispatch_job(count_visible)
    with pytest.raises(PermissionDenied, match="kind 'faces'"):
        api.read_sidecar(a_content, "faces")
    # what is granted works, and acts as the extension
    mu = api.create_model_for_content(a_content, Note(text="seen"))
    assert api.get_model_by_content(Note, a_content).text == "seen"
    api.set_custom_field(a_content, "demo", {"score": 3})
    assert lib.vdfs().get_metadata(a_content, scope="content").custom_data == {"demo": {"score": 3}}
    assert lib.conn.execute("SELECT extension_id FROM models WHERE uuid = ?",
                            (mu.bytes,)).fetchone()[0] == EXT


def test_tag_scope_and_unscoped_model_use(indexed, tmp_path):
    lib, mgr, tree = indexed
    from tests.test_ai_models import affine_relu_onnx
    ctx = mgr.install(Demo, [Permission.ReadEntries(glob="**/*.{jpg,png}"),
                             Permission.WriteTags.scoped_to(str(tree / "photos")),
                             Permission.UseModel(category="scene", preference="local")])
    ctx.models().register("tiny", "scene", ModelSource.bundled(affine_relu_onnx()))
    assert ctx.ai().from_registered("scene:tiny").input_names == ["x"]
    api = ctx.vdfs()
    a_entry, a_content = entry(lib, tree / "photos/deep/b.png")
    c_entry, _ = entry(lib, tree / "private/c.jpg")
    assert api.add_tag_to_entry(a_entry, "#demo")
    assert [t.applied_by for t in lib.vdfs().tags_of_entry(a_entry)] == [EXT]
    with pytest.raises(PermissionDenied, match=r"WriteTags \(scope \[.*photos'\]\).*outside the granted"):
        api.add_tag_to_entry(c_entry, "#demo")     # readable, but tagging is scoped to photos/


def test_dispatched_job_gets_the_scoped_host(indexed):
    lib, mgr, tree = indexed
    ctx = mgr.install(Demo, [Permission.ReadEntries(glob="**/*.jpg").scoped_to(str(tree / "photos")),
                             Permission.WriteTags, Permission.DispatchJobs])
    job_ = ctx.dispatch_job(count_visible, tag="#seen", files=every_file(lib))
    assert job_.wait(timeout=60) == 1                  # only photos/a.jpg: png and private/ refused
    assert lib.jobs.get(job_.id).info()["extension_id"] == EXT


def test_content_is_reached_through_any_of_its_visible_copies(lib, tmp_path):
    """Scoped sidecar and custom-field grants pass when any readable copy is in their scope,
    whichever copy the database lists first."""
    root = tmp_path / "two"
    for rel in ("a_private/x.jpg", "b_photos/x.jpg"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"same bytes")
    (root / "a_private/y.jpg").write_bytes(b"other bytes")
    lib.index(lib.add_location(root)).wait(timeout=60)
    mgr = lib.extensions
    photos = str(root / "b_photos")
    api = mgr.install(Demo, [Permission.ReadEntries(glob="**/*.{jpg,png}"),
                             Permission.ReadSidecars(kinds=["exif"]).scoped_to(photos),
                             Permission.WriteSidecars(kinds=["faces"]).scoped_to(photos),
                             Permission.WriteCustomFields(namespaces=["demo"]).scoped_to(photos)]
                      ).vdfs()
    _, cu = entry(lib, root / "a_private/x.jpg")
    api.write_sidecar(cu, "faces", b"[]")
    api.set_custom_field(cu, "demo", {"n": 1})
    api.set_metadata_blob(cu, "demo.vec", b"\x01\x02")
    assert api.get_metadata_blob(cu, "demo.vec") == b"\x01\x02"
    with pytest.raises(NotFoundError, match="no exif sidecar"):   # checked, then looked for
        api.read_sidecar(cu, "exif")
    _, only_private = entry(lib, root / "a_private/y.jpg")
    with pytest.raises(PermissionDenied, match="outside the granted scope"):
        api.write_sidecar(only_private, "faces", b"[]")
    with pytest.raises(PermissionDenied, match="outside the granted scope"):
        api.set_metadata_blob(only_private, "demo.vec", b"\x01")
    mgr.close()


def test_tasks_and_actions_of_an_extension_get_its_scoped_host(indexed):
    lib, mgr, tree = indexed
    mgr.install(Demo, [Permission.ReadEntries(glob="**/*.jpg").scoped_to(str(tree / "photos"))])
    # photos/b.png (glob), notes.txt (glob) and private/c.jpg (scope) are refused
    files = every_file(lib)
    assert mgr.run_job(EXT, task_reads, files=files).wait(timeout=60) == ["a.jpg"]
    assert mgr.preview_action(EXT, readable_action, files=files).title == "a.jpg"
    assert lib.actions.preview(f"{EXT}.readable", files=files).title == "a.jpg"   # however it is started
    assert _readable(lib.vdfs(), files) == ["a.jpg", "b.png", "c.jpg", "notes.txt"]


def test_upgrade_keeps_grants_config_and_data_and_uninstall(indexed):
    lib, mgr, tree = indexed
    ctx = mgr.install(Demo, "requested", config={"mode": "thorough"})
    board = Board(name="keep me")
    ctx.vdfs().create_model(board)

    @extension(id=EXT, name="Demo", version="1.1.0", permissions=resolve(Demo).permissions)
    class Demo2:
        config: DemoConfig
        models = [Note, Board]
        jobs = [count_visible]

        def migrate(self, ctx, from_version):
            Demo.migrated_from.append(from_version)
    try:
        new_ctx = mgr.upgrade(Demo2)
        assert mgr.record(EXT)["version"] == "1.1.0" and Demo.migrated_from[-1] == "1.0.0"
        assert new_ctx.config.mode == "thorough"
        assert [g.permission for g in mgr.grants(EXT)] == resolve(Demo).permissions
        assert [b.name for b in new_ctx.vdfs().list_models(Board)] == ["keep me"]
        mgr.uninstall(EXT)                      # keep_data by default
        assert mgr.list() == [] and lib.vdfs().list_models(Board)
        ctx2 = mgr.install(Demo2, "requested")
        a_entry, a_content = entry(lib, tree / "photos/a.jpg")
        ctx2.vdfs().add_tag_to_content(a_content, "#demo")
        lib.vdfs().add_tag_to_content(a_content, "#mine")           # the user's own tag stays
        mgr.uninstall(EXT, keep_data=False)
        assert lib.vdfs().list_models(Board) == []
        assert [t.name for t in lib.vdfs().tags_of_content(a_content)] == ["#mine"]
        assert lib.conn.execute("SELECT count(*) FROM extension_grants").fetchone()[0] == 0
    finally:
        from core.extensions import definition
        definition._DEFINED[EXT] = resolve(Demo)


def test_discovery_through_entry_points(tmp_path, monkeypatch, lib):
    pkg = tmp_path / "site"
    (pkg / "ep_demo_ext").mkdir(parents=True)
    (pkg / "ep_demo_ext" / "__init__.py").write_text(
        "from core.extensions import Permission\n"
        "from core.extensions.definition import extension\n"
        "@extension(id='com.test.entrypoint', name='EP', version='0.1.0',\n"
        "           permissions=[Permission.WriteTags])\n"
        "class EP:\n    pass\n")
    dist = pkg / "ep_demo_ext-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-demo-ext\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[vdfs.extensions]\ncom.test.entrypoint = ep_demo_ext:EP\n")
    monkeypatch.syspath_prepend(str(pkg))
    assert "com.test.entrypoint" in discover_names()
    mgr = lib.extensions
    mgr.install("com.test.entrypoint", "requested")
    assert mgr.record("com.test.entrypoint")["name"] == "EP"
    sys.modules.pop("ep_demo_ext", None)


def test_queries_return_only_rows_inside_the_scope(indexed):
    lib, mgr, tree = indexed
    ctx = mgr.install(Demo, [Permission.ReadEntries(glob="**/*.jpg").scoped_to(str(tree / "photos"))])
    api = ctx.vdfs()
    everything = {r["path"] for r in lib.query("entries").rows()}
    assert str(tree / "private/c.jpg") in everything and len(everything) > 3
    visible = {r["path"] for r in api.query("entries").rows()}
    assert visible == {str(tree / "photos/a.jpg")}
    assert api.query_entries().count() == 1                          # counts see the scope too
    assert [e["path"] for e in api.query_entries().of_type("image").collect()] == \
        [str(tree / "photos/a.jpg")]
    assert api.query("entries where name = 'c.jpg'").rows() == []
    sql = api.explain("entries").sql if hasattr(api.explain("entries"), "sql") else str(api.explain("entries"))
    assert "regexp" in sql.lower()                                   # compiled in, not filtered after
    with pytest.raises(PermissionDenied, match="not 'tags'"):
        api.query("tags")
    with pytest.raises(PermissionDenied, match="belongs to extension 'com.test.other'"):
        api.query_models(Foreign)
    # re-granting without ReadEntries leaves nothing visible
    ctx = mgr.install(Demo, [Permission.WriteTags])
    assert ctx.vdfs().query("entries").rows() == []


def test_models_query_is_pinned_to_the_extension(indexed):
    lib, mgr, tree = indexed
    ctx = mgr.install(Demo, "requested")
    ctx.vdfs().create_model(Board(name="mine"))
    lib.vdfs().create_model(Foreign(name="theirs"))
    assert [b.name for b in ctx.vdfs().query_models(Board).collect()] == ["mine"]
    assert {r["extension_id"] for r in ctx.vdfs().query("models Board").rows()} == {EXT}


CELL = '''
from dataclasses import dataclass
from core.sdk import extension, model, agent, Permission, setting

@model(scope="standalone", extension_id="com.test.cell")
@dataclass
class Seen:
    path: str = ""

class CellConfig:
    prefix: str = setting(label="Tag prefix", default="#cell")

@agent
@extension(id="com.test.cell", name="Cell", version="0.1.0",
           permissions=[Permission.ReadEntries(), Permission.WriteTags])
class Cell:
    config: CellConfig
    models = [Seen]

    def on_new_entry(self, ctx, entry):
        if entry.kind != "directory":
            ctx.vdfs().add_tag(entry.id, self.config.prefix + ":seen")
            ctx.vdfs().create_model(Seen(path=entry.path))
'''


def test_extension_defined_in_a_notebook_cell_installs_without_restart(lib, tmp_path):
    namespace = {"__name__": "__main__"}
    exec(compile(CELL, "<cell>", "exec"), namespace)          # what a notebook cell does
    mgr = lib.extensions
    mgr.install(namespace["Cell"], "requested", config={"prefix": "#nb"})
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("a")
    lib.index(lib.add_location(tmp_path / "docs")).wait(timeout=60)
    mgr.wait_idle()
    assert [s.path for s in mgr.context("com.test.cell").vdfs().list_models(namespace["Seen"])] == \
        [str(tmp_path / "docs" / "a.txt")]
    assert lib.query("entries tagged '#nb:seen'").rows()[0]["name"] == "a.txt"
    mgr.close()


GLOBS = ["**", "*.jpg", "**/*.jpg", "a/**", "**/b?/*.{txt,JPG}", "a/*/c*", "{a,b}/**/*.png",
         "**/[ab]*", "?/**"]


def test_scope_in_sql_agrees_with_the_python_check(tmp_path):
    """For any grant (glob, requested glob, prefix), the rows a scoped query returns are exactly
    the entries the host API's per-entry check allows."""
    from hypothesis import HealthCheck, given, settings, strategies as st
    import core
    from core.access.permissions import GrantSet
    from core.extensions.scope_query import ScopedExecutor
    root = tmp_path / "t"
    rels = ["x.jpg", "X.JPG", "a/x.jpg", "a/b1/y.txt", "a/b1/z.JPG", "a/q/c1.png", "a/q/d.png",
            "b/b2/n.txt", "b/deep/er/k.png", "c/b9/p.jpg", "a b/[odd].jpg", "bz.txt"]
    for rel in rels:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    lib = core.Library.create(tmp_path / "s.vdfs")
    try:
        lib.index(lib.add_location(root)).wait(timeout=60)
        paths = [r[0] for r in lib.conn.execute("SELECT path FROM entries")]
        folders = [str(root)] + sorted({str((root / r).parent) for r in rels}) + [str(root / "a b")]

        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.sampled_from(GLOBS), st.sampled_from(GLOBS),
               st.one_of(st.none(), st.sampled_from(folders)))
        def check(granted, requested, prefix):
            perm = Permission.ReadEntries(glob=granted)
            grant = perm.scoped_to(prefix) if prefix else perm.scoped_to()
            gs = GrantSet("com.test.prop", [Permission.ReadEntries(glob=requested)], [grant], lib)
            got = {r["path"] for r in ScopedExecutor(lib, gs).run("entries").rows()}
            assert got == {p for p in paths if gs.entry_allowed(p, str(root))}
        check()
    finally:
        lib.close()


def test_ai_models_register_on_install_and_a_bad_download_refuses_it(lib):
    import hashlib
    from tests.test_ai_models import _Server, affine_relu_onnx
    blob = affine_relu_onnx()
    server = _Server({("GET", "/m.onnx"): lambda _: (200, blob)})
    try:
        def make(sha):
            @extension(id="com.test.models", name="M", version="1.0.0",
                       permissions=[Permission.UseModel(category="scene")])
            class WithModels:
                ai_models = [("remote", "scene", ModelSource.download(server.url + "/m.onnx", sha))]

                def init(self, ctx):
                    ctx.models().register("inline", "scene", ModelSource.bundled(blob))
            return WithModels
        mgr = lib.extensions
        from core.ai import ModelIntegrityError
        with pytest.raises(ModelIntegrityError, match="refused and deleted"):
            mgr.install(make("f" * 64), "requested")
        assert mgr.record("com.test.models") is None
        ctx = mgr.install(make(hashlib.sha256(blob).hexdigest()), "requested")
        assert {m.ref for m in ctx.models().list()} == {"scene:remote", "scene:inline"}
        assert ctx.ai().from_registered("scene:remote").output_names == ["y"]
        mgr.uninstall("com.test.models", keep_data=False)
        assert ctx.models().list() == []
    finally:
        server.close()

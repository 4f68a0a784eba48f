"""The reference WASM extension (extensions/large_files, C) built from source by the project's
build step, installed, and run end to end: its job through the jobs runtime, its models, its
tag action previewed and committed — all inside the grants it was given."""
from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from core.extensions import Permission, PermissionDenied
from core.extensions.manager import ExtensionManager
from core.extensions.wasm.runtime import WasmRuntime

REPO = Path(__file__).resolve().parent.parent
EXT = "com.vdfs.large_files"

needs_clang = pytest.mark.skipif(shutil.which("clang") is None or shutil.which("wasm-ld") is None,
                                 reason="clang and lld are needed to build the reference WASM "
                                        "extension (apt-get install clang lld)")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The package folder made by scripts/build-wasm.sh, extension.wasm freshly built from src/."""
    if shutil.which("clang") is None or shutil.which("wasm-ld") is None:
        pytest.skip("clang and lld are needed to build the reference WASM extension")
    out = tmp_path_factory.mktemp("wasm_build")
    subprocess.run(["sh", str(REPO / "scripts" / "build-wasm.sh")], check=True,
                   env={"PATH": "/usr/bin:/bin:/usr/local/bin", "OUT_DIR": str(out)},
                   capture_output=True)
    return out / "large_files"


@pytest.fixture
def world(lib, tmp_path):
    root = tmp_path / "files"
    sizes = {"public/big1.bin": 5000, "public/big2.bin": 7000, "public/copy.bin": 7000,
             "public/small.txt": 10, "private/huge.bin": 9000}
    for rel, n in sizes.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(bytes([n % 251]) * n if "copy" not in rel and "big2" not in rel
                      else b"same" * (n // 4))
    lib.index(lib.add_location(root)).wait(timeout=60)
    yield lib, root
    lib.extensions.close()


def entry_uuid(lib, path) -> uuid.UUID:
    return uuid.UUID(bytes=lib.conn.execute("SELECT uuid FROM entries WHERE path = ?",
                                            (str(path),)).fetchone()[0])


@needs_clang
def test_reference_extension_end_to_end(world, built):
    lib, root = world
    ctx = lib.extensions.install(built, [Permission.ReadEntries(glob="**").scoped_to(str(root / "public")),
                                    Permission.WriteTags.scoped_to(str(root / "public"))],
                       config={"min_size": 1000})
    assert ctx.definition.settings_schema["properties"]["tag"]["default"] == "#large"
    job = lib.extensions.run_job(EXT, "scan")
    result = job.wait(timeout=120)
    # private/huge.bin is outside the grant: the query never sees it
    assert result == {"large_files": 3, "bytes": 19000, "duplicate_groups": 1, "wasted_bytes": 7000}
    models = WasmRuntime.of(lib, EXT).host().models["LargeFile"]
    found = {m.name: m for m in lib.vdfs().list_models(models)}
    assert sorted(found) == ["big1.bin", "big2.bin", "copy.bin"]
    assert found["copy.bin"].head == b"same" * 4 and found["big1.bin"].size == 5000
    assert lib.jobs.store.get(job.id)["progress_done"] == 3

    mgr = lib.extensions
    p = mgr.preview_action(EXT, f"{EXT}.tag_large")
    assert p.title == "Tag 3 large files" and len(p.changes) == 3
    mgr.commit_action(p)
    tagged = {r["name"] for r in lib.query('entries tagged "#large"').rows()}
    assert tagged == {"big1.bin", "big2.bin", "copy.bin"}
    assert lib.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@needs_clang
def test_reference_action_outside_the_write_scope_is_refused(world, built):
    lib, root = world
    lib.extensions.install(built, [Permission.ReadEntries(glob="**"),
                              Permission.WriteTags.scoped_to(str(root / "public"))],
                 config={"min_size": 8000})
    with pytest.raises(PermissionDenied, match="WriteTags"):
        lib.extensions.preview_action(EXT, f"{EXT}.tag_large")   # private/huge.bin
    assert lib.vdfs().tags_of_entry(entry_uuid(lib, root / "private/huge.bin")) == []


@needs_clang
def test_install_dialog_and_view_of_the_reference_extension(world, built):
    """What `%vdfs install PATH` and `%vdfs view EXT/VIEW` do with a WASM package."""
    from kernel_ext.widgets.install import InstallDialog
    from kernel_ext.widgets.views import render_view
    lib, root = world
    dialog = InstallDialog.start(lib, built)
    assert "[x] ReadEntries(glob='**')" in dialog.text() and "pending" in dialog.text()
    public = [str(root / "public")]
    dialog.install(scopes={"ReadEntries": public, "WriteTags": public})
    assert "installed com.vdfs.large_files 1.0.0 with 2 grants" in dialog.text()
    view = render_view(lib, EXT, "largest_files")      # its ui_manifest.json, from the package
    assert (view.label, view.component, view.rows) == ("Largest files", "table_view", [])

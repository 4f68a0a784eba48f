"""An extension's scope holds on every path: reads never follow links, the query scope compares
location roots exactly, extension actions are checked in core whoever starts them, field names
never reach SQL raw, and the scoped API hides the unscoped one."""
from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass

import pytest
from hypothesis import given, settings, strategies as st

from core.actions import action
from core.extensions import Permission, PermissionDenied
from core.extensions.definition import extension
from core.extensions.host import ScopedVdfsApi
from core.extensions.manager import ExtensionManager
from core.access.permissions import GrantSet
from core.extensions.scope_query import apply_scope
from core.jobs import job
from core.domain.metadata import NotFoundError
from core.domain.models import model
from core.domain.sidecars import Sidecars
from vdfs_query import ir
from vdfs_query.errors import VdfsSyntaxError

EXT = "com.test.scope"
OTHER = "com.test.scope_other"


@model(version="1.0.0", scope="standalone", extension_id=EXT)
@dataclass
class Mine:
    name: str = ""


@model(version="1.0.0", scope="standalone", extension_id=OTHER)
@dataclass
class Secret:
    name: str = ""


@action(name=f"{EXT}.grab", extension_id=EXT)
def grab(ctx, entry: str, to: str = "", tag: str = ""):
    """Moves `entry` to `to` and/or tags it: whatever the caller asks, to test the checks."""
    changes = []
    if to:
        changes.append(ctx.move(uuid.UUID(entry), to))
    if tag:
        changes.append(ctx.add_tag(uuid.UUID(entry), tag))
    return ctx.preview("grab", changes)


@job(name="peek")
def peek(ctx, entry: str):
    """Reads one file through the job's host API: what the scope allows, or the refusal."""
    try:
        return ctx.vdfs().read_entry(uuid.UUID(entry)).decode()
    except PermissionDenied as exc:
        return f"refused: {exc}"


@extension(id=EXT, name="Scope test", version="1.0.0",
           permissions=[Permission.ReadEntries(glob="**"), Permission.WriteTags])
class ScopeExt:
    models = [Mine]
    actions = [grab]
    jobs = [peek]


@extension(id=OTHER, name="Other", version="1.0.0", permissions=[Permission.ReadEntries()])
class OtherExt:
    models = [Secret]


def entry_uuid(lib, path) -> uuid.UUID:
    row = lib.conn.execute("SELECT uuid FROM entries WHERE path = ?", (str(path),)).fetchone()
    assert row is not None, f"{path} not indexed"
    return uuid.UUID(bytes=row[0])


@pytest.fixture
def world(lib, tmp_path):
    """/…/files/inside (granted) and /…/files/outside (not), indexed as one location."""
    root = tmp_path / "files"
    (root / "inside").mkdir(parents=True)
    (root / "outside").mkdir()
    (root / "inside" / "ok.txt").write_bytes(b"inside bytes")
    (root / "outside" / "secret.txt").write_bytes(b"SECRET")
    mgr = lib.extensions
    yield lib, mgr, root
    mgr.close()


def install(lib, mgr, root, *scope):
    lib.index(lib.add_location(root)).wait(timeout=60)
    grants = [Permission.ReadEntries(glob="**").scoped_to(*scope),
              Permission.WriteTags.scoped_to(*scope)]
    return mgr.install(ScopeExt, grants).vdfs()


# ---- reads never follow links --------------------------------------------------------------
def test_a_symlink_inside_the_scope_to_a_file_outside_is_refused(world):
    lib, mgr, root = world
    os.symlink(root / "outside" / "secret.txt", root / "inside" / "link.txt")
    os.symlink(root / "outside", root / "inside" / "dirlink")
    os.symlink(root / "inside" / "ok.txt", root / "inside" / "samedir.txt")
    api = install(lib, mgr, root, str(root / "inside"))
    with pytest.raises(PermissionDenied, match="symlink"):    # even a link that stays inside
        api.read_entry(entry_uuid(lib, root / "inside" / "samedir.txt"))
    assert api.read_entry(entry_uuid(lib, root / "inside" / "ok.txt")) == b"inside bytes"
    with pytest.raises(PermissionDenied, match=r"scope.*inside.*link\.txt.*symlink"):
        api.read_entry(entry_uuid(lib, root / "inside" / "link.txt"))
    with pytest.raises(PermissionDenied, match="symlink"):
        api.read_entry(entry_uuid(lib, root / "inside" / "dirlink"))


def test_a_file_swapped_for_a_symlink_after_indexing_is_refused(world):
    lib, mgr, root = world
    api = install(lib, mgr, root, str(root / "inside"))
    eu = entry_uuid(lib, root / "inside" / "ok.txt")
    (root / "inside" / "ok.txt").unlink()
    os.symlink(root / "outside" / "secret.txt", root / "inside" / "ok.txt")
    with pytest.raises(PermissionDenied, match="symlink") as info:
        api.read_entry(eu)
    assert "SECRET" not in str(info.value)


def test_a_folder_on_the_way_swapped_for_a_symlink_is_refused(world):
    lib, mgr, root = world
    (root / "inside" / "sub").mkdir()
    (root / "inside" / "sub" / "a.txt").write_bytes(b"a")
    (root / "outside" / "a.txt").write_bytes(b"SECRET a")
    api = install(lib, mgr, root, str(root / "inside"))
    eu = entry_uuid(lib, root / "inside" / "sub" / "a.txt")
    os.rename(root / "inside" / "sub", root / "moved")
    os.symlink(root / "outside", root / "inside" / "sub")
    with pytest.raises(PermissionDenied, match="'sub'.*symlink"):
        api.read_entry(eu)


def test_an_entry_of_another_device_is_not_read_from_this_disk(world):
    """Same path, other machine: the local file at that path is not the indexed one."""
    lib, mgr, root = world
    api = install(lib, mgr, root)
    conn = lib.conn
    with conn:
        dev = conn.execute("INSERT INTO devices (uuid, name, created_at, last_seen_at) "
                           "VALUES (?, 'laptop', '2024-01-01', '2024-01-01')",
                           (uuid.uuid4().bytes,)).lastrowid
        loc = conn.execute("INSERT INTO locations (uuid, device_id, path, name, created_at) "
                           "VALUES (?, ?, ?, 'laptop files', '2024-01-01')",
                           (uuid.uuid4().bytes, dev, str(root))).lastrowid
        eu = uuid.uuid4()
        conn.execute("INSERT INTO entries (uuid, location_id, path, name, kind, indexed_at) "
                     "VALUES (?, ?, ?, 'ok.txt', 'document', '2024-01-01')",
                     (eu.bytes, loc, str(root / "inside" / "ok.txt")))
    with pytest.raises(NotFoundError, match="on another device"):
        api.read_entry(eu)


@pytest.mark.parametrize("swap", ["hard link to another file", "fifo"])
def test_a_file_replaced_by_another_inode_is_refused_without_hanging(world, swap):
    lib, mgr, root = world
    api = install(lib, mgr, root, str(root / "inside"))
    eu = entry_uuid(lib, root / "inside" / "ok.txt")
    os.unlink(root / "inside" / "ok.txt")
    if swap == "fifo":
        os.mkfifo(root / "inside" / "ok.txt")     # open() without O_NONBLOCK would hang here
    else:
        os.link(root / "outside" / "secret.txt", root / "inside" / "ok.txt")
    with pytest.raises(PermissionDenied, match="not a regular file|not the file that was indexed"):
        api.read_entry(eu)


def test_a_hard_link_inside_the_scope_is_read_through_its_inside_path(world):
    """Documented decision (docs/permissions.md): vdfs grants by path. A hard link inside the
    scope *is* a file inside the scope, even when the same inode also has a name outside."""
    lib, mgr, root = world
    os.link(root / "outside" / "secret.txt", root / "inside" / "hard.txt")
    api = install(lib, mgr, root, str(root / "inside"))
    assert api.read_entry(entry_uuid(lib, root / "inside" / "hard.txt")) == b"SECRET"
    with pytest.raises(PermissionDenied, match="outside the granted glob or scope"):
        api.read_entry(entry_uuid(lib, root / "outside" / "secret.txt"))


def sidecar_api(lib, root, *wanted):
    """The indexed world's inside/ok.txt content, and a scoped API holding `wanted` (unscoped)."""
    lib.index(lib.add_location(root)).wait(timeout=60)
    row = lib.conn.execute("SELECT c.uuid FROM entries e JOIN content_identities c "
                           "ON c.id = e.content_id WHERE e.path = ?",
                           (str(root / "inside" / "ok.txt"),)).fetchone()
    wanted = [Permission.ReadEntries(glob="**"), *wanted]
    grants = GrantSet(EXT, wanted, [p.scoped_to() for p in wanted], lib)
    return uuid.UUID(bytes=row[0]), ScopedVdfsApi(lib.vdfs(), grants)


def test_a_sidecar_swapped_for_a_symlink_is_refused(world):
    lib, mgr, root = world
    cu, api = sidecar_api(lib, root, Permission.ReadSidecars(["exif"]))
    target = Sidecars(lib.path).path(cu, "exif", "json")
    target.parent.mkdir(parents=True)
    os.symlink(root / "outside" / "secret.txt", target)
    with pytest.raises(PermissionDenied, match="symlink"):
        api.read_sidecar(cu, "exif")


def test_a_sidecar_write_never_follows_a_symlink(world):
    """A sidecar folder swapped for a symlink would carry an extension's write out of the
    library: the write walks down from the library folder without following links."""
    lib, mgr, root = world
    cu, api = sidecar_api(lib, root, Permission.WriteSidecars(["faces"]),
                          Permission.ReadSidecars(["faces"]))
    api.write_sidecar(cu, "faces", b"[1]")
    api.write_sidecar(cu, "faces", b"[2]")                     # replaced whole
    assert api.read_sidecar(cu, "faces") == b"[2]"
    folder = Sidecars(lib.path).path(cu, "faces", "json").parent
    planted = root / "outside" / "planted"
    folder.rename(planted)
    os.symlink(planted, folder)
    with pytest.raises(PermissionDenied, match="symlink"):
        api.write_sidecar(cu, "faces", b"[3]")
    assert sorted(p.name for p in planted.iterdir()) == ["faces.json"]
    assert (planted / "faces.json").read_bytes() == b"[2]"


# ---- the query scope compares location roots exactly ---------------------------------------
@pytest.fixture
def two_cases(lib, tmp_path):
    """Two locations whose roots differ only in case: .../photos (granted) and .../PHOTOS."""
    for name in ("photos", "PHOTOS"):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}_pic.jpg").write_bytes(name.encode() * 10)
        lib.index(lib.add_location(tmp_path / name)).wait(timeout=60)
    mgr = lib.extensions
    api = mgr.install(ScopeExt, [Permission.ReadEntries(glob="**").scoped_to("photos")]).vdfs()
    yield lib, api, tmp_path
    mgr.close()


QUERIES = {   # name: (query text, params, what the grant on `photos` must give)
    "entries": ("entries", {}, ["photos", "photos/photos_pic.jpg"]),
    "on this device": ("entries on this device", {}, ["photos", "photos/photos_pic.jpg"]),
    "in": ('entries in :folder', {"folder": "PHOTOS"}, []),
    "path in (:p)": ("entries where path in (:p)", {"p": ["PHOTOS", "PHOTOS/PHOTOS_pic.jpg"]}, []),
    "group by": ("entries group by location select location, count() as n", {}, [("photos", 2)]),
}


@pytest.mark.parametrize("route", ["sqlite", "duckdb"])
@pytest.mark.parametrize("name", QUERIES)
def test_a_grant_on_one_location_never_sees_a_location_differing_only_in_case(two_cases, name,
                                                                              route):
    lib, api, tmp = two_cases
    text, params, expected = QUERIES[name]
    params = {k: [str(tmp / x) for x in v] if isinstance(v, list) else str(tmp / v)
              for k, v in params.items()}
    scoped = apply_scope(text, lib.extensions.context(EXT).grants, lib)
    result = lib.engine.run(scoped, params, route=route)
    assert result.route == route
    rows = result.rows()
    assert rows == api.query(text, **params).rows()      # the extension's own door agrees
    if name == "group by":
        assert [(r["location"], r["n"]) for r in rows] == expected
    else:
        assert sorted(os.path.relpath(r["path"], tmp) for r in rows) == expected


def test_the_per_file_check_refuses_the_other_case_too(two_cases):
    lib, api, tmp = two_cases
    assert api.read_entry(entry_uuid(lib, tmp / "photos" / "photos_pic.jpg")) == b"photos" * 10
    with pytest.raises(PermissionDenied, match="outside the granted glob or scope"):
        api.read_entry(entry_uuid(lib, tmp / "PHOTOS" / "PHOTOS_pic.jpg"))


# ---- field names never reach SQL raw ---------------------------------------------------------
INJECTIONS = ["x') OR 1=1 --", 'a.b"', "x') IS NULL OR 1=1 --", "a..b", "1a", "a b", "a\n", ""]


@pytest.mark.parametrize("bad", INJECTIONS)
def test_a_hand_built_ref_with_a_bad_json_path_is_a_syntax_error(bad):
    with pytest.raises(VdfsSyntaxError, match="field"):
        ir.Ref(bad, "json", json=True)
    with pytest.raises(VdfsSyntaxError, match="field"):
        ir.Ref(bad, "text")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12))
def test_a_ref_is_built_only_for_dotted_identifiers(name):
    ok = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", name) is not None
    try:
        ir.Ref(name, "json", json=True)
    except VdfsSyntaxError:
        assert not ok
    else:
        assert ok


def test_a_hand_built_aggregate_or_operator_is_a_syntax_error():
    with pytest.raises(VdfsSyntaxError, match="aggregate"):
        ir.Agg("count(*) FROM models --")
    with pytest.raises(VdfsSyntaxError, match="operator"):
        ir.Cmp(ir.Ref("name", "text"), "= '' OR 1=1 --", ir.Lit(""))


@pytest.fixture
def two_extensions(lib):
    mgr = lib.extensions
    mgr.install(OtherExt, [Permission.ReadEntries()])
    api = mgr.install(ScopeExt, [Permission.ReadEntries(glob="**")]).vdfs()
    lib.vdfs().create_model(Secret(name="other's secret"))
    api.create_model(Mine(name="mine"))
    yield lib, api
    mgr.close()


def test_a_tampered_ir_never_reads_another_extensions_models(two_extensions):
    """Even a Ref altered after construction is checked again before any SQL is made."""
    lib, api = two_extensions
    assert [r["data"] for r in api.query("models Mine").rows()] == ['{"name": "mine"}']
    ref = ir.Ref("name", "json", json=True)
    object.__setattr__(ref, "name", "x') IS NULL OR 1=1 --")
    q = ir.Query("models", model_type="Mine", extension_id=EXT, where=ir.Null(ref))
    with pytest.raises(VdfsSyntaxError, match="field"):
        api.query(q).rows()
    agg = ir.Agg("count")
    object.__setattr__(agg, "fn", "count(*) FROM models --")
    q = ir.Query("models", model_type="Mine", extension_id=EXT, select=(ir.Out(agg, "n"),))
    with pytest.raises(VdfsSyntaxError, match="aggregate"):
        api.query(q).rows()


# ---- extension actions are checked in core, however they are started ----------------------
def test_an_extension_action_previewed_from_plain_python_is_checked(world):
    lib, mgr, root = world
    install(lib, mgr, root, str(root / "inside"))
    private = entry_uuid(lib, root / "outside" / "secret.txt")
    stolen = root / "inside" / "stolen.txt"
    with pytest.raises(PermissionDenied, match=r"extensions cannot move.*secret\.txt"):
        lib.actions.preview(f"{EXT}.grab", entry=str(private), to=str(stolen))
    with pytest.raises(PermissionDenied, match=r"scope .*inside.*secret\.txt is outside the gr"):
        lib.actions.preview(grab, entry=str(private), tag="#mine")
    ok = entry_uuid(lib, root / "inside" / "ok.txt")
    lib.actions.commit(lib.actions.preview(grab, entry=str(ok), tag="#fine"))
    assert (root / "outside" / "secret.txt").exists() and not stolen.exists()
    tagged = lib.query('entries tagged "#mine"').rows() + lib.query('entries tagged "#fine"').rows()
    assert [r["name"] for r in tagged] == ["ok.txt"]


def test_an_extension_preview_built_by_hand_is_checked_again_at_commit(world):
    lib, mgr, root = world
    install(lib, mgr, root, str(root / "inside"))
    private = entry_uuid(lib, root / "outside" / "secret.txt")
    p = lib.actions.preview_changes("grab", [lib.actions.context().add_tag(private, "#mine")])
    p.action, p.extension_id = f"{EXT}.grab", EXT
    with pytest.raises(PermissionDenied, match=r"scope .*inside.*secret\.txt is outside the gr"):
        lib.actions.commit(p)
    assert lib.query('entries tagged "#mine"').rows() == []


def test_the_notebook_widget_goes_through_the_same_core_check(world):
    from kernel_ext.widgets.actions import ActionPanel
    lib, mgr, root = world
    install(lib, mgr, root, str(root / "inside"))
    private = entry_uuid(lib, root / "outside" / "secret.txt")
    with pytest.raises(PermissionDenied, match="outside the granted"):
        ActionPanel.start(lib, f"{EXT}.grab", {"entry": str(private), "tag": "#mine"})
    ok = entry_uuid(lib, root / "inside" / "ok.txt")
    panel = ActionPanel.start(lib, f"{EXT}.grab", {"entry": str(ok), "tag": "#fine"})
    panel.preview.changes.append(lib.actions.context().add_tag(private, "#mine"))
    panel.commit()
    assert panel.state == "failed" and "outside the granted" in panel.error
    assert lib.query('entries tagged "#mine"').rows() == []


def test_an_extension_job_submitted_by_name_runs_with_its_scoped_host(world):
    """However it is started (magics, CLI, lib.jobs.submit), the job's host is the scoped one."""
    lib, mgr, root = world
    install(lib, mgr, root, str(root / "inside"))
    inside = entry_uuid(lib, root / "inside" / "ok.txt")
    outside = entry_uuid(lib, root / "outside" / "secret.txt")
    assert lib.jobs.submit(f"{EXT}.peek", {"entry": str(inside)}).wait(timeout=60) == "inside bytes"
    from kernel_ext.widgets.registry import run_job
    refused = run_job(lib, f"{EXT}.peek", {"entry": str(outside)}).wait(timeout=60)
    assert refused.startswith("refused:") and "outside the granted" in refused


# ---- the scoped API hides the unscoped one -------------------------------------------------
def test_the_scoped_api_exposes_neither_the_unscoped_api_nor_mutable_grants(world):
    lib, mgr, root = world
    api = install(lib, mgr, root, str(root / "inside"))
    for name in ("_api", "_grants", "lib", "__dict__"):
        with pytest.raises((AttributeError, PermissionDenied)):
            getattr(api, name)
    with pytest.raises(PermissionDenied, match="cannot be altered"):
        api._grants = None
    grants = mgr.context(EXT).grants
    assert isinstance(grants.grants, tuple) and isinstance(grants.requested, tuple)
    with pytest.raises(AttributeError):
        grants.grants = (Permission.ReadEntries().scoped_to(),)
    private = entry_uuid(lib, root / "outside" / "secret.txt")
    with pytest.raises(PermissionDenied):
        api.read_entry(private)


def test_a_users_collection_shows_an_extension_only_the_items_in_its_scope(world):
    lib, mgr, root = world
    api = install(lib, mgr, root, str(root / "inside"))
    user = lib.vdfs()
    col = user.create_collection("mixed")
    inside = entry_uuid(lib, root / "inside" / "ok.txt")
    user.add_to_collection(col.uuid, inside, kind="entry")
    user.add_to_collection(col.uuid, entry_uuid(lib, root / "outside" / "secret.txt"), kind="entry")
    assert len(user.collection_items(col.uuid)) == 2
    assert [i.uuid for i in api.collection_items(col.uuid)] == [inside]


_ROOT_CHARS = "aAbB.*+?()[]{}|^$\\- #"


@settings(max_examples=150, deadline=None)
@given(st.text(_ROOT_CHARS, min_size=1, max_size=8), st.text(_ROOT_CHARS, min_size=1, max_size=8),
       st.text("xX/.", min_size=1, max_size=6))
def test_the_anchored_scope_regex_takes_the_root_literally_and_exactly(root, other, rel):
    """Whatever characters a location root holds, the scope regex (Python re for SQLite, RE2
    for DuckDB) matches a path below exactly that root, never one differing in case."""
    import re2
    from core.extensions.scope_query import _anchored, _literal
    rel = rel.strip("/") or "x"
    rx = _anchored(_literal("/" + root), ["**"])
    options = re2.Options()
    options.log_errors = False
    for engine in (re.compile(rx), re2.compile(rx, options)):
        assert engine.search(f"/{root}/{rel}") is not None
        for other_root in (other, root.swapcase(), root[:-1], root + "a"):
            hit = engine.search(f"/{other_root}/{rel}") is not None
            assert hit == (other_root == root), (rx, other_root)


def test_undo_of_an_extension_action_is_the_users_even_after_uninstall(world):
    lib, mgr, root = world
    install(lib, mgr, root, str(root / "inside"))
    ok = entry_uuid(lib, root / "inside" / "ok.txt")
    done = lib.actions.commit(lib.actions.preview(grab, entry=str(ok), tag="#fine"))
    assert lib.actions.log(1)[0]["actor"] == EXT            # the extension's change
    mgr.uninstall(EXT)
    lib.actions.undo(done.audit_id)
    assert lib.query('entries tagged "#fine"').rows() == []
    assert lib.actions.log(1)[0]["actor"] == "user"


@model(version="1.0.0", scope="content", extension_id=OTHER)
@dataclass
class Label:
    text: str = ""


def test_has_in_an_extension_query_sees_only_its_own_models(world):
    """`has Label` must not reveal which visible files another extension annotated."""
    lib, mgr, root = world
    api = install(lib, mgr, root)
    row = lib.conn.execute("SELECT c.uuid FROM entries e JOIN content_identities c "
                           "ON c.id = e.content_id WHERE e.path = ?",
                           (str(root / "inside" / "ok.txt"),)).fetchone()
    lib.vdfs().create_model_for_content(uuid.UUID(bytes=row[0]), Label(text="theirs"))
    assert [r["name"] for r in lib.query("entries has Label").rows()] == ["ok.txt"]
    assert api.query("entries has Label").rows() == []
    with pytest.raises(PermissionDenied, match=f"models of extension '{OTHER}'"):
        api.query(f"entries has {OTHER}.Label").rows()

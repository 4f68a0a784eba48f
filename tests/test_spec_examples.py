"""The SDK's documented examples, written the way its reference writes them, run as written.

Each test is an extension in the example style: a job that maps over query rows with
`.map(...).collect()`, reads an entry with `entry.read()`, calls `ctx.ai()` from a job and a
task and hands a row to `ctx.run(task, row)` without a key; triggers other than a user's click;
an action whose execute step tags through the host API; and the documented ui_manifest.
docs/sdk-reference.md puts each example next to its Python form.
"""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from core.ai import ModelSource
from core.extensions import Permission
from core.extensions.definition import extension
from core.extensions.manager import ExtensionManager
from core.jobs import job, task
from tests.test_ai_models import affine_relu_onnx

EXT = "com.test.spec"
RAN: dict[str, list] = {}


# ---- 3. Jobs and tasks --------------------------------------------------------------------------
@task(retries=3, timeout_ms=30000)
def detect_faces(ctx, entry):
    image_bytes = entry.read()
    faces = ctx.ai().from_registered("face_detection:spec_v1")(
        np.array([[len(image_bytes), 0, 0]], dtype=np.float32))
    return {"name": entry.name, "bytes": len(image_bytes), "faces": faces.shape[1]}


@job(name="spec_analyze_photos", parallelism=4, trigger="user_initiated")
def analyze_photos(ctx, location):
    # Get content UUIDs (not entry UUIDs!)
    content_uuids = (ctx.vdfs()
                     .query_entries()
                     .in_location(location)
                     .of_type("image")
                     .map(lambda e: e.content_uuid)
                     .collect())
    assert ctx.ai().from_registered("face_detection:spec_v1") is not None
    found = []
    for content_uuid in sorted(content_uuids):
        entry = (ctx.vdfs()
                 .query_entries()
                 .where_content_id(content_uuid)
                 .on_this_device()
                 .first())
        faces = ctx.run(detect_faces, entry)
        ctx.vdfs().add_tag_to_content(content_uuid, "#analyzed")
        found.append(faces)
    return found


@extension(id=EXT, name="Spec", version="1.0.0",
           permissions=[Permission.ReadEntries(glob="**/*.jpg"), Permission.WriteTags,
                        Permission.DispatchJobs,
                        Permission.UseModel(category="face_detection", preference="local")])
class Spec:
    jobs = [analyze_photos]
    actions: list = []            # the actions below are a user's, not this extension's

    def init(self, ctx):
        ctx.models().register("spec_v1", "face_detection", ModelSource.bundled(affine_relu_onnx()))


@pytest.fixture
def photos(lib, tmp_path):
    root = tmp_path / "files"
    for rel in ("photos/a.jpg", "photos/deep/b.jpg", "photos/notes.txt"):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(rel.encode() * 3)
    lib.index(lib.add_location(root)).wait(timeout=60)
    mgr = lib.extensions
    yield lib, mgr, root
    mgr.close()


def test_analyze_photos_runs_as_written(photos):
    lib, mgr, root = photos
    ctx = mgr.install(Spec, [Permission.ReadEntries(glob="**/*.jpg"), Permission.WriteTags,
                             Permission.DispatchJobs,
                             Permission.UseModel(category="face_detection", preference="local")])
    found = ctx.dispatch_job(analyze_photos, location=str(root / "photos")).wait(timeout=60)
    assert sorted((f["name"], f["bytes"]) for f in found) == [
        ("a.jpg", len(b"photos/a.jpg") * 3), ("b.jpg", len(b"photos/deep/b.jpg") * 3)]
    assert all(f["faces"] == 2 for f in found)
    tagged = lib.query('files tagged "#analyzed"').rows()
    assert sorted(r["name"] for r in tagged) == ["a.jpg", "b.jpg"]


def test_entry_rows_behave_like_entries_and_stay_dicts(photos):
    lib, mgr, root = photos
    api = mgr.install(Spec, [Permission.ReadEntries(glob="**/*.jpg"), Permission.WriteTags,
                             Permission.UseModel(category="face_detection")]).vdfs()
    entry = api.query_entries().of_type("image").order_by("name").first()
    assert entry.read() == b"photos/a.jpg" * 3                   # through the checked read
    assert entry.location() == str(root)                          # the location it is in
    assert entry.exif is None                                     # a text file has none
    assert isinstance(entry, dict) and entry["name"] == entry.name == "a.jpg"
    assert json.loads(json.dumps(entry, default=str))["name"] == "a.jpg"
    import pandas as pd
    assert list(pd.DataFrame(api.query_entries().of_type("image").collect())["name"].sort_values()) \
        == ["a.jpg", "b.jpg"]
    # the unchecked host API's rows read too
    own = lib.vdfs().query_entries().where("name", "=", "notes.txt").first()
    assert own.read() == b"photos/notes.txt" * 3


def test_map_is_not_terminal_and_keeps_a_list():
    from vdfs_query.builder import Mapped
    m = Mapped([1, 2, 3])
    assert m.collect() == [1, 2, 3] and m == [1, 2, 3] and m.first() == 1
    assert Mapped([]).first() is None


# ---- Triggers: "user_initiated", "on_event", etc. ---------------------------------------------
@pytest.fixture
def new_jobs():
    """Jobs a test registers are forgotten after it (the registry is process-wide, and a
    startup or location job would otherwise run in every later test's library)."""
    from core.jobs import unregister_job
    from core.jobs.registry import all_job_specs
    before = {s.name for s in all_job_specs()}
    yield
    for s in all_job_specs():
        if s.name not in before:
            unregister_job(s.name)


def _jobs_named(lib, name):
    return lib.jobs.list(name=name)


def _wait_all(lib, name):
    return [lib.jobs.get(i["id"]).wait(timeout=30) for i in _jobs_named(lib, name)]


def test_on_schedule_missed_while_closed_fires_once_on_next_open(tmp_path, new_jobs):
    import sqlite3
    import core

    @job(name="spec_nightly", trigger="on_schedule", schedule="0 3 * * *")
    def nightly(ctx):
        return "tidied"

    path = tmp_path / "sched.vdfs"
    core.Library.create(path).close()
    lib = core.Library.open(path)                  # first sight: the schedule starts counting
    assert _jobs_named(lib, "spec_nightly") == []
    lib.close()
    # three nights pass with the library closed
    with sqlite3.connect(path / "jobs.db") as conn:
        conn.execute("UPDATE job_schedules SET last_fired = '2026-01-01T12:00:00+00:00' "
                     "WHERE name = 'spec_nightly'")
    lib = core.Library.open(path)
    assert _wait_all(lib, "spec_nightly") == ["tidied"]          # once, not three times
    assert _jobs_named(lib, "spec_nightly")[0]["trigger"] == "on_schedule"
    lib.close()
    lib = core.Library.open(path)                                 # nothing missed since
    assert len(_jobs_named(lib, "spec_nightly")) == 1
    lib.close()


def test_a_due_schedule_fires_once_however_many_ask(lib, new_jobs):
    """Two processes (here: threads with their own connections) finding one due time fire
    it once: the claim is a conditional UPDATE of the stored last firing."""
    import datetime as dt
    import threading
    from core.jobs.autostart import fire_due

    @job(name="spec_hourly", trigger="on_schedule", schedule="@hourly")
    def hourly(ctx):
        return "tick"

    t0 = dt.datetime(2026, 5, 1, 10, 30, tzinfo=dt.timezone.utc)
    assert fire_due(lib, t0) == []                         # first sight: counting starts
    assert fire_due(lib, t0 + dt.timedelta(minutes=20)) == []          # 10:50: not yet
    later = t0 + dt.timedelta(hours=5)
    fired: list = []
    threads = [threading.Thread(target=lambda: fired.extend(fire_due(lib, later)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fired) == 1 and fired[0].wait(timeout=30) == "tick"
    assert fire_due(lib, later + dt.timedelta(minutes=29)) == []       # 15:59: not yet
    assert len(fire_due(lib, later + dt.timedelta(minutes=31))) == 1   # 16:01 came


def test_schedules_are_cron_and_refused_when_wrong(new_jobs):
    import datetime as dt
    from core.errors import VdfsError
    from core.jobs.cron import Cron
    t = dt.datetime(2026, 3, 6, 17, 59, 30, tzinfo=dt.timezone.utc)         # a Friday
    assert Cron("*/15 9-17 * * 1-5").next_after(t) == t.replace(day=9, hour=9, minute=0, second=0)
    assert Cron("@daily").next_after(t) == dt.datetime(2026, 3, 7, tzinfo=dt.timezone.utc)
    assert Cron("0 0 13 * 5").next_after(t) == dt.datetime(2026, 3, 13, tzinfo=dt.timezone.utc)
    with pytest.raises(VdfsError, match="minute field '61'"):
        job(name="spec_bad", trigger="on_schedule", schedule="61 * * * *")(lambda ctx: None)
    with pytest.raises(ValueError, match="schedule=... goes with trigger='on_schedule'"):
        job(name="spec_bad2", trigger="on_schedule")(lambda ctx: None)
    with pytest.raises(ValueError, match="trigger must be one of"):
        job(name="spec_bad3", trigger="on_lunch")(lambda ctx: None)


def test_on_startup_runs_each_time_the_library_opens(tmp_path, new_jobs):
    import core

    @job(name="spec_warm_up", trigger="on_startup")
    def warm_up(ctx):
        return "warm"

    path = tmp_path / "start.vdfs"
    core.Library.create(path).close()
    for opened in (1, 2):
        lib = core.Library.open(path)
        assert _wait_all(lib, "spec_warm_up") == ["warm"] * opened
        lib.close()


def test_on_location_added_gets_the_folder_and_respects_grants(lib, tmp_path, new_jobs):
    @job(name="spec_new_place", trigger="on_location_added")
    def new_place(ctx, location):
        return location

    @job(name="spec_ext_new_place", trigger="on_location_added")
    def ext_new_place(ctx, location):
        return ["ext", location]

    @extension(id="com.test.spec.loc", name="Loc", version="1.0.0",
               permissions=[Permission.ReadEntries()])
    class Loc:
        jobs = [ext_new_place]
        actions: list = []

    from core.jobs import unregister_job
    unregister_job("spec_ext_new_place")            # only its extension's registration runs
    mgr = lib.extensions
    inside, outside = tmp_path / "granted", tmp_path / "elsewhere"
    inside.mkdir()
    outside.mkdir()
    mgr.install(Loc, [Permission.ReadEntries().scoped_to(str(inside))])
    lib.add_location(inside)
    lib.add_location(outside)
    assert sorted(map(str, _wait_all(lib, "spec_new_place"))) == sorted([str(inside), str(outside)])
    assert _wait_all(lib, "com.test.spec.loc.spec_ext_new_place") == [["ext", str(inside)]]
    mgr.close()


# ---- 6. Actions ----------------------------------------------------------------------------------
from core.actions import ActionError, action, action_execute, get_action  # noqa: E402


@action(name="spec.organize_photos")
def organize_photos(ctx, location):
    # Simulate: query tags/faces; preview the tags
    photos = ctx.vdfs().query_entries().in_location(location).of_type("image").collect()
    changes = [ctx.add_tag(e.uuid, "#organized") for e in photos]
    return ctx.preview("Organize Photos", changes, reversible=True)


@action_execute
def organize_photos_execute(ctx, preview):
    # Apply: use vdfs.add_tag(), etc. (audited)
    for photo in ctx.vdfs().query_entries().of_type("image").collect():
        ctx.vdfs().add_tag(photo.uuid, "#organized")


@action(name="spec.overreach")
def overreach(ctx, entry):
    return ctx.preview("Tag one", [ctx.add_tag(entry, "#one")])


@action_execute
def overreach_execute(ctx, preview):
    ctx.vdfs().add_tag(preview.changes[0].target_uuid, "#one")
    ctx.vdfs().add_tag(preview.changes[0].target_uuid, "#two")     # never previewed


@pytest.fixture
def images(lib, tmp_path):
    root = tmp_path / "pics"
    root.mkdir()
    for name in ("a.jpg", "b.png", "c.txt"):
        (root / name).write_bytes(name.encode() * 4)
    lib.index(lib.add_location(root)).wait(timeout=60)
    return lib, root


def _tagged(lib, tag):
    return sorted(r["name"] for r in lib.query(f'files tagged "{tag}"').rows())


def test_execute_applies_its_preview_through_vdfs_add_tag(images):
    lib, root = images
    assert get_action("spec.organize_photos").execute is organize_photos_execute   # paired
    p = lib.actions.preview("spec.organize_photos", location=str(root))
    assert len(p.changes) == 2 and _tagged(lib, "#organized") == []
    result = lib.actions.commit(p)
    assert _tagged(lib, "#organized") == ["a.jpg", "b.png"]
    assert lib.actions.log(limit=1)[0]["outcome"] == "committed"
    lib.actions.undo(result.audit_id)                                # audited, so undoable
    assert _tagged(lib, "#organized") == []


def test_execute_cannot_do_more_than_the_preview_showed(images):
    lib, root = images
    a = lib.vdfs().query_entries().where("name", "=", "a.jpg").first()
    p = lib.actions.preview("spec.overreach", entry=a.uuid)
    with pytest.raises(ActionError, match="not in the preview: add_tag #two"):
        lib.actions.commit(p)
    assert _tagged(lib, "#one") == [] and _tagged(lib, "#two") == []   # nothing, not half


def test_a_bare_action_execute_pairs_by_name_or_says_why_not():
    def lonely_execute(ctx, preview):
        pass
    with pytest.raises(ActionError, match="no @action 'lonely' is defined before it"):
        action_execute(lonely_execute)

    def finish(ctx, preview):
        pass
    with pytest.raises(ActionError, match="must be called <action>_execute"):
        action_execute(finish)


# ---- 7. UI integration (ui_manifest.json) -------------------------------------------------------
from hypothesis import given, settings, strategies as st  # noqa: E402

from core.extensions.manifest import ManifestError, validate_ui_manifest  # noqa: E402

SPEC_UI = {   # the documented example, its // comments left out (JSON has none)
    "sidebar_sections": [
        {
            "id": "people",
            "label": "People",
            "icon": "assets/people_icon.png",
            "query": "tags LIKE '#person:%'",
            "render_type": "list"
        }
    ],
    "views": [
        {
            "id": "places_map",
            "label": "Places",
            "component": "map_view",
            "data_source": "query:exif_gps"
        }
    ],
    "menus": [
        {"id": "photos", "label": "Photos", "context": "library", "items": [
            {"label": "Organize Photos", "action": "spec.organize_photos"},
            {"label": "Analyze", "job": "spec_analyze_photos"},
            {"label": "Places", "view": "places_map"}]}
    ],
}


def test_the_documented_ui_manifest_validates_and_its_queries_answer(lib, tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets/people_icon.png").write_bytes(b"\x89PNG")
    ui = validate_ui_manifest(SPEC_UI, root=tmp_path)
    assert ui.menus[0]["items"][2]["view"] == "places_map"
    api = lib.vdfs()
    for name in ("#person:alice", "#person:bob", "#vacation", "#personal"):
        api.create_tag(name)
    rows = lib.query(ui.query_text(ui.section("people"))).rows()
    assert sorted(r["name"] for r in rows) == ["#person:alice", "#person:bob"]


def test_the_places_map_renders_photos_with_gps(lib, tmp_path):
    from core.extraction import extract_media
    from kernel_ext.widgets.views import render_view
    from tests.test_ai_extraction import jpeg_bytes
    root = tmp_path / "trip"
    root.mkdir()
    (root / "oslo.jpg").write_bytes(jpeg_bytes(59.9139, 10.7522))
    (root / "nogps.jpg").write_bytes(jpeg_bytes())
    loc = lib.add_location(root)
    lib.index(loc).wait(timeout=60)
    extract_media(lib, loc).wait(timeout=60)

    @extension(id="com.test.spec.ui", name="SpecUi", version="1.0.0")
    class SpecUi:
        ui_manifest = SPEC_UI
        jobs: list = []
        actions: list = []

    mgr = lib.extensions
    mgr.install(SpecUi, [])
    out = render_view(lib, "com.test.spec.ui", "places_map")
    assert out.component == "map_view" and len(out.rows) == 1
    assert round(out.rows[0]["lat"], 3) == 59.914 and "oslo.jpg" in out._repr_html_()
    mgr.close()


@pytest.mark.parametrize("menus, path", [
    ([{"id": "m", "label": "M", "items": [{"label": "Gone", "view": "nowhere"}]}],
     "$.menus[0].items[0].view"),
    ([{"id": "m", "label": "M", "items": [{"label": "Both", "action": "a", "job": "j"}]}],
     "$.menus[0].items[0]"),
    ([{"id": "m", "label": "M", "items": []}], "$.menus[0].items"),
])
def test_menus_are_checked(menus, path):
    with pytest.raises(ManifestError) as info:
        validate_ui_manifest({**SPEC_UI, "menus": menus})
    assert info.value.path == path


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ab*?[]{}\\%_'\"é/", max_size=8), st.text(alphabet="xy/", max_size=3))
def test_like_matches_what_sql_like_matches(lit, tail):
    """`name LIKE 'lit%'` (lit without wildcards) matches lit+anything and nothing shorter."""
    import re2
    from core.extensions.ui_queries import dsl_text
    from vdfs_query.patterns import glob_regex
    plain = lit.replace("%", "").replace("_", "")
    quoted = "'" + plain.replace("\\", "\\\\").replace("'", "\\'") + "%'"
    dsl = dsl_text(f"tags LIKE {quoted}")
    import vdfs_query
    node = vdfs_query.parse(dsl)          # valid DSL whatever the characters
    glob = re.sub(r"\\(.)", r"\1", re.match(r'tags where name ~ "(.*)"$', dsl, re.S).group(1))
    opts = re2.Options()
    opts.log_errors = False
    rx = re2.compile(glob_regex(glob), opts)
    assert rx.fullmatch(plain + tail) and node is not None
    if plain:
        assert not rx.fullmatch(plain[:-1])


def test_a_row_sent_elsewhere_is_plain_data_and_says_so(photos):
    import pickle
    from core.errors import VdfsError
    lib, mgr, root = photos
    api = mgr.install(Spec, [Permission.ReadEntries(glob="**/*.jpg")]).vdfs()
    entry = api.query_entries().of_type("image").order_by("name").first()
    copy = pickle.loads(pickle.dumps(entry))            # what a process-isolated task gets
    assert copy == entry and copy.name == "a.jpg"
    with pytest.raises(VdfsError, match="cannot read entry"):
        copy.read()
    # what the row holds hands out reads, never the guard or the library behind them
    hooks = entry._host._entries()
    assert not hasattr(hooks, "_guard") and not hasattr(hooks, "lib")

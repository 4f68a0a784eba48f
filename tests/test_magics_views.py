"""Install dialog, extension views and extension jobs/actions through the magics, with a small
extension defined here (as a notebook cell would) and the SVG map rendered from real rows."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from PIL import Image

from core.extensions import Permission
from core.sdk import action, extension, job, model
from kernel_ext import session
from kernel_ext.errors import VdfsUsageError
from kernel_ext.widgets.mapsvg import map_svg
from kernel_ext.widgets.views import render_rows

from magics_support import complete, indexed_shell, run

EXT = "com.test.spots"


@model(version="1.0.0", scope="standalone", extension_id=EXT)
@dataclass
class Spot:
    name: str = ""
    lat: float = 0.0
    lon: float = 0.0


@job(name="plant")
def plant(ctx):
    api = ctx.vdfs()
    for name, lat, lon in [("Oslo", 59.91, 10.75), ("Rio", -22.9, -43.17)]:
        api.create_model(Spot(name=name, lat=lat, lon=lon))
    return {"spots": 2}


@action(name=f"{EXT}.tag_images", extension_id=EXT)
def tag_images(ctx):
    rows = ctx.vdfs().query("entries of kind image select uuid order by name").rows()
    return ctx.preview("Tag images", [ctx.add_tag(r["uuid"], "#spot") for r in rows])


@extension(id=EXT, name="Spots", version="1.0.0",
           permissions=[Permission.ReadEntries(glob="**/*.png"), Permission.WriteTags])
class Spots:
    models = [Spot]
    jobs = [plant]
    actions = [tag_images]
    ui_manifest = {"views": [
        {"id": "map", "label": "Spots", "component": "map_view", "data_source": "query:models Spot order by name"},
        {"id": "pics", "label": "Pictures", "component": "grid_view",
         "data_source": "query:entries of kind image order by name"},
        {"id": "names", "label": "Names", "component": "list_view", "data_source": "query:models Spot order by name"},
    ]}


@pytest.fixture
def ip(tmp_path):
    data = tmp_path / "data"
    (data / "shown").mkdir(parents=True)
    (data / "hidden").mkdir()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(data / "shown" / "red.png")
    Image.new("RGB", (40, 30), (10, 10, 200)).save(data / "hidden" / "blue.png")
    with indexed_shell(tmp_path, Spots=Spots) as sh:
        yield sh


def test_install_dialog_scopes_grants_to_a_location(ip, tmp_path):
    dialog = run(ip, "%vdfs install :Spots")
    assert dialog.text().splitlines() == [
        "install com.test.spots 1.0.0 (Spots)",
        "  [x] ReadEntries(glob='**/*.png')  scope: everywhere",
        "  [x] WriteTags  scope: everywhere",
        "pending: Install grants the ticked permissions"]
    spec, box, where = dialog._rows[1]
    box.value = False                                    # the user unticks WriteTags
    dialog.install(scopes={"ReadEntries": [str(tmp_path / "data" / "shown")]})
    assert dialog.text().splitlines()[1:] == [
        "  [x] ReadEntries(glob='**/*.png')  scope: shown",
        "  [ ] WriteTags",
        "installed com.test.spots 1.0.0 with 1 grant"]
    from kernel_ext.widgets.registry import manager
    grants = [(g.permission.name, g.scope) for g in manager(session.library()).grants(EXT)]
    assert grants == [("ReadEntries", (str(tmp_path / "data" / "shown"),))]
    assert dialog._install.disabled


def test_install_dialog_location_picker_offers_library_locations(ip):
    dialog = run(ip, "%vdfs install :Spots")
    where = dialog._rows[0][2]
    assert [label for label, _ in where.options] == ["data"]
    where.value = (where.options[0][1],)
    dialog._install.click()
    assert dialog.state == "installed"
    assert "scope: data" in dialog.text()


def test_extension_job_action_and_views_through_magics(ip):
    run(ip, "%vdfs install :Spots --yes")
    monitor = run(ip, f"%vdfs run {EXT}.plant --wait")
    assert monitor.result == {"spots": 2}
    view = run(ip, f"%vdfs view {EXT}/map")
    assert repr(view).splitlines() == ["Spots (map_view, 2 items)", "  Oslo: 59.91000, 10.75000",
                                       "  Rio: -22.90000, -43.17000"]
    svg = view._repr_html_()
    assert svg.count("<circle") == 2 and "Oslo" in svg and "<svg" in svg
    grid = run(ip, f"%vdfs view {EXT}/pics")
    assert repr(grid).splitlines()[1:] == ["  [img] blue.png", "  [img] red.png"]
    assert grid._repr_html_().count("data:image/jpeg;base64,") == 2   # from the thumb sidecars
    names = run(ip, f"%vdfs view {EXT}/names")
    assert repr(names).splitlines()[1] == "  - Oslo (lat: 59.91 · lon: 10.75)"
    panel = run(ip, f"%vdfs preview {EXT}.tag_images")
    assert len(panel.rows) == 2
    panel.commit()
    assert panel.state == "committed"
    assert [r["name"] for r in run(ip, '%vdfs entries tagged "#spot" select name order by name').rows()] \
        == ["blue.png", "red.png"]


def test_view_and_completion_of_extension_names(ip):
    run(ip, "%vdfs install :Spots --yes")
    assert complete(ip, f"%vdfs view {EXT}/m") == [f"{EXT}/map"]
    assert complete(ip, f"%vdfs run {EXT}.p") == [f"{EXT}.plant"]
    assert complete(ip, f"%vdfs preview {EXT}.t") == [f"{EXT}.tag_images"]
    with pytest.raises(VdfsUsageError, match=r"has no view 'nope' \(views: map, pics, names\)"):
        run(ip, f"%vdfs view {EXT}/nope")
    with pytest.raises(VdfsUsageError, match="is not installed"):
        run(ip, "%vdfs view com.none/x")


def test_model_types_complete_after_models(ip):
    run(ip, "%vdfs install :Spots --yes")
    run(ip, f"%vdfs run {EXT}.plant --wait")
    assert complete(ip, "%vdfs models Sp") == ["Spot"]
    assert "Spot" in complete(ip, "%vdfs entries has Sp")


def test_jobs_and_tags_with_a_clause_are_queries(ip):
    res = run(ip, '%vdfs jobs where status = "completed" select name')
    assert [r["name"] for r in res.rows()] == ["core.index"]


def test_text_fallback_without_a_frontend(ip):
    dialog = run(ip, "%vdfs install :Spots")
    bundle = dialog._repr_mimebundle_()
    assert set(bundle) == {"text/plain"}          # a terminal shell: no widget view, just words
    assert bundle["text/plain"].startswith("install com.test.spots")


def test_map_svg_is_deterministic_and_scales_to_the_points():
    pts = [(48.85, 2.35, "Paris"), (51.5, -0.12, "London")]
    a, b = map_svg(pts), map_svg(list(pts))
    assert a == b
    xs = [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', a)]
    assert min(xs) >= 24 and max(xs) <= 480 - 24 and xs[0] > xs[1]   # Paris is east of London
    assert "no points" in map_svg([])


def test_render_rows_without_coordinates_says_so():
    out = render_rows("map_view", "M", ["name"], [{"name": "x"}])
    assert "has no latitude/longitude columns" in repr(out)


def test_grid_finds_the_file_behind_a_row_without_a_path_once(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "cat.png")
    asked = []

    def find_path(row):
        asked.append(row["uuid"])
        return str(tmp_path / "cat.png")

    out = render_rows("grid_view", "G", ["uuid"], [{"uuid": "u1"}], find_path=find_path)
    assert repr(out).splitlines()[1:] == ["  [img] cat.png"]
    assert asked == ["u1"]

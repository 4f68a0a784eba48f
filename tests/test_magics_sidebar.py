"""`%vdfs sidebar`, `%vdfs settings` and `%vdfs consent` in a real IPython shell: the sidebar
of the documented ui_manifest (sections and menus) over a real index, a settings form built from
the settings schema that saves through core's validation, and consent for a cloud model."""
from __future__ import annotations

import pytest
from PIL import Image

from core.ai import AiService, AiSettings, ConsentRequired, ModelRegistry, ModelSource
from core.extensions import Permission
from core.sdk import action, extension, job, setting
from kernel_ext import session
from kernel_ext.errors import MagicError, VdfsUsageError
from kernel_ext.widgets.sidebar import icon_uri

from magics_support import complete, indexed_shell, run

EXT = "com.test.sidebar"


class SideConfig:
    face_recognition: bool = setting(label="Enable Face Recognition", default=True)
    model_selector: str = setting(label="Model Preference", default="local",
                                  choices=["local", "cloud"])
    batch: int = setting(label="Photos per batch", default=8)


@job(name="side_analyze")
def analyze_photos(ctx):
    return {}


@action(name=f"{EXT}.organize_photos", extension_id=EXT)
def organize_photos(ctx):
    return ctx.preview("Organize Photos", [])


@extension(id=EXT, name="Photos Manager", version="1.0.0",
           permissions=[Permission.ReadEntries(glob="**/*.png"), Permission.WriteTags])
class Side:
    config: SideConfig
    jobs = [analyze_photos]
    actions = [organize_photos]
    ui_manifest = {
        "sidebar_sections": [
            {"id": "people", "label": "People", "query": "tags LIKE '#person:%'",
             "render_type": "list"},
            {"id": "pictures", "label": "Pictures", "query": "entries of kind image order by name",
             "render_type": "gallery"}],
        "views": [{"id": "places_map", "label": "Places", "component": "map_view",
                   "data_source": "query:exif_gps"}],
        "menus": [{"id": "photos", "label": "Photos", "context": "library", "items": [
            {"label": "Organize Photos", "action": "organize_photos"},
            {"label": "Analyze", "job": f"{EXT}.side_analyze"},
            {"label": "Places", "view": "places_map"}]}]}


@pytest.fixture
def ip(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name, colour in (("ann.png", (200, 10, 10)), ("bob.png", (10, 10, 200))):
        Image.new("RGB", (40, 30), colour).save(data / name)
    with indexed_shell(tmp_path, Side=Side) as sh:
        run(sh, "%vdfs install :Side --yes")
        yield sh


def test_sidebar_renders_sections_and_menus(ip):
    lib = session.library()
    for name, tag in (("ann.png", "#person:ann"), ("bob.png", "#person:bob"), ("bob.png", "#trip")):
        [row] = lib.query("entries where name = :n select uuid", n=name).rows()
        lib.vdfs().add_tag_to_entry(row["uuid"], tag)
    side = run(ip, f"%vdfs sidebar {EXT}")
    assert repr(side).splitlines() == [
        f"Photos Manager ({EXT})", "",
        "People (list_view, 2 items)", "  - #person:ann (namespace: person · uses: 1)",
        "  - #person:bob (namespace: person · uses: 1)", "",
        "Pictures (grid_view, 2 items)", "  [img] ann.png", "  [img] bob.png", "",
        "Menus",
        f"  Photos › Organize Photos: %vdfs preview {EXT}.organize_photos",
        f"  Photos › Analyze: %vdfs run {EXT}.side_analyze",
        f"  Photos › Places: %vdfs view {EXT}/places_map"]
    page = side._repr_html_()
    assert page.count("<details") == 2 and page.count("data:image/jpeg;base64,") == 2
    assert "#person:ann" in page and "#trip" not in page
    assert len(run(ip, f"%vdfs sidebar {EXT} --limit 1").sections[1][1].rows) == 1
    assert complete(ip, "%vdfs sidebar com.test.si") == [EXT]
    with pytest.raises(VdfsUsageError, match="is not installed"):
        run(ip, "%vdfs sidebar com.none")


def test_icons_come_from_the_package_only(tmp_path):
    (tmp_path / "pkg" / "assets").mkdir(parents=True)
    (tmp_path / "pkg" / "assets" / "p.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "secret.png").write_bytes(b"x")
    root = tmp_path / "pkg"
    assert icon_uri(root, "assets/p.svg").startswith("data:image/svg+xml;base64,")
    assert icon_uri(root, "../secret.png") is None          # outside the package
    assert icon_uri(root, "assets/missing.png") is None
    assert icon_uri(None, "assets/p.svg") is None


def test_settings_form_is_built_from_the_schema_and_saves_through_core(ip):
    form = run(ip, f"%vdfs settings {EXT}")
    assert form.text().splitlines() == [
        f"Settings of Photos Manager ({EXT}): editing",
        "  Enable Face Recognition [face_recognition] = True",
        "  Model Preference [model_selector] = 'local' (one of ['local', 'cloud'])",
        "  Photos per batch [batch] = 8"]
    assert [type(w).__name__ for w in form.fields.values()] == ["Checkbox", "Dropdown", "IntText"]
    assert form.save(face_recognition=False, batch=32) == {
        "face_recognition": False, "model_selector": "local", "batch": 32}
    from kernel_ext.widgets.registry import manager
    assert manager(session.library()).record(EXT)["config"]["batch"] == 32
    assert manager(session.library()).context(EXT).config.face_recognition is False
    again = run(ip, f"%vdfs settings {EXT}")                  # shows what was saved
    assert again.fields["batch"].value == 32 and again.fields["face_recognition"].value is False
    assert again.save(colour="red") is None and again.state == "refused"
    assert "no setting 'colour'" in again.text()


def test_consent_widget_allows_and_revokes_a_cloud_model(ip):
    reg = ModelRegistry()
    reg.register("remote", "llm", ModelSource.openai("gpt", "https://llm.example.test/v1"))
    reg.register("tiny", "scene", ModelSource.bundled(b"not used"))
    widget = run(ip, "%vdfs consent llm:remote")
    assert widget.text() == ("Model llm:remote (cloud: https://llm.example.test/v1): "
                             "not allowed, preference local")
    with pytest.raises(ConsentRequired):
        AiService(reg).from_registered("llm:remote")
    widget._allow.click()
    widget._preference.value = "cloud"                       # the user picks cloud
    assert widget.state == "allowed, preference cloud"
    assert AiSettings().consent("llm:remote")["endpoint"] == "https://llm.example.test/v1"
    AiService(reg).from_registered("llm:remote")             # now it loads (no request made)
    widget._revoke.click()
    assert widget.state == "not allowed, preference cloud"
    with pytest.raises(ConsentRequired, match="has not consented"):
        AiService(reg).from_registered("llm:remote")
    assert run(ip, "%vdfs consent scene:tiny").text() == "Model scene:tiny (local): local"
    with pytest.raises(MagicError, match="no registered model"):
        run(ip, "%vdfs consent llm:none")

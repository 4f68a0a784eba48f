"""Package manifests: schema validation with the JSON path of every fault; queries compile."""
from __future__ import annotations

import copy
import json

import pytest

from core.extensions.manifest import (ManifestError, load_package, validate_manifest,
                                      validate_ui_manifest)

UI = {
    "queries": {"people": "models Person"},
    "sidebar_sections": [
        {"id": "people", "label": "People", "icon": "assets/people.png",
         "query": "models Person", "render_type": "list"},
        {"id": "albums", "label": "Albums", "query": "models Album", "render_type": "grid"},
    ],
    "views": [
        {"id": "people_list", "label": "People", "component": "list_view", "data_source": "query:people"},
        {"id": "places_map", "label": "Places", "component": "map_view", "data_source": "query:people"},
    ],
}

MANIFEST = {"id": "com.example.demo", "name": "Demo", "version": "1.0.0",
            "min_core_version": "2.0.0", "required_features": ["ai_models"],
            "permissions": [{"permission": "ReadEntries", "params": {"glob": "**/*.jpg"}},
                            {"permission": "WriteTags"}],
            "models": [{"name": "tiny", "category": "scene", "source": {"bundled": "models/tiny.onnx"}}],
            "entry": "python:demo_ext:Demo"}


def broken(doc, mutate):
    doc = copy.deepcopy(doc)
    mutate(doc)
    return doc


@pytest.mark.parametrize("mutate,path,words", [
    (lambda d: d["views"][1].update(component="spaceship"), "$.views[1].component", "not one of"),
    (lambda d: d["views"][0].pop("data_source"), "$.views[0].data_source", "required"),
    (lambda d: d["sidebar_sections"][1].update(render_type="carousel"),
     "$.sidebar_sections[1].render_type", "carousel"),
    (lambda d: d["sidebar_sections"][0].update(colour="red"), "$.sidebar_sections[0].colour", "unexpected"),
    (lambda d: d["sidebar_sections"][1].update(id="people"), "$.sidebar_sections[1].id", "duplicate"),
    (lambda d: d["views"][0].update(data_source="sql:select 1"), "$.views[0].data_source", "does not match"),
])
def test_broken_ui_manifest_names_the_json_path(mutate, path, words):
    with pytest.raises(ManifestError) as info:
        validate_ui_manifest(broken(UI, mutate), compile_query=None)
    assert info.value.path == path
    assert words in str(info.value) and path in str(info.value)


def test_valid_ui_manifest_compiles_each_query_once_per_place():
    seen = []
    ui = validate_ui_manifest(UI, compile_query=lambda q: seen.append(q) or q.upper())
    assert ui.compiled["$.sidebar_sections[0].query"] == "MODELS PERSON"
    assert ui.query_text(ui.section("places_map")) == "models Person"
    assert len(seen) == 3   # the named query, and two sections; views reuse the named one


def test_a_query_that_does_not_compile_fails_install_with_its_path():
    vdfs_query = pytest.importorskip("vdfs_query")
    if not hasattr(vdfs_query, "parse"):
        pytest.skip("vdfs_query.parse has not landed yet")
    bad = broken(UI, lambda d: d["sidebar_sections"][1].update(query="models ((("))
    with pytest.raises(ManifestError) as info:
        validate_ui_manifest(bad)
    assert info.value.path == "$.sidebar_sections[1].query"
    assert "does not compile" in str(info.value)


@pytest.mark.parametrize("mutate,path", [
    (lambda d: d.update(id="Not An Id"), "$.id"),
    (lambda d: d.update(version="one"), "$.version"),
    (lambda d: d["permissions"][1].update(permission="FormatDisk"), "$.permissions[1]"),
    (lambda d: d["models"][0].update(source={"url": "http://x/m.onnx", "sha256": "zz"}),
     "$.models[0].source.sha256"),
    (lambda d: d.pop("entry"), "$.entry"),
])
def test_broken_manifest_names_the_json_path(mutate, path):
    with pytest.raises(ManifestError) as info:
        validate_manifest(broken(MANIFEST, mutate))
    assert info.value.path == path


def test_package_folder_round_trip(tmp_path):
    root = tmp_path / "demo"
    (root / "assets").mkdir(parents=True)
    (root / "models").mkdir()
    (root / "prompts").mkdir()
    (root / "manifest.json").write_text(json.dumps(MANIFEST))
    (root / "ui_manifest.json").write_text(json.dumps(UI))
    (root / "models" / "tiny.onnx").write_bytes(b"x")
    with pytest.raises(ManifestError, match=r"\$\.sidebar_sections\[0\]\.icon"):
        load_package(root, compile_query=None)
    (root / "assets" / "people.png").write_bytes(b"png")
    pkg = load_package(root, compile_query=None)
    assert pkg.id == "com.example.demo" and pkg.ui.sidebar_sections[0]["label"] == "People"
    (root / "models" / "tiny.onnx").unlink()
    with pytest.raises(ManifestError, match=r"\$\.models\[0\]\.source\.bundled"):
        load_package(root, compile_query=None)
    (root / "manifest.json").write_text("{not json")
    with pytest.raises(ManifestError, match="not valid JSON"):
        load_package(root)

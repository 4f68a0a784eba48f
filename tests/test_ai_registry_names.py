"""AI registry names, categories and formats become file names under $VDFS_HOME/models, so
each is validated: no path separators, no dot segments, no control characters, bounded length,
formats from a fixed set. Whatever is asked, nothing is written outside the models folder and
every refusal is a ModelError."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.ai import ModelError, ModelRegistry, ModelSource
from core.ai import registry
from core.store.paths import models_dir, vdfs_home

MAX_NAME = getattr(registry, "MAX_NAME", 128)


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name, category", [
    ("ok", ".."), ("ok", "."), ("..", "scene"), (".", "scene"), ("ok", "a/b"), ("a/b", "scene"),
    ("ok\n", "scene"), ("ok", "scene\n"), ("o\x00k", "scene"), ("tab\tname", "scene"),
    ("x" * 300, "scene"), ("ok", "c" * 300), ("", "scene"), ("ok", ""), ("a\\b", "scene"),
])
def test_bad_names_and_categories_are_refused_and_write_nothing(name, category):
    before = files_under(vdfs_home())
    with pytest.raises(ModelError, match="must match|at most"):
        ModelRegistry().register(name, category, ModelSource.bundled(b"bytes"))
    assert files_under(vdfs_home()) == before
    assert ModelRegistry().list() == []


def test_longest_allowed_name_is_stored():
    name = "n" * MAX_NAME
    m = ModelRegistry().register(name, "c" * MAX_NAME, ModelSource.bundled(b"bytes", "bin"))
    assert ModelRegistry().path(m).read_bytes() == b"bytes"


@pytest.mark.parametrize("fmt", ["../../escape", "a/b", "onnx\n", "", "x" * 300, "exe"])
def test_unknown_formats_are_refused_before_anything_is_written(fmt, tmp_path):
    before = files_under(tmp_path.parent)
    with pytest.raises(ModelError, match="format"):
        ModelRegistry().register("m", "scene", ModelSource.bundled(b"bytes", format=fmt))
    with pytest.raises(ModelError, match="format"):
        ModelSource("bundled", data=b"bytes", format=fmt)     # built directly, too
    assert files_under(tmp_path.parent) == before
    assert not (vdfs_home().parent / "escape").exists()


def test_format_is_inferred_case_insensitively_and_checked(tmp_path):
    upper = tmp_path / "M.ONNX"
    upper.write_bytes(b"graph")
    assert ModelSource.local(upper).format == "onnx"
    odd = tmp_path / "weights.exe"
    odd.write_bytes(b"x")
    with pytest.raises(ModelError, match="format 'exe'.*format="):
        ModelSource.local(odd)
    assert ModelSource.local(odd, format="bin").format == "bin"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(max_size=140), category=st.text(max_size=20))
def test_any_name_is_stored_inside_the_models_folder_or_refused(name, category):
    root = models_dir()
    try:
        m = ModelRegistry().register(name, category, ModelSource.bundled(b"b", "bin"))
    except ModelError:
        return
    path = ModelRegistry().path(m).resolve()
    assert path.parent == (root / category).resolve() and path.is_file()
    assert os.path.basename(path).startswith(name)

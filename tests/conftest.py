"""Shared fixtures: every test gets its own VDFS_HOME, so no test sees the user's ~/.vdfs."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import core

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def vdfs_home(tmp_path_factory, monkeypatch) -> Path:
    home = tmp_path_factory.mktemp("vdfs_home")
    monkeypatch.setenv("VDFS_HOME", str(home))
    monkeypatch.setenv("VDFS_DEVICE_NAME", "test-device")
    return home


@pytest.fixture
def lib(tmp_path) -> "core.Library":
    library = core.Library.create(tmp_path / "test.vdfs")
    yield library
    library.close()

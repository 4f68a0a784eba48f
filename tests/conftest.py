"""Shared fixtures: every test gets its own VDFS_HOME, so no test sees the user's ~/.vdfs, and
the session one cache folder (the parser's tables, built once for all subprocesses), which
$VDFS_CACHE_DIR names (else each test's VDFS_HOME would hold its own)."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

import core

REPO = Path(__file__).resolve().parent.parent
if "VDFS_CACHE_DIR" not in os.environ:
    os.environ["VDFS_CACHE_DIR"] = tempfile.mkdtemp(prefix="vdfs-test-cache-")
    atexit.register(shutil.rmtree, os.environ["VDFS_CACHE_DIR"], True)


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

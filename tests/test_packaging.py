"""pyproject.toml says what setuptools wants to read, so `pip install` prints no deprecation
warning: the licence is an SPDX expression (a TOML table is deprecated since setuptools 77,
which a build then needs)."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_the_license_is_an_spdx_string_and_the_backend_reads_it():
    data = tomllib.loads(PYPROJECT.read_text())
    assert data["project"]["license"] == "MIT"
    [setuptools] = [r for r in data["build-system"]["requires"] if r.startswith("setuptools")]
    assert tuple(map(int, re.search(r">=\s*([\d.]+)", setuptools).group(1).split("."))) >= (77,)

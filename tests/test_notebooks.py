"""The example notebooks are tests: each runs under nbval on the VDFS kernel, outputs compared.

Runs `pytest --nbval` over every notebook in one subprocess (a kernel per notebook), so
`pytest tests` covers them; nbval's report names the failing notebook and cell. By hand:

    .venv/bin/python -m pytest --nbval notebooks/ --nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
def test_notebook_outputs_match() -> None:
    assert NOTEBOOKS, "no notebooks found"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval",
         *[str(nb.relative_to(REPO)) for nb in NOTEBOOKS],
         "--nbval-sanitize-with", "notebooks/sanitize.cfg", "--nbval-cell-timeout", "120"],
        cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-2000:]


def test_every_notebook_is_built_from_its_source_and_uses_the_vdfs_kernel() -> None:
    """nbval runs the .ipynb files: a source edited without `notebooks/build.py` would go untested."""
    import importlib.util

    import nbformat
    spec = importlib.util.spec_from_file_location("nb_build", REPO / "notebooks" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    sources = {p.stem for p in build.SRC.glob("*.py")}
    assert {p.stem for p in NOTEBOOKS} == sources

    def shape(cells):
        return [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in cells]

    for path in NOTEBOOKS:
        nb = nbformat.read(str(path), as_version=4)
        assert nb.metadata["kernelspec"]["name"] == "vdfs"
        assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code"), path.name
        built = build.cells_of((build.SRC / f"{path.stem}.py").read_text(encoding="utf-8"))
        assert shape(nb.cells) == shape(built), f"{path.name} is stale: run notebooks/build.py {path.stem}"

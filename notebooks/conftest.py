"""nbval setup for the example notebooks: they run on the "VDFS (Python 3)" kernel.

Installs that kernelspec, for this interpreter, into a temporary Jupyter path placed first in
JUPYTER_PATH before any notebook starts a kernel: `pytest --nbval notebooks/` then works from a
fresh `make test`, and a `vdfs` kernelspec the user installed elsewhere cannot shadow it.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def pytest_configure(config) -> None:
    from kernel_ext import kernelspec
    prefix = Path(tempfile.mkdtemp(prefix="vdfs-nbval-jupyter-"))
    kernelspec.install(prefix=str(prefix), labextension=False)
    paths = [str(prefix / "share" / "jupyter"), os.environ.get("JUPYTER_PATH", "")]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in paths if p)
    # the notebooks make their own VDFS_HOME; never let them see the user's library
    os.environ.pop("VDFS_LIBRARY", None)
    os.environ.setdefault("VDFS_DEVICE_NAME", "notebook-device")

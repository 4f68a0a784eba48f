"""nbval setup for the example notebooks: they run on the "VDFS (Python 3)" kernel.

Installs that kernelspec into this interpreter's prefix (the venv) before any notebook starts a
kernel, so `pytest --nbval notebooks/` works from a fresh `make test`.
"""
from __future__ import annotations

import os


def pytest_configure(config) -> None:
    from kernel_ext import kernelspec
    if not kernelspec.is_installed():
        kernelspec.install()
    # the notebooks make their own VDFS_HOME; never let them see the user's
    os.environ.pop("VDFS_LIBRARY", None)
    os.environ.setdefault("VDFS_DEVICE_NAME", "notebook-device")

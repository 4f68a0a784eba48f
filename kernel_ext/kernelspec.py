"""The "VDFS (Python 3)" kernelspec: an IPython kernel that starts with `kernel_ext` loaded.

Installed by `vdfs kernel install [--user]` (or `install()` from Python, e.g. a test's setup).
The kernel runs this interpreter, so the venv that has vdfs is the one the notebook uses;
`VDFS_LIBRARY`, when set in the kernel's environment, is opened on start.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

KERNEL_NAME = "vdfs"
DISPLAY_NAME = "VDFS (Python 3)"


def spec(python: str | None = None) -> dict:
    """The kernel.json content."""
    return {
        "argv": [python or sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--ext=kernel_ext"],
        "display_name": DISPLAY_NAME,
        "language": "python",
        "metadata": {"debugger": True},
    }


LABEXTENSION = Path(__file__).with_name("labextension") / "vdfs-highlight"


def install(user: bool = False, prefix: str | None = None, name: str = KERNEL_NAME,
            python: str | None = None, labextension: bool = True) -> str:
    """Install the kernelspec (and the JupyterLab highlighter of the query language); returns
    the kernelspec's folder.

    Default target is this interpreter's prefix (`sys.prefix`, the venv), so a venv-local Jupyter
    finds it without touching the user's home; `user=True` installs for the user instead.
    """
    if labextension:
        install_labextension(user=user, prefix=prefix)
    from jupyter_client.kernelspec import KernelSpecManager
    if not user and prefix is None:
        prefix = sys.prefix
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / name
        folder.mkdir()
        (folder / "kernel.json").write_text(json.dumps(spec(python), indent=1) + "\n", encoding="utf-8")
        logo = Path(__file__).with_name("kernelspec")
        for png in logo.glob("logo-*.png") if logo.is_dir() else []:
            shutil.copy(png, folder / png.name)
        return KernelSpecManager().install_kernel_spec(str(folder), kernel_name=name, user=user,
                                                      prefix=None if user else prefix)


def install_labextension(user: bool = False, prefix: str | None = None) -> Path | None:
    """Copy the prebuilt `vdfs-highlight` JupyterLab extension where JupyterLab looks for
    federated extensions (`<prefix>/share/jupyter/labextensions` or the user's data dir)."""
    if not (LABEXTENSION / "package.json").is_file():
        return None
    if user:
        from jupyter_core.paths import jupyter_data_dir
        root = Path(jupyter_data_dir()) / "labextensions"
    else:
        root = Path(prefix or sys.prefix) / "share" / "jupyter" / "labextensions"
    dest = root / LABEXTENSION.name
    if dest.exists():
        shutil.rmtree(dest)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(LABEXTENSION, dest)
    return dest


def uninstall(name: str = KERNEL_NAME) -> str:
    from jupyter_client.kernelspec import KernelSpecManager
    ksm = KernelSpecManager()
    path = ksm.get_kernel_spec(name).resource_dir
    ksm.remove_kernel_spec(name)
    return path


def is_installed(name: str = KERNEL_NAME) -> bool:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    try:
        KernelSpecManager().get_kernel_spec(name)
        return True
    except NoSuchKernel:
        return False

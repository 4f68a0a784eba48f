"""Running real JupyterLab for the browser test: a private server, kernelspec and Chromium.

Everything lives in a temp folder (Jupyter config, data, runtime dirs, the kernelspec), so the
test never reads or writes the user's ~/.jupyter and never needs the network.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]


def skip_reason() -> str | None:
    """Why the browser test cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return ("Chromium is not installed at /usr/bin/chromium "
                "(run scripts/install-test-extras.sh as root to install it)")
    for mod in ("jupyterlab", "playwright"):
        try:
            __import__(mod)
        except ImportError:
            return f"python package {mod!r} missing (scripts/install-test-extras.sh installs it)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def jupyter_lab(root: Path, env_extra: dict[str, str]) -> Iterator[str]:
    """Start `jupyter lab` serving `root`; yields its base URL (token in `?token=`)."""
    from kernel_ext import kernelspec
    jdir = root / ".jupyter"
    prefix = jdir / "prefix"
    kernelspec.install(prefix=str(prefix))
    token, port = secrets.token_hex(16), free_port()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(jdir / "config"), JUPYTER_DATA_DIR=str(jdir / "data"),
               JUPYTER_RUNTIME_DIR=str(jdir / "runtime"), JUPYTER_PATH=str(prefix / "share" / "jupyter"),
               JUPYTERLAB_SETTINGS_DIR=str(jdir / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(jdir / "workspaces"), **env_extra)
    settings = jdir / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    log = open(root / "jupyter.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--LabApp.expose_app_in_browser=True",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.news_url=", "--LabApp.extension_manager=readonly",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("jupyter lab did not start:\n" +
                                       (root / "jupyter.log").read_text()[-3000:])
                time.sleep(0.3)
        yield f"{base}|{token}"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def write_notebook(path: Path, cells: list[str]) -> None:
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "vdfs", "display_name": "VDFS (Python 3)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, str(path))


def copy_screenshot(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dest)

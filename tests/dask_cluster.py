"""A real Dask cluster for tests: a LocalCluster scheduler in the test process and `vdfs worker`
processes registered as two devices — "gpu-box" (VDFS_CAPABILITIES says it has a GPU) and
"files-box" (a test may share its VDFS_HOME, so a library made there is owned by it). Shared
by the test modules that place tasks (each gets its own module-scoped cluster)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import distributed   # the `distributed` extra, which `make test` installs
import pytest

REPO = Path(__file__).resolve().parents[1]


def _home(root: Path, name: str) -> Path:
    home = root / name
    home.mkdir()
    (home / "device.json").write_text(json.dumps({"uuid": str(uuid.uuid4()), "name": name}))
    return home


def _worker(scheduler: str, home: Path, name: str, caps: dict) -> subprocess.Popen:
    env = dict(os.environ, VDFS_HOME=str(home), VDFS_DEVICE_NAME=name,
               VDFS_CAPABILITIES=json.dumps(caps),
               PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests")]))
    return subprocess.Popen([sys.executable, "-m", "core.cli", "worker", "--scheduler", scheduler,
                             "--nthreads", "2", "--name", name], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("devices")
    homes = {"gpu-box": _home(root, "gpu-box"), "files-box": _home(root, "files-box")}
    lc = distributed.LocalCluster(n_workers=0, processes=True, dashboard_address=None)
    procs = [_worker(lc.scheduler_address, homes["gpu-box"], "gpu-box", {"gpu": True}),
             _worker(lc.scheduler_address, homes["files-box"], "files-box", {"gpu": False})]
    client = distributed.Client(lc, set_as_default=False)
    try:
        client.wait_for_workers(2, timeout=60)
        yield {"address": lc.scheduler_address, "homes": homes, "client": client}
    finally:
        for p in procs:
            p.kill()
            p.wait(10)
        client.close()
        lc.close()

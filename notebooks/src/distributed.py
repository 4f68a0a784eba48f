# %% [markdown]
# # One job, two devices
#
# A job says *where* each of its tasks should run — on a device with a GPU, on the device that
# has a file's bytes — and a Dask cluster runs them there. This notebook makes one machine act as
# two devices: a Dask scheduler in this kernel and two `vdfs worker` processes,
#
# - **laptop**: this notebook's own device (same `VDFS_HOME`), so it holds the library's files;
#   no GPU;
# - **gpu-box**: a second device that `VDFS_CAPABILITIES` says has a GPU.
#
# It needs the `distributed` extra (`pip install 'vdfs[distributed]'`). Everything lives in a
# fresh temporary folder.

# %%
import json, os, subprocess, sys, tempfile
from pathlib import Path

import core

work = Path(tempfile.mkdtemp(prefix="vdfs-distributed-"))
os.environ["VDFS_HOME"] = str(work / "laptop-home")   # this kernel is the laptop
os.environ["VDFS_DEVICE_NAME"] = "laptop"
folder = work / "notes"
folder.mkdir()
for i, text in enumerate(["buy milk", "write the report now", "call the bank",
                          "plan the trip to the sea", "water the plants", "read a book"]):
    (folder / f"note-{i}.txt").write_text(text + "\n")
library_path = work / "notes.vdfs"

# %%
%vdfs open :library_path --create
%vdfs index :folder --wait

# %% [markdown]
# ## A cluster of two devices
#
# As `tests/test_distributed.py` does: a scheduler here, and one `vdfs worker` process per
# device. A worker advertises its device's capabilities to Dask as resources (`gpu: 1`, its
# device id, ...), so Dask's scheduler itself keeps a GPU task off the laptop. On real machines
# you would run `vdfs worker --scheduler tcp://HOST:PORT` on each of them (or `vdfs cluster` to
# try it with this device alone).

# %%
import logging

import distributed

# no workers of its own; its dashboard on any free port; Dask's log notices kept out of the cells
scheduler = distributed.LocalCluster(n_workers=0, processes=True, dashboard_address=":0",
                                     silence_logs=logging.ERROR)


def start_worker(name: str, home: Path, capabilities: dict) -> subprocess.Popen:
    """`vdfs worker` as the device whose identity is kept in `home`."""
    env = dict(os.environ, VDFS_HOME=str(home), VDFS_DEVICE_NAME=name,
               VDFS_CAPABILITIES=json.dumps(capabilities),
               PYTHONPATH=str(Path(core.__file__).parents[1]))   # the vdfs this kernel runs
    return subprocess.Popen([sys.executable, "-m", "core.cli", "worker", "--scheduler",
                             scheduler.scheduler_address, "--name", name, "--nthreads", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


workers = [start_worker("laptop", work / "laptop-home", {"gpu": False}),
           start_worker("gpu-box", work / "gpu-box-home", {"gpu": True})]
client = distributed.Client(scheduler, set_as_default=False)
client.wait_for_workers(2, timeout=60)
sorted(w["name"] for w in client.scheduler_info(n_workers=-1)["workers"].values())

# %% [markdown]
# The library's jobs now place their tasks on this cluster (`VDFS_SCHEDULER=tcp://...` in the
# environment does the same for every library opened afterwards).

# %%
from core.devices import detach, use_dask
from kernel_ext import session

lib = session.library()
executor = use_dask(lib, scheduler.scheduler_address)
sorted((d.name, d.capabilities["gpu"]) for d in executor.devices())

# %% [markdown]
# ## A job that places its tasks
#
# Two kinds of task: `count_words` reads a file, so it runs on the device that owns the file's
# bytes (`owner_of`); `embed` stands in for model inference and asks for a GPU
# (`with_capability("gpu")`). The job sends them in rounds and reports its progress after each.
# (`device=ctx.select_device()`, with no condition, would let Dask pick any worker.)

# %%
import time

import blake3

from core.jobs import job, task
from core.store.device import current_device


@task(retries=1)
def count_words(path: str) -> list:
    time.sleep(0.2)
    return ["count_words", current_device()[1], len(Path(path).read_text().split())]


@task(retries=1)
def embed(path: str) -> list:
    time.sleep(0.2)
    return ["embed", current_device()[1], blake3.blake3(Path(path).name.encode()).hexdigest()[:8]]


@job(name="notebook.spread", parallelism=4)
def spread(ctx, paths: list):
    gpu = ctx.select_device().with_capability("gpu")
    results, total = [], 2 * len(paths)
    for start in range(0, len(paths), 2):
        batch = paths[start:start + 2]
        results += ctx.map(count_words, batch, device=lambda p: ctx.select_device().owner_of(p))
        results += ctx.map(embed, batch, device=gpu)
        ctx.progress(len(results), total, phase="tasks")
    return results

# %% [markdown]
# `%vdfs run ... --wait` shows the job's live progress while the cell runs.

# %%
paths = sorted(str(p) for p in folder.iterdir())
monitor = %vdfs run notebook.spread paths=:paths --wait
monitor

# %% [markdown]
# Which device ran what:

# %%
from collections import Counter

results = monitor.result
placed = Counter((task_name, device) for task_name, device, _ in results)
print(f"{'task':<12} {'device':<8} tasks")
for (task_name, device), n in sorted(placed.items()):
    print(f"{task_name:<12} {device:<8} {n}")

# %% [markdown]
# Each result was written to jobs.db on this device the moment it arrived, and the values are
# what the same tasks return when called right here:

# %%
here = [f(p) for i in range(0, len(paths), 2) for f in (count_words, embed)
        for p in paths[i:i + 2]]
values = [value for *_, value in results]
print(values)
print("same as a local run:", values == [value for *_, value in here])

# %%
%vdfs jobs where name = "notebook.spread" select name, status, progress_done, progress_total

# %% [markdown]
# ## Shutting down
#
# The library goes back to running tasks in this process; the workers and the scheduler stop.

# %%
detach(lib)
client.retire_workers()
print([p.wait(30) for p in workers])
client.close()
scheduler.close()

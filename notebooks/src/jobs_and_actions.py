# %% [markdown]
# # Jobs and actions
#
# **Jobs** are durable background work: progress, checkpoints, pause / resume / cancel, and they
# survive a crash. **Actions** change the library safely: *preview* what would change,
# *commit* exactly that (verified), and *undo* it later.

# %%
import os, tempfile, threading, time
from pathlib import Path

work = Path(tempfile.mkdtemp(prefix="vdfs-jobs-"))
os.environ["VDFS_HOME"] = str(work / "home")
folder = work / "docs"
folder.mkdir()
for i in range(12):
    (folder / f"report-{i:02d}.txt").write_text("line\n" * (i * 40 + 1))
library_path = work / "jobs.vdfs"

# %%
%vdfs open :library_path --create
%vdfs index :folder --wait

# %% [markdown]
# ## A job of your own
#
# `@job` registers a function; `ctx.progress` drives the monitor, `ctx.checkpoint` saves where it
# got to (a resumed run starts from `ctx.state`), and a pause or cancel takes effect at a
# checkpoint.

# %%
from core.jobs import job

reached, gate = threading.Event(), threading.Event()   # pause the job at a known point


@job(name="notebook.count_lines")
def count_lines(ctx, pattern: str = "report-"):
    rows = ctx.lib.query("entries where name ~ :p and is_dir = false select path order by name",
                         p=pattern + "*").rows()
    state = ctx.state or {"done": 0, "lines": 0}
    for i, row in enumerate(rows[state["done"]:], start=state["done"]):
        state = {"done": i + 1, "lines": state["lines"] + len(Path(row["path"]).read_text().splitlines())}
        ctx.progress(i + 1, len(rows), phase="counting")
        if i == 5:
            reached.set()
            gate.wait(30)
        ctx.checkpoint(state)
    return {"files": state["done"], "lines": state["lines"]}

# %% [markdown]
# `%vdfs run` starts it and returns a live monitor at once (the cell does not block). In
# JupyterLab the Pause / Resume / Cancel buttons act on it; here we use the same methods from code.

# %%
monitor = %vdfs run notebook.count_lines pattern="report-"
job = monitor.job
reached.wait(30)      # the job is half way
job.pause()           # what the Pause button does: it stops at its next checkpoint
gate.set()
while monitor.status != "paused":
    time.sleep(0.05)
print(monitor.text())

# %%
job.resume()
monitor.wait(60)
monitor

# %%
monitor.result

# %%
%vdfs jobs

# %% [markdown]
# Jobs are also a query source:

# %%
%vdfs jobs where status = "completed" select name, status, progress_done, progress_total order by name

# %% [markdown]
# ## An action: preview, commit, undo
#
# An action computes its changes without making them. `%vdfs preview` shows them with Commit and
# Discard buttons; commit applies exactly those changes, verifies each one, and records the
# inverse in the audit log so that Undo can revert them.

# %%
from core.actions import action


@action(name="notebook.tag_long_reports")
def tag_long_reports(ctx, min_size: int, tag: str = "#long"):
    rows = ctx.lib.query("entries where size >= :min and is_dir = false select uuid order by name",
                         min=min_size).rows()
    return ctx.preview(f"Tag reports of at least {min_size} bytes {tag}",
                       [ctx.add_tag(r["uuid"], tag) for r in rows])

# %%
threshold = 2000
panel = %vdfs preview notebook.tag_long_reports min_size=:threshold
panel

# %% [markdown]
# Nothing has changed yet:

# %%
%vdfs entries tagged "#long" select name

# %%
panel.commit()        # what the Commit button does
panel

# %%
%vdfs entries tagged "#long" select name order by name

# %%
panel.undo()          # what the Undo button does
%vdfs entries tagged "#long" select name

# %% [markdown]
# A preview that no longer matches the library is refused rather than applied to something else:

# %%
stale = %vdfs preview notebook.tag_long_reports min_size=:threshold
(folder / "report-11.txt").write_text("short now\n")
%vdfs index :folder --wait
stale.commit()
print(stale.state, "-", stale.error.split(":")[0])

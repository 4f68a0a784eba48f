# %% [markdown]
# # Two devices, one library
#
# Two libraries on this machine play two devices, *desk* and *laptop*. Each indexes its own
# folder; they exchange bundles (files you could carry on a USB stick) and then sync live over
# HTTP. Afterwards each sees the other's files as that device's entries, a tag made on one shows
# on the other, and a file stored on both is found as a duplicate across devices.
#
# Everything lives in a fresh temporary folder.

# %%
import os, tempfile
from pathlib import Path
import core

work = Path(tempfile.mkdtemp(prefix="vdfs-two-devices-"))


def as_device(name: str) -> None:
    """A device's identity is kept in its VDFS_HOME: one home per device here."""
    os.environ["VDFS_HOME"] = str(work / f"{name}-home")
    os.environ["VDFS_DEVICE_NAME"] = name


def folder(name: str, files: dict) -> Path:
    root = work / name
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


desk_files = folder("desk-files", {"report.txt": "quarterly report\n",
                                   "beach.txt": "a photo of the beach\n"})
laptop_files = folder("laptop-files", {"todo.txt": "buy milk\n",
                                       "beach-copy.txt": "a photo of the beach\n"})
as_device("laptop")
laptop = core.Library.create(work / "laptop.vdfs")
laptop.index(laptop.add_location(laptop_files)).wait()
as_device("desk")
desk_path = work / "desk.vdfs"

# %% [markdown]
# The notebook's own library is the desk's.

# %%
%vdfs open :desk_path --create

# %%
%vdfs index :desk_files --wait

# %% [markdown]
# ## A bundle each way
#
# `sync export` writes what the other device has not acknowledged yet (here: everything).
# The laptop's library is new, so it *joins* the desk's on its first import; after that a
# bundle of any other library is refused.

# %%
# nbval-ignore-output
to_laptop = work / "desk-to-laptop.vdfsbundle"
%vdfs sync export :to_laptop

# %%
result = laptop.sync.import_(to_laptop, join=True)
to_desk = work / "laptop-to-desk.vdfsbundle"
laptop.sync.export(to_desk, peer="desk")
print(f"laptop applied {result.applied} changes")

# %%
%vdfs sync import :to_desk

# %% [markdown]
# Both devices now know each other, and each sees the other's entries as that device's rows.

# %%
%vdfs devices

# %%
%vdfs files select name, device order by name

# %% [markdown]
# The beach photo is stored on both devices: the same bytes make the same content identity
# on each (its uuid is derived from the content hash), so it is a duplicate across devices.

# %%
%vdfs files where duplicates select name, device order by name

# %% [markdown]
# ## A tag made on the laptop
#
# Tagging the *content* reaches every copy on every device.

# %%
beach = laptop.query('files where name = "beach-copy.txt"').rows()[0]["content_uuid"]
laptop.vdfs().add_tag_to_content(beach, "#vacation")
size = laptop.sync.export(to_desk, peer="desk")

# %%
%vdfs sync import :to_desk

# %%
%vdfs files tagged "#vacation" select name, device order by name

# %% [markdown]
# ## Live: pair once, then sync over HTTP
#
# The desk serves its library; `sync pair` prints a one-time code that the laptop presents
# once. From then on every request is signed with a per-peer secret, and a device that is not
# paired (or was revoked) gets 401.

# %%
# nbval-ignore-output
%vdfs sync serve

# %%
# nbval-ignore-output
%vdfs sync pair

# %%
import re
from kernel_ext import session
from kernel_ext.sync_magics import _SERVERS
desk = session.library()
url = _SERVERS[str(desk.path)].url
laptop.sync.with_peer(url, code=desk.sync.pair())
desk.vdfs().set_note(beach, "the blue one", scope="content")
laptop.sync.with_peer(url)
print(laptop.vdfs().get_metadata(beach, scope="content").notes)

# %%
%vdfs sync stop

# %%
laptop.close()

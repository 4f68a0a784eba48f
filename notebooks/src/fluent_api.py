# %% [markdown]
# # The fluent API
#
# Everything a `%vdfs` line can say, Python can say with a builder — the API extensions use
# (`ctx.vdfs().query_entries()…` in a job). Builder and DSL compile to the same query.

# %%
import os, tempfile
from pathlib import Path

work = Path(tempfile.mkdtemp(prefix="vdfs-fluent-"))
os.environ["VDFS_HOME"] = str(work / "home")
folder = work / "files"
for rel, size in [("notes/a.txt", 120), ("notes/b.txt", 4000), ("notes/old/c.txt", 900),
                  ("pics/sun.png", 2500), ("pics/moon.png", 700), ("pics/copy-of-sun.png", 2500)]:
    p = folder / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes((rel.split("/")[-1].replace("copy-of-", "") * 1000).encode()[:size])
library_path = work / "fluent.vdfs"

# %%
%vdfs open :library_path --create
%vdfs index :folder --wait

# %% [markdown]
# `kernel_ext.library()` (or `vdfs_library`) is the library the magics use; `lib.vdfs()` is the
# host API of the SDK.

# %%
import kernel_ext
lib = kernel_ext.library()
vdfs = lib.vdfs()

images = vdfs.query_entries().of_type("image").order_by("name")
images.count(), [e.name for e in images.collect()]

# %% [markdown]
# Builders are immutable: each call returns a new query. Terminals: `.collect()`, `.first()`,
# `.count()`, `.map(fn)`.

# %%
large = vdfs.query_entries().where("size", ">", "1KB").where("is_dir", "=", False)
large.order_by("size", desc=True).map(lambda e: (e.name, e.size))

# %%
first_note = vdfs.query_entries().in_location(folder / "notes").where("is_dir", "=", False).order_by("name").first()
first_note.name, first_note.size

# %% [markdown]
# `lib.query` runs a builder too, giving the same `Result` as a `%vdfs` line (a table that
# converts to pandas, polars or Arrow):

# %%
result = lib.query(large.select("name", "kind", "size").order_by("name"))
result

# %%
result.pl()

# %% [markdown]
# Same content, found by its identity:

# %%
sun = vdfs.query_entries().where("name", "=", "sun.png").first()
[e.name for e in vdfs.query_entries().where_content_id(sun.content_uuid).order_by("name").collect()]

# %% [markdown]
# ## One language, two front doors
#
# A builder and its DSL twin compile to identical SQL:

# %%
builder = vdfs.query_entries().of_type("image").where("size", ">", "1KB")
dsl = "entries of kind image where size > 1KB"
lib.explain(builder).sql == lib.explain(dsl).sql

# %%
%vdfs entries of kind image where size > 1KB select name, size order by name

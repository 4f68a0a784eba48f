# %% [markdown]
# # vdfs quickstart
#
# Open a library, index a folder, and ask it questions with the `%vdfs` query language.
# This notebook runs on the **VDFS (Python 3)** kernel, which loads the magics for you
# (on a plain Python kernel run `%load_ext kernel_ext` first).
#
# Everything it touches lives in a fresh temporary folder, so you can run it again at will.

# %%
import os, random, tempfile
from pathlib import Path

work = Path(tempfile.mkdtemp(prefix="vdfs-quickstart-"))
os.environ["VDFS_HOME"] = str(work / "home")   # models, settings: kept out of your ~/.vdfs


def make_sample_folder(root: Path) -> Path:
    """A small, fixed folder: notes, code, two images, one big file and one duplicate."""
    from PIL import Image
    files = {
        "notes/todo.txt": "buy milk\nwrite the report\n",
        "notes/ideas.md": "# Ideas\n\n- a virtual file system\n",
        "notes/archive/todo-copy.txt": "buy milk\nwrite the report\n",
        "code/app.py": "print('hello vdfs')\n",
        "code/util.py": "def add(a, b):\n    return a + b\n",
    }
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    (root / "images").mkdir()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(root / "images/red.png")
    Image.new("RGB", (32, 32), (40, 40, 200)).save(root / "images/blue.png")
    rng = random.Random(7)
    (root / "big.bin").write_bytes(bytes(rng.getrandbits(8) for _ in range(300_000)))
    stamp = 1714557600  # 2024-05-01 10:00 UTC: fixed dates keep the outputs stable
    for i, p in enumerate(sorted(root.rglob("*"))):
        os.utime(p, (stamp + i * 86400, stamp + i * 86400))
    return root


folder = make_sample_folder(work / "sample")
library_path = work / "quickstart.vdfs"

# %% [markdown]
# ## Open a library and index the folder
#
# `:name` reads a Python variable: values are *bound*, never pasted into the query text.
# `--create` makes the library if it does not exist yet.

# %%
%vdfs open :library_path --create

# %% [markdown]
# Indexing is a job: it runs in the background and the monitor follows its progress
# (pause, resume and cancel are buttons). `--wait` blocks until it is done.

# %%
%vdfs index :folder --wait

# %% [markdown]
# ## The query language
#
# A query names a source (`entries`, `content`, `tags`, `models Photo`, `jobs` …) followed by
# clauses in any order. The result shows as a table; the cell's value is a `Result`.

# %%
%vdfs entries where is_dir = false select name, kind, size order by name

# %% [markdown]
# Predicates read like English: `of kind`, `in "<folder>"`, `tagged`, `duplicates`.

# %%
%vdfs entries of kind image select name, size order by name

# %% [markdown]
# Python values come in as parameters:

# %%
min_size = 1000
%vdfs entries where size > :min_size and is_dir = false select name, size

# %% [markdown]
# A `%%vdfs` cell holds a longer query; `--out` keeps the result in a variable.

# %%
%%vdfs --out by_kind
entries where is_dir = false
select kind, count() as files, sum(size) as bytes
group by kind
order by kind

# %% [markdown]
# The result converts to pandas, polars or Arrow:

# %%
by_kind.df()

# %% [markdown]
# Same bytes, same content identity: `duplicates` finds copies anywhere in the library.

# %%
%vdfs entries duplicates select name, content_hash order by name

# %% [markdown]
# Dates: a date without a time means the whole day (or month).

# %%
%vdfs entries where modified < 2024-05-04 and is_dir = false select name, modified order by name

# %% [markdown]
# ## Explain
#
# `explain` shows how a query is understood and the SQL it becomes, with its bound parameters.

# %%
# nbval-ignore-output
%vdfs explain entries of kind image where size > :min_size

# %% [markdown]
# ## Mistakes
#
# A typo gets a short message with a caret, what was expected, and a suggestion — no traceback.

# %%
# raises-exception
%vdfs entries wher size > 10

# %% [markdown]
# Press <kbd>Tab</kbd> inside a `%vdfs` line to complete keywords, fields, kinds and tags.
# `%vdfs help` lists every command.

# %%
%vdfs help

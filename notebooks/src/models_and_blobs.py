# %% [markdown]
# # Models and blobs
#
# A **model** is structured data an extension keeps about content, an entry, or on its own.
# Small fields are stored inline as JSON (fast to query); `blob_data` fields — embeddings,
# thumbnails — are stored apart, compressed, deduplicated, and loaded only when read.

# %%
import os, tempfile
from dataclasses import dataclass
from pathlib import Path

work = Path(tempfile.mkdtemp(prefix="vdfs-models-"))
os.environ["VDFS_HOME"] = str(work / "home")
folder = work / "letters"
folder.mkdir()
letters = {"dear-anna.txt": "Dear Anna, the garden is in bloom and the bees are busy.",
           "to-bob.txt": "Bob, the invoice is attached. Please pay by Friday.",
           "note.txt": "Remember the garden party on Sunday."}
for name, text in letters.items():
    (folder / name).write_text(text)
library_path = work / "models.vdfs"

# %%
%vdfs open :library_path --create
%vdfs index :folder --wait

# %% [markdown]
# Declare a model: `scope="content"` attaches it to the bytes (every copy of the file shares it).

# %%
from core.domain.models import model, blob_data, is_loaded
import kernel_ext

lib = kernel_ext.library()
vdfs = lib.vdfs()


@model(version="1.0.0", scope="content", extension_id="com.example.letters")
@dataclass
class Summary:
    topic: str = ""
    words: int = 0
    vector: list = blob_data(default_factory=list)   # a stand-in for an embedding


def summarize(text: str) -> Summary:
    words = text.lower().replace(",", " ").replace(".", " ").split()
    topic = "garden" if "garden" in words else "money" if "invoice" in words else "other"
    return Summary(topic=topic, words=len(words), vector=[round(len(w) / 10, 1) for w in words[:8]])


for e in vdfs.query_entries().where("is_dir", "=", False).order_by("name").collect():
    vdfs.create_model_for_content(e.content_uuid, summarize(Path(e.path).read_text()))

# %% [markdown]
# Models are a query source; inline fields are fields:

# %%
%vdfs models Summary select topic, words order by words desc

# %% [markdown]
# …and entries can be asked whether they `has` one, joined through their content:

# %%
%vdfs entries has Summary where is_dir = false select name order by name

# %% [markdown]
# ## Blobs load lazily
#
# `select_inline_only()` skips blob fields entirely; a normal read loads them on first access.

# %%
light = vdfs.query_models(Summary).select_inline_only().collect()
[(s.topic, s.words, is_loaded(s, "vector")) for s in sorted(light, key=lambda s: s.words)]

# %%
anna = vdfs.query_entries().where("name", "=", "dear-anna.txt").first()
full = vdfs.get_model_by_content(Summary, anna.content_uuid)
before = is_loaded(full, "vector")
before, full.vector, is_loaded(full, "vector")

# %% [markdown]
# ## Tags on models

# %%
vdfs.add_tag_to_model(full, "#reviewed")
%vdfs models Summary tagged "#reviewed" select topic, words

# %% [markdown]
# Updates are visible to the very next query:

# %%
full.topic = "garden-party"
vdfs.update_model(full)
%vdfs models Summary where topic = "garden-party" select topic, words

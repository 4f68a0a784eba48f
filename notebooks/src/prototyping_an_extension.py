# %% [markdown]
# # Prototyping an extension in a notebook
#
# An extension is plain Python: models, a job, an action and a view, declared with the SDK's
# decorators, installed into the library from a cell — no restart, no package. Install asks the
# user for permissions, which can be narrowed to locations; the extension then sees only that.

# %%
import os, tempfile
from dataclasses import dataclass
from pathlib import Path

work = Path(tempfile.mkdtemp(prefix="vdfs-proto-"))
os.environ["VDFS_HOME"] = str(work / "home")
folder = work / "writing"
entries = {
    "diary/monday.txt": "What a great day, I am so happy with the garden.",
    "diary/tuesday.txt": "Rain again. Sad and tired.",
    "diary/wednesday.txt": "Happy news: the book is done! Great!",
    "work/memo.txt": "Quarterly numbers are great.",        # outside the grant below
}
for rel, text in entries.items():
    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
    (folder / rel).write_text(text)
library_path = work / "proto.vdfs"

# %%
%vdfs open :library_path --create
%vdfs index :folder --wait

# %% [markdown]
# ## The extension
#
# A content-scoped model, a job that fills it through the extension's own (permission-checked)
# host API, an action, and a `ui_manifest` with one view.

# %%
from core.sdk import Permission, action, extension, job, model

EXT = "com.example.moods"
HAPPY, SAD = {"happy", "great", "done"}, {"sad", "tired", "rain"}


@model(version="1.0.0", scope="content", extension_id=EXT)
@dataclass
class Mood:
    mood: str = "neutral"
    score: int = 0


@job(name="scan")
def scan(ctx):
    """Score every text file the extension may read."""
    api = ctx.vdfs()
    files = api.query_entries().of_type("text").order_by("name").collect()
    for i, e in enumerate(files):
        words = api.read_entry(e.uuid).decode().lower().replace(",", " ").replace(".", " ").replace("!", " ").split()
        score = sum(w in HAPPY for w in words) - sum(w in SAD for w in words)
        mood = "happy" if score > 0 else "sad" if score < 0 else "neutral"
        if api.get_model_by_content(Mood, e.content_uuid) is None:
            api.create_model_for_content(e.content_uuid, Mood(mood=mood, score=score))
        ctx.progress(i + 1, len(files), phase="scoring")
    return {"scored": len(files)}


@action(name=f"{EXT}.tag_happy", extension_id=EXT)
def tag_happy(ctx):
    rows = ctx.vdfs().query("models Mood where mood = 'happy' select content_uuid").rows()
    return ctx.preview("Tag happy writing #happy",
                       [ctx.add_tag(r["content_uuid"], "#happy", scope="content") for r in rows])


@extension(id=EXT, name="Moods", version="0.1.0", description="Scores the mood of your writing.",
           permissions=[Permission.ReadEntries(glob="**/*.txt"), Permission.WriteTags])
class Moods:
    models = [Mood]
    jobs = [scan]
    actions = [tag_happy]
    ui_manifest = {
        "sidebar_sections": [{"id": "moods", "label": "Moods", "query": "models Mood order by score desc",
                              "render_type": "list"}],
        "views": [{"id": "moods_list", "label": "Moods", "component": "list_view",
                   "data_source": "query:models Mood order by score desc"}],
    }

# %% [markdown]
# ## Install with scoped grants
#
# The dialog lists what the extension asks for. Here it may read and tag only the `diary` folder.

# %%
dialog = %vdfs install :Moods
dialog.install(scopes={"ReadEntries": [str(folder / "diary")], "WriteTags": [str(folder / "diary")]})
dialog

# %%
%vdfs run com.example.moods.scan --wait

# %% [markdown]
# Three diary entries were scored; the memo in `work/` was never visible to the extension:

# %%
%vdfs models Mood select mood, score order by score desc

# %%
%vdfs view com.example.moods/moods_list

# %% [markdown]
# ## Its action, previewed and committed

# %%
panel = %vdfs preview com.example.moods.tag_happy
panel.commit()
panel

# %%
%vdfs entries tagged "#happy" select name order by name

# %% [markdown]
# The grants are enforced on every call: writing outside the scope is refused with a message
# naming the permission and its scope.

# %%
from core.extensions.manager import ExtensionManager
from core.extensions import PermissionDenied

api = vdfs_library.extensions.host_for(EXT)
memo = vdfs_library.vdfs().query_entries().where("name", "=", "memo.txt").first()
try:
    api.add_tag_to_entry(memo.uuid, "#happy")
except PermissionDenied as exc:
    print(type(exc).__name__, "-", exc)

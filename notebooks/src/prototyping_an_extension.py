# %% [markdown]
# # Prototyping an extension in a notebook: Photos, step by step
#
# The SDK's reference example is a Photos extension: a definition with permissions and settings,
# content-scoped and standalone models, a durable job with tasks, an agent with memory, an action
# with preview and a `ui_manifest`. This notebook writes each part in Python, in the example's
# order, installs the result into a library from a cell — no restart, no package — and runs it on
# real photographs: scikit-image ships a portrait (`astronaut`) and a photo of a coffee cup,
# matplotlib a portrait of Grace Hopper.

# %%
import io, os, tempfile
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image
from skimage import data as skdata

work = Path(tempfile.mkdtemp(prefix="vdfs-proto-"))
os.environ["VDFS_HOME"] = str(work / "home")
folder = work / "pictures"


def jpeg(pixels, lat, lon):
    """A JPEG with EXIF GPS, as a phone writes it."""
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    def dms(v):
        v = abs(v)
        return (int(v), int(v * 60 % 60), round(v * 3600 % 60, 2))
    gps[1], gps[2] = ("N" if lat >= 0 else "S"), dms(lat)
    gps[3], gps[4] = ("E" if lon >= 0 else "W"), dms(lon)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=92, exif=exif)
    return buf.getvalue()


hopper = np.asarray(Image.open(Path(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg")))
photos = {
    "My Photos/astronaut.jpg": jpeg(skdata.astronaut(), 28.5729, -80.6490),   # Cape Canaveral
    "My Photos/astronaut-mirrored.jpg": jpeg(skdata.astronaut()[:, ::-1].copy(),
                                             29.5597, -95.0900),                  # Houston
    "My Photos/grace-hopper.jpg": jpeg(hopper, 38.8719, -77.0563),            # the Pentagon
    "My Photos/lyon/coffee.jpg": jpeg(skdata.coffee(), 45.7640, 4.8357),      # Lyon
    "Private/passport.jpg": jpeg(skdata.astronaut()[::2, ::2].copy(), 48.8566, 2.3522),
}
for rel, data in photos.items():
    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
    (folder / rel).write_bytes(data)
(folder / "My Photos/copies").mkdir()
(folder / "My Photos/copies/astronaut-again.jpg").write_bytes(photos["My Photos/astronaut.jpg"])
library_path = work / "photos.vdfs"

# %%
%vdfs open :library_path --create

# %% [markdown]
# ## 1. The extension definition: metadata, permissions, settings
#
# `#[extension(...)]` becomes `@extension(...)`, `Permission::ReadEntries(glob = …)` becomes
# `Permission.ReadEntries(glob=…)`, and `#[setting(...)]` fields become `setting(...)` class
# attributes, from which the settings form is generated. The class itself is written last
# (below), because in Python it names the models, jobs and actions it brings, so they come first.

# %%
from core.sdk import (AssociativeMemory, Permission, WorkingMemory, action, action_execute, agent,
                      agent_memory, agent_trail, blob_data, extension, job, model, setting, sync,
                      task)
from core.sdk.runtime import extension_context

EXT = "com.example.photos"
PERMISSIONS = [
    Permission.ReadEntries(glob="**/*.{jpg,png,heic}"),
    Permission.ReadSidecars(kinds=["exif"]),
    Permission.WriteSidecars(kinds=["faces", "places"]),
    Permission.WriteTags,
    Permission.UseModel(category="face_detection", preference="local"),
    Permission.DispatchJobs,                        # the agent queues the analysis itself
]


class PhotosConfig:
    face_recognition: bool = setting(label="Enable Face Recognition", default=True)
    model_selector: str = setting(label="Model Preference", default="local")

# %% [markdown]
# ## 2. Models
#
# `PhotoAnalysis` is content-scoped: the same photo at two paths (`astronaut.jpg` and its copy)
# gets one analysis. `Person` and `Album` are standalone. The embeddings are `blob_data`: kept out
# of `models.data`, so queries over people stay light.

# %%
@model(version="1.0.0", scope="content", sync_strategy="shared", extension_id=EXT)
@dataclass
class PhotoAnalysis:
    detected_faces: list = blob_data(default_factory=list)   # [{box, score, embedding}]
    scene_tags: list = field(default_factory=list)
    identified_people: list = field(default_factory=list)    # Person uuids


@model(version="1.0.0", scope="standalone", sync_strategy="shared", extension_id=EXT)
@dataclass
class Person:
    name: str | None = None
    photo_count: int = 0
    embeddings: list = blob_data(default_factory=list)


@model(version="1.0.0", scope="standalone", sync_strategy="shared", extension_id=EXT)
@dataclass
class Album:
    name: str = ""
    content_ids: list = field(default_factory=list)

# %% [markdown]
# ## 3. Jobs and tasks
#
# `detect_faces` reads the entry through the extension's own read permission (`entry.read()`).
# The reference example asks a registered model (`ctx.ai().from_registered("face_detection:…")
# .detect_faces(image_bytes)`), which needs a detector file registered first (section 5). This
# prototype uses a detector that needs no file of its own: OpenCV's frontal-face Haar cascade,
# whose trained XML ships inside the `opencv-python` wheel. Each face is embedded by dlib's
# face-recognition ResNet (128 numbers; dlib from the `dlib-bin` wheel, its weights from the
# `face_recognition_models` package, found without importing it): two faces are one person when
# their embeddings are less than 0.6 apart, dlib's own threshold. `classify_scene` is a stand-in:
# the photo's dominant tone.

# %%
import importlib.util

import cv2
import dlib

CASCADE = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
weights = Path(importlib.util.find_spec("face_recognition_models").submodule_search_locations[0],
               "models")
LANDMARKS = dlib.shape_predictor(str(weights / "shape_predictor_5_face_landmarks.dat"))
RESNET = dlib.face_recognition_model_v1(str(weights / "dlib_face_recognition_resnet_model_v1.dat"))
SAME_PERSON = 0.6                     # dlib's threshold on the distance of two embeddings


def face_embedding(rgb, x, y, w, h):
    """Eyes and nose found in the box, the face aligned, then described by the ResNet."""
    shape = LANDMARKS(rgb, dlib.rectangle(x, y, x + w - 1, y + h - 1))
    return [round(v, 6) for v in RESNET.compute_face_descriptor(rgb, shape)]


@task(retries=3, timeout_ms=30000)
def detect_faces(ctx, entry):
    rgb = np.asarray(Image.open(io.BytesIO(entry.read())).convert("RGB"))
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    boxes = CASCADE.detectMultiScale(cv2.equalizeHist(gray), scaleFactor=1.1, minNeighbors=5,
                                     minSize=(40, 40))
    return [{"box": [int(v) for v in (x, y, w, h)],
             "embedding": face_embedding(rgb, *(int(v) for v in (x, y, w, h)))}
            for x, y, w, h in boxes]


@task(retries=3, timeout_ms=30000)
def classify_scene(ctx, entry):
    r, g, b = np.asarray(Image.open(io.BytesIO(entry.read())).convert("RGB")).mean(axis=(0, 1))
    return ["warm" if r > b + 10 else "cool" if b > r + 10 else "neutral"]


def identify(ctx, face):
    """The person a face belongs to: a known one from the agent's memory, else a new one."""
    knowledge = extension_context(ctx).memory().knowledge
    hit = knowledge.query_similar_faces(face, k=1)       # the nearest known face, by angle
    if hit and np.linalg.norm(knowledge.get(hit[0][0])[0] - face["embedding"]) < SAME_PERSON:
        return hit[0][2]["person"]
    person_id = str(ctx.vdfs().create_model(
        Person(name=f"person-{len(knowledge) + 1}", photo_count=1, embeddings=[face["embedding"]])))
    knowledge.add(person_id, face["embedding"], {"person": person_id})
    return person_id


@job(parallelism=4, trigger="user_initiated")
def analyze_photos(ctx, location):
    # Get content UUIDs (not entry UUIDs!)
    content_uuids = (ctx.vdfs()
                     .query_entries()
                     .in_location(location)
                     .of_type("image")
                     .map(lambda e: e.content_uuid)
                     .collect())
    for content_uuid in content_uuids:
        # Check if already analyzed
        if ctx.vdfs().get_model_by_content(PhotoAnalysis, content_uuid) is not None:
            continue
        # Get an entry to read image data
        entry = (ctx.vdfs()
                 .query_entries()
                 .where_content_id(content_uuid)
                 .on_this_device()
                 .first())
        # Analyze
        faces = ctx.run(detect_faces, entry)
        scenes = ctx.run(classify_scene, entry)
        people = [identify(ctx, face) for face in faces]
        # Create content-scoped model
        analysis = PhotoAnalysis(detected_faces=faces, scene_tags=scenes, identified_people=people)
        ctx.vdfs().create_model_for_content(content_uuid, analysis)
        # Tag the content
        ctx.vdfs().add_tag_to_content(content_uuid, "#analyzed")
    return {"photos": len(content_uuids)}

# %% [markdown]
# ## 4. The agent and its memory
#
# `#[agent_memory] struct PhotosMind` becomes an `@agent_memory` class; each field says how it
# syncs. `on_new_photo` is called for every new photo inside the grants: it notes the photo,
# looks for similar faces (a photo not analysed yet has none) and queues one analysis.

# %%
@agent_memory
class PhotosMind:
    knowledge: AssociativeMemory["FaceGraph"] = sync("shared")
    plan: WorkingMemory = sync("device_owned")

# %% [markdown]
# ## 5. Model registration
#
# `ctx.models().register(name=…, category="vision", source=ModelSource.download(url, sha256))`
# in the extension's `init(self, ctx)` would fetch and verify a detector once, at install. The
# cascade above ships with opencv-python, so this prototype registers nothing.
#
# ## 6. Actions
#
# `organize_photos` previews one `#person:` tag per photo and person; `organize_photos_execute`
# applies exactly that through `ctx.vdfs().add_tag` (anything it did beyond the preview would be
# refused), and the whole action is audited and undoable.

# %%
def person_tags(ctx, location):
    api = ctx.vdfs()
    names = {str(p["uuid"]): p["name"] for p in api.query("models Person select uuid, name").rows()}
    for photo in api.query_entries().in_location(location).of_type("image").order_by("path").collect():
        analysis = api.get_model_by_content(PhotoAnalysis, photo.content_uuid)
        for person in (analysis.identified_people if analysis else []):
            yield photo, f"#person:{names[person]}"


@action(name=f"{EXT}.organize_photos", extension_id=EXT)
def organize_photos(ctx, location):
    changes = [ctx.add_tag(photo.uuid, tag) for photo, tag in person_tags(ctx, location)]
    return ctx.preview("Organize Photos", changes, reversible=True)


@action_execute
def organize_photos_execute(ctx, preview):
    for photo, tag in person_tags(ctx, preview.args["location"]):
        ctx.vdfs().add_tag(photo.uuid, tag)

# %% [markdown]
# ## 7. UI: the `ui_manifest`
#
# The example's manifest as written: a People section whose query is `tags LIKE '#person:%'` and
# a Places map fed by `query:exif_gps` (photos with GPS). Front ends render it generically.
#
# ## The extension class
#
# Now the definition of section 1 can name its parts. `@agent` makes `on_new_photo` the agent's
# handler, `@agent_trail` keeps its trace as JSON lines.

# %%
@agent_trail(level="debug", format="jsonl")
@agent
@extension(id=EXT, name="Photos Manager", version="1.0.0",
           description="Advanced photo organization with faces and places.",
           min_core_version="2.0.0", required_features=["ai_models", "exif_extraction"],
           permissions=PERMISSIONS)
class Photos:
    config: PhotosConfig
    models = [PhotoAnalysis, Person, Album]
    jobs = [analyze_photos]
    actions = [organize_photos]
    memory = PhotosMind
    ui_manifest = {
        "sidebar_sections": [{"id": "people", "label": "People", "query": "tags LIKE '#person:%'",
                              "render_type": "list"}],
        "views": [{"id": "places_map", "label": "Places", "component": "map_view",
                   "data_source": "query:exif_gps"}],
    }

    def on_new_photo(self, ctx, photo):
        ctx.trace("New photo added - checking for faces")
        # Use memory for reasoning
        mind = ctx.memory()
        similar_faces = mind.knowledge.query_similar_faces(photo.exif)
        # Dispatch job if needed (once: the plan remembers it is queued)
        if not similar_faces and not mind.plan.get("analysis_queued"):
            mind.plan.set("analysis_queued", True)
            ctx.dispatch_job(analyze_photos, photo.location())
        # Mutation to VDFS (audit log)
        ctx.vdfs().add_tag(photo.id, "#new-photo")

# %% [markdown]
# ## Install with scoped grants, then add the photos
#
# The dialog lists what Photos asks for; the user limits it to `My Photos`. `Private/` stays
# invisible to the extension: its agent is never told about the passport photo, its job never
# reads it.

# %%
mine = str(folder / "My Photos")
dialog = %vdfs install :Photos
dialog.install(scopes={name: [mine] for name in
                       ("ReadEntries", "ReadSidecars", "WriteSidecars", "WriteTags")})
dialog

# %%
%vdfs index :folder --wait
vdfs_library.extensions.wait_idle()
[vdfs_library.jobs.get(j["id"]).wait(timeout=120)
 for j in vdfs_library.jobs.list(name=f"{EXT}.analyze_photos")]

# %% [markdown]
# One analysis per content (the copy shares the astronaut's), one face in each portrait — where
# the face is — and none in the coffee cup. The astronaut's face and its mirror image are one
# person, Grace Hopper another:

# %%
%vdfs models PhotoAnalysis select scene_tags

# %%
%vdfs models Person select name, photo_count

# %%
api = vdfs_library.extensions.host_for(EXT)
names = {str(p["uuid"]): p["name"] for p in api.query("models Person select uuid, name").rows()}
for row in api.query_entries().of_type("image").order_by("path").collect():
    analysis = api.get_model_by_content(PhotoAnalysis, row.content_uuid)
    print(row.name, [f["box"] for f in analysis.detected_faces],
          [names[p] for p in analysis.identified_people])

# %% [markdown]
# ## The action, previewed and committed

# %%
panel = %vdfs preview com.example.photos.organize_photos location=:mine
panel.commit()
panel

# %%
%vdfs entries tagged "#person:person-1" select name order by name

# %% [markdown]
# ## The ui_manifest, rendered
#
# The sidebar runs the People query. The Places view maps the photos whose GPS core extracted
# (`query:exif_gps`); a view is drawn for the user, so it shows every photo of the library with
# GPS — the passport too — not only those inside the extension's grants.

# %%
from core.extraction import extract_media
extract_media(vdfs_library, str(folder)).wait(timeout=120)["extracted"]

# %%
%vdfs sidebar com.example.photos

# %%
%vdfs view com.example.photos/places_map

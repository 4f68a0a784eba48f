"""The Photos extension itself: metadata, permissions, settings, memory and the agent."""
from __future__ import annotations

from typing import Any

from core.sdk import (AssociativeMemory, Permission, TemporalMemory, WorkingMemory, agent,
                      agent_memory, extension, setting, sync)
from core.agents import agent_trail

from .actions import create_album
from .faces import HAAR
from .jobs import analyze_photos
from .models import EXT_ID, Album, Person, PhotoAnalysis, Place


class PhotosConfig:
    face_recognition: bool = setting(label="Enable Face Recognition", default=True)
    auto_analyze: bool = setting(label="Analyse new photos automatically", default=True)
    model_selector: str = setting(label="Model Preference", default="local",
                                  choices=["local", "cloud"])
    captions: bool = setting(label="Write captions with a language model", default=False)
    caption_model: str = setting(label="Caption model (llm:<name>)", default="captioner")
    face_model: str = setting(
        label="Face detector (opencv:haar, standin or face_detection:<name>)", default=HAAR,
        description="opencv:haar: OpenCV's Haar cascade from the opencv-python wheel; standin: "
                    "the bundled colour model only; face_detection:<name>: a registered ONNX "
                    "detector (OpenCV's YuNet, or one with boxes/scores outputs)")


@agent_memory
class PhotosMind:
    faces: AssociativeMemory = sync("shared")       # one vector per known person
    history: TemporalMemory = sync("shared")        # what the agent saw and decided
    plan: WorkingMemory = sync("device_owned")      # e.g. whether an analysis is queued


@agent_trail(level="debug", format="jsonl")
@agent
@extension(
    id=EXT_ID, name="Photos", version="1.0.0",
    description="Faces, places and albums for your photos.",
    min_core_version="2.0.0", required_features=["ai_models", "exif_extraction"],
    permissions=[
        Permission.ReadEntries(glob="**/*.{jpg,jpeg,png,heic}"),
        Permission.ReadSidecars(kinds=["exif"]),
        Permission.WriteSidecars(kinds=["faces", "places"]),
        Permission.WriteTags,
        Permission.DispatchJobs,
        Permission.UseModel(category="face_detection", preference="local"),
        Permission.UseModel(category="llm", preference="local"),
    ])
class Photos:
    config: PhotosConfig
    models = [PhotoAnalysis, Person, Place, Album]
    jobs = [analyze_photos]
    actions = [create_album]
    memory = PhotosMind

    def on_new_photo(self, ctx: Any, photo: Any) -> None:
        """A photo appeared inside the grants: note it, tag it, and queue one analysis."""
        ctx.trace("New photo added - checking for faces", path=photo.path)
        mind = ctx.memory()
        mind.history.record("new_photo", {"content": str(photo.content_uuid)})
        ctx.vdfs().add_tag(photo.id, "#new-photo")
        if not self.config.auto_analyze:
            ctx.trace("Decision: auto-analysis is off")
            return
        if mind.plan.get("analysis_queued"):
            ctx.trace("Decision: an analysis is already queued")
            return
        mind.plan.set("analysis_queued", True)
        ctx.dispatch_job(analyze_photos)
        ctx.trace("Decision: dispatched analyze_photos", level="info")

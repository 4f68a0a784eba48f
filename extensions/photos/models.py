"""The Photos extension's models: one content-scoped analysis per photo's bytes, and
standalone People, Places and Albums that refer to content by uuid."""
from __future__ import annotations

from dataclasses import dataclass, field

from core.sdk import blob_data, model

EXT_ID = "com.vdfs.photos"


@model(version="1.0.0", scope="content", sync_strategy="shared", extension_id=EXT_ID)
@dataclass
class PhotoAnalysis:
    scene: str = ""
    scene_scores: dict = field(default_factory=dict)
    face_count: int = 0
    identified_people: list = field(default_factory=list)    # Person uuids (text)
    taken_at: str | None = None
    lat: float | None = None
    lon: float | None = None
    place: str | None = None
    caption: str | None = None
    detected_faces: list = blob_data(default_factory=list)   # [{"score", "embedding"}]


@model(version="1.0.0", scope="standalone", sync_strategy="shared", extension_id=EXT_ID)
@dataclass
class Person:
    name: str | None = None
    key: str = ""                                # the face cluster in the agent's memory
    photo_count: int = 0
    content_ids: list = field(default_factory=list)
    embeddings: list = blob_data(default_factory=list)


@model(version="1.0.0", scope="standalone", sync_strategy="shared", extension_id=EXT_ID)
@dataclass
class Place:
    name: str = ""
    key: str = ""                                # grid cell, e.g. "59.9,10.8"
    lat: float = 0.0
    lon: float = 0.0
    photo_count: int = 0
    content_ids: list = field(default_factory=list)


@model(version="1.0.0", scope="standalone", sync_strategy="shared", extension_id=EXT_ID)
@dataclass
class Album:
    name: str = ""
    content_ids: list = field(default_factory=list)  # content_identity uuids (text)
    cover: str | None = None

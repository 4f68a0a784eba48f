"""The `analyze_photos` job: every photo the user granted, analysed once per content.

Per photo (a durable task, replayed not re-run after a crash): read the bytes through the
checked host API, run the registered ONNX model (scene, embedding), find the faces with the
detector the `face_model` setting names (by default OpenCV's Haar cascade; faces.py), each
embedded by dlib's face descriptor (embedding.py; the stand-in's colour when dlib is not
installed), read EXIF (core's sidecar when granted and present, else from the bytes). Then,
for the whole set: faces are grouped into People through the agent's associative memory, GPS
points into Places; content gets searchable tags (`#analyzed`, `#scene:…`, `#person:…`,
`#place:…`).
"""
from __future__ import annotations

import io
import json
import uuid
from typing import Any, Callable

from core.content.exif import read_exif
from core.access.permissions import PermissionDenied
from core.domain.metadata import NotFoundError
from core.domain.models import state_of
from core.sdk import job, task
from core.sdk.runtime import extension_context

from .analysis import (FACE_THRESHOLD, SAME_PERSON, detected_faces, face_crop, interpret,
                       model_input, place_for, slug)
from .embedding import DIM, face_embedder, same_person
from .faces import HAAR, STANDIN, detect_faces_haar, haar_available
from .models import Person, PhotoAnalysis, Place

MODEL_REF = "face_detection:photos_v1"


@task(retries=2, timeout_ms=60_000)
def analyze_photo(ctx: Any, entry_uuid: str, content_uuid: str) -> dict[str, Any]:
    ext = extension_context(ctx)
    api = ext.vdfs()
    data = api.read_entry(uuid.UUID(entry_uuid))
    model = ext.ai().from_registered(MODEL_REF)
    result = interpret(model.run({"image": model_input(data)}))
    faces = find_faces(ext, data)
    if faces is not None:                 # a real detector found the faces, each embedded
        result["faces"] = detected_faces(faces, embedder(ext, model, data)) if faces else []
    try:
        exif = json.loads(api.read_sidecar(uuid.UUID(content_uuid), "exif"))
    except (NotFoundError, PermissionDenied):
        exif = read_exif(io.BytesIO(data)) or {}
    gps = exif.get("gps") or {}
    result.update(taken_at=exif.get("taken_at"), lat=gps.get("lat"), lon=gps.get("lon"))
    return result


def embedder(ext: Any, model: Any, data: bytes) -> Callable[[Any], Any]:
    """`embed(box)` for the faces of one photo: dlib's descriptor, or, when dlib or its weights
    are not installed, the stand-in model's colour of the face's crop (the trail says so)."""
    embed = face_embedder(data)
    if embed is not None:
        return embed
    ext.trace("no dlib face model installed (dlib-bin, face_recognition_models): "
              "faces embedded by the stand-in colour model")
    return lambda box: model.run({"image": model_input(face_crop(data, box))})["embedding"][0]


def find_faces(ext: Any, data: bytes) -> list[Any] | None:
    """The faces the `face_model` setting's detector finds, or None for the stand-in (named
    `standin`, or the Haar cascade asked for but opencv-python 4 not installed)."""
    name = ext.config.face_model or STANDIN
    if name == HAAR:
        if haar_available():
            return detect_faces_haar(data, min_score=FACE_THRESHOLD)
        ext.trace("no Haar cascade installed (opencv-python 4): the stand-in model's faces")
        return None
    if name == STANDIN:
        return None
    return ext.ai().from_registered(name).detect_faces(data, min_score=FACE_THRESHOLD)


@job(name="analyze_photos", parallelism=2)
def analyze_photos(ctx: Any, location: str | None = None) -> dict[str, Any]:
    ext = extension_context(ctx)
    api = ext.vdfs()
    ext.memory().plan.set("analysis_queued", False)
    q = api.query_entries().of_type("image")      # only what the grants let it see
    if location:
        q = q.in_location(location)
    first_entry: dict[uuid.UUID, uuid.UUID] = {}
    for rec in q.collect():
        if rec["content_uuid"] is not None:
            first_entry.setdefault(rec["content_uuid"], rec["uuid"])
    todo = [cu for cu in first_entry
            if api.get_model_by_content(PhotoAnalysis, cu, inline_only=True) is None]
    ext.trace("analysis planned", photos=len(first_entry), todo=len(todo))
    for i, cu in enumerate(todo):
        res = ctx.run(analyze_photo, str(first_entry[cu]), str(cu))
        with api.batch():
            api.create_model_for_content(cu, PhotoAnalysis(
                scene=res["scene"], scene_scores=res["scene_scores"], face_count=len(res["faces"]),
                taken_at=res["taken_at"], lat=res["lat"], lon=res["lon"],
                detected_faces=res["faces"]))
            api.add_tag_to_content(cu, "#analyzed")
            api.add_tag_to_content(cu, f"#scene:{res['scene']}")
        if may_write_sidecar(ext, "faces"):
            api.write_sidecar(cu, "faces", json.dumps(res["faces"]).encode())
        ctx.progress(i + 1, len(todo), phase="analyze")
    people = assign_people(ext, api)
    places = build_places(ext, api)
    if ext.config.captions:
        caption_photos(ext, api)
    return {"photos": len(first_entry), "analyzed": len(todo), "people": people, "places": places}


def may_write_sidecar(ext: Any, kind: str) -> bool:
    """Sidecars are optional output: written only when the user granted that kind."""
    return any(kind in g.permission.args["kinds"] for g in ext.granted("WriteSidecars"))


def _target(m: Any) -> uuid.UUID:
    return state_of(m).target


def assign_people(ext: Any, api: Any) -> int:
    """Each unassigned face joins the most similar known person, or founds a new one."""
    faces = ext.memory().faces
    people = {p.key: p for p in api.query_models(Person).collect()}
    dim = memory_dim(faces, people)
    for pa in api.query_models(PhotoAnalysis).collect():
        if not pa.face_count or pa.identified_people:
            continue
        emb = pa.detected_faces[0]["embedding"]
        if dim is not None and dim != len(emb):
            forget_faces(ext, faces, people)
        dim = len(emb)
        known = known_person(faces, emb)
        if known is not None:
            person = people[known]
        else:
            key = f"person-{len(people) + 1}"
            faces.add(key, emb, {"first": str(_target(pa))})
            person = Person(name=None, key=key, embeddings=[emb])
            api.create_model(person)
            people[key] = person
        cu = str(_target(pa))
        person.content_ids = sorted(set(person.content_ids) | {cu})
        person.photo_count = len(person.content_ids)
        api.update_model(person)
        pa.identified_people = [str(state_of(person).uuid)]
        api.update_model(pa)
        api.add_tag_to_content(_target(pa), f"#person:{person.key}")
        ext.memory().history.record("face_assigned", {"content": cu, "person": person.key})
    return len(people)


def memory_dim(faces: Any, people: dict[str, Any]) -> int | None:
    """How many numbers the remembered faces have (None: no face remembered)."""
    for key in people:
        got = faces.get(key)
        if got is not None:
            return int(got[0].size)
    return None


def forget_faces(ext: Any, faces: Any, people: dict[str, Any]) -> None:
    """The face model changed (the `face_model` setting, or dlib installed or removed): faces
    embedded by another model cannot be compared with these, so the memory forgets them and
    People grows anew; the Person models found so far stay."""
    ext.trace("faces embedded by another face model: the known faces are forgotten")
    for key in people:
        faces.remove(key)


def known_person(faces: Any, emb: list[float]) -> str | None:
    """The key of the known person whose face `emb` is, or None. A dlib descriptor is compared
    with the nearest known one by dlib's own rule (Euclidean distance below 0.6); the stand-in's
    colour embedding by its cosine."""
    if len(emb) == DIM:
        hit = faces.query_similar(emb, k=1)
        return hit[0][0] if hit and same_person(emb, faces.get(hit[0][0])[0]) else None
    hit = faces.query_similar(emb, k=1, min_score=SAME_PERSON)
    return hit[0][0] if hit else None


def build_places(ext: Any, api: Any) -> int:
    """Group photos with GPS by place (the GeoNames town around them, else a 0.1° cell)."""
    places = {p.key: p for p in api.query_models(Place).collect()}
    groups: dict[str, tuple[str, float, float, set[str]]] = {}
    for pa in api.query_models(PhotoAnalysis).collect():
        if pa.lat is None or pa.lon is None:
            continue
        key, name, lat, lon = place_for(pa.lat, pa.lon)
        groups.setdefault(key, (name, lat, lon, set()))[3].add(str(_target(pa)))
        if pa.place != name:
            pa.place = name
            api.update_model(pa)
            api.add_tag_to_content(_target(pa), f"#place:{slug(name)}")
    for key, (name, lat, lon, contents) in groups.items():
        place = places.get(key)
        if place is None:
            api.create_model(Place(name=name, key=key, lat=lat, lon=lon, photo_count=len(contents),
                                   content_ids=sorted(contents)))
        elif set(place.content_ids) != contents:
            place.content_ids, place.photo_count = sorted(contents), len(contents)
            api.update_model(place)
    return len(set(places) | set(groups))


def caption_photos(ext: Any, api: Any) -> None:
    """Optional captions from a granted LLM, with the prompt from prompts/describe_photo.j2."""
    llm = ext.ai().from_registered(f"llm:{ext.config.caption_model}")
    prompts = ext.prompts()
    for pa in api.query_models(PhotoAnalysis).collect():
        if pa.caption:
            continue
        prompt = prompts.render("describe_photo.j2", scene=pa.scene, place=pa.place,
                                taken_at=pa.taken_at, people=[])
        pa.caption = llm.generate(prompt).strip()
        api.update_model(pa)

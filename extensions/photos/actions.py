"""`create_album`: preview which photos an album would hold, then commit exactly that."""
from __future__ import annotations

from typing import Any

from core.sdk import action
from core.sdk.runtime import extension_context

from .analysis import slug
from .models import EXT_ID, Album, Person, PhotoAnalysis, Place


@action(name=f"{EXT_ID}.create_album", extension_id=EXT_ID)
def create_album(ctx: Any, name: str | None = None, place: str | None = None,
                 person: str | None = None, scene: str | None = None) -> Any:
    """An album of the analysed photos matching every given filter (a place name, a person
    key or name, a scene); without a name, the album is named from prompts/album_title.j2."""
    ext = extension_context(ctx)
    api = ext.vdfs()
    chosen: set[str] | None = None

    def narrow(ids: set[str]) -> None:
        nonlocal chosen
        chosen = ids if chosen is None else chosen & ids
    if place:
        narrow({c for p in api.query_models(Place).collect() if p.name == place for c in p.content_ids})
    if person:
        narrow({c for p in api.query_models(Person).collect() if person in (p.key, p.name)
                for c in p.content_ids})
    analyses = api.query_models(PhotoAnalysis).select_inline_only().collect()
    if scene:
        from core.domain.models import state_of
        narrow({str(state_of(a).target) for a in analyses if a.scene == scene})
    if chosen is None:
        from core.domain.models import state_of
        chosen = {str(state_of(a).target) for a in analyses}
    ids = sorted(chosen)
    if name is None:
        name = ext.prompts().render("album_title.j2", place=place, year=None).strip()
    album = Album(name=name, content_ids=ids, cover=ids[0] if ids else None)
    changes = [ctx.create_model(album)]
    changes += [ctx.add_tag(c, f"#album:{slug(name)}", scope="content") for c in ids]
    return ctx.preview(f"Create album “{name}” with {len(ids)} photo(s)", changes, reversible=True)

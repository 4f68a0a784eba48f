"""Fuzz of the extension host API: whatever an extension passes to `ScopedVdfsApi`, only a
`VdfsError` comes back as an error, every call returns within 2 s, nothing outside the grant
changes, and no byte or row outside the grant is returned (tests/host_fuzz_world.py builds the
world and checks the invariants; tests/test_fuzz_host_api_corpus.py replays past escapes).

Hypothesis draws sequences of calls on every public method with arguments from in-scope and
out-of-scope uuids, malformed values of every Python type, hostile tag names, SQL injection
texts and hostile query texts; each example gets a fresh world, so a failure replays and shrinks.
"""
from __future__ import annotations

import uuid
from typing import Any, Callable

from hypothesis import HealthCheck, given, settings, strategies as st

from core.errors import VdfsError
from core.domain.models import model_uuid
from tests.host_fuzz_world import (HUGE, OTHER, Album, Caption, Mark, Secret,
                                   World, call, fresh_world, snapshot)


# ---- argument strategies -------------------------------------------------------------------
def _weighted(*choices: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """one_of with weights: mostly meaningful arguments, so calls get past the first check."""
    # sampled_from + flatmap, not one_of: one_of flattens nested one_ofs (JUNK has a dozen
    # branches), which would make junk most of what is drawn
    return st.sampled_from([s for n, s in choices for _ in range(n)]).flatmap(lambda s: s)


JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from([HUGE, -HUGE, 2 ** 63, -1]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20), st.binary(max_size=20),
    st.sampled_from(["\ud800", "\udfff abc", "\x00", "", " ", "\u202e", "nan", "-1",
                     "00000000-0000-0000-0000-00000000000", "{12345678-1234-5678-1234-567812345678}",
                     "'); DROP TABLE entries; --", "x') OR 1=1 --", b"\x00" * 15, b"\xff" * 17,
                     [], {}, [1, "a"], {"a": [1]}, (1,), object()]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(),
                                                         max_size=2))

INJECTION = ["'); DROP TABLE entries; --", "x') OR 1=1 --", "\" OR \"\"=\"", "a'; DELETE FROM tags; --",
             "$.a') OR 1=1 --", "a.b\"", "a..b", "1a", "a b", "json_extract(data, '$')", "*", "%", "_"]

TAGS = _weighted((4, st.sampled_from(["#fz", "#fz:one", "fz two", "#person: Alice", "", "#", "#:", "#a:", "##",
                     "#a,b", "#" + "x" * 10_000, "#é" * 300, "#\u0000", "#\ud800", "#\u202eevil",
                     "#İstanbul", "#ß", "#secret", "#secret-content", "#user-colour",
                     *INJECTION])), (1, st.text(max_size=30)), (1, JUNK))

FIELDS = _weighted((4, st.sampled_from(["name", "path", "size", "ext", "kind", "data.text", "text",
                                         "content_uuid", "tags", "data", "cover", *INJECTION])),
                   (1, st.text(max_size=15)), (1, JUNK))

OPS = _weighted((4, st.sampled_from(["=", "!=", "<", ">=", "~", "=~", "in", "not in", "is null",
                                     "contains", "like", "' OR 1=1", ""])), (1, JUNK))

DSL = _weighted((5, st.sampled_from([
        "entries", "files", "folders", "entries where name = \"a.jpg\"", "models Album",
        "models Caption where data.text = \"x\"", "entries where name =~ \"(a+)+$\"",
        "entries where name =~ \"(\"", "entries where name ~ \"**/*.jpg\"",
        "entries where " + "not " * 5000 + "name = \"a\"", "entries where " + "(" * 3000,
        "entries where name = :p", "entries where size > :p", "entries in :p",
        "entries where path in (:p)", "entries has Album", f"entries has {OTHER}.Secret",
        f"models {OTHER}.Secret", "models Secret", "entries tagged \"#secret\"",
        "entries group by location select location, count() as n", "entries limit :p",
        "entries order by size desc limit 3 offset :p", "entries where name = \"\ud800\"",
        "entries where name = \"'); DROP TABLE entries; --\"", "'); DROP TABLE entries; --",
        "entries where name =~ \"(?i)secret\" or path ~ \"/**\"", "entries duplicates",
        "entries on device \"x\"", "entries where size > 1e999", "entries limit 99999999999999999999",
    ])), (1, st.text(max_size=40)), (1, JUNK))



def params_of(w: World) -> st.SearchStrategy:
    """Query parameters: folders in and out of the grant, sizes, names, lists, junk."""
    places = [str(w.tmp / "photos"), str(w.tmp / "private"), str(w.tmp / "PHOTOS"), "/", "**",
              str(w.tmp / "photos" / ".." / "private"), str(w.tmp / "photos" / "link.jpg")]
    value = _weighted((3, st.sampled_from(places)), (2, st.sampled_from(["a.jpg", "1KB", 3, 0])),
                      (1, st.lists(st.sampled_from(places + ["a.jpg", 1]), max_size=3)), (2, JUNK))
    return st.dictionaries(st.sampled_from(["p", "q", "folder"]), value, max_size=2)


def uuidish(w: World, pool: str) -> st.SearchStrategy:
    """A uuid from one pool, in one of the forms the API accepts, or junk."""
    pools = {"entry": w.entries_in + w.entries_out + [w.link], "content": w.contents_in + w.contents_out,
             "model": [m for m in (model_uuid(o) for o in w.own_models) if m]
             + w.other_models + [w.hidden_model]}
    known = pools[pool] + w.entries_in[:1] + w.contents_out[:1] + w.other_models
    forms = st.sampled_from([lambda u: u, str, lambda u: u.bytes, lambda u: str(u).upper(),
                             lambda u: u.hex, lambda u: bytearray(u.bytes)])
    valid = st.builds(lambda f, u: f(u), forms, st.sampled_from(known))
    return _weighted((6, valid), (1, st.uuids()), (2, JUNK))


def model_of(w: World, data: st.DataObject) -> Any:
    """A model argument: an instance the extension stored, a fresh one, another extension's,
    a uuid, a class, or junk."""
    own = st.sampled_from(w.own_models) if w.own_models else st.nothing()
    return data.draw(_weighted(
        (5, own), (1, st.builds(Album, name=st.text(max_size=10))),
        (1, st.builds(Caption, text=st.text(max_size=5))), (1, st.just(Secret(name="forged"))),
        (1, st.sampled_from([Album, Secret, Caption])), (2, uuidish(w, "model"))), label="model")


def model_cls(data: st.DataObject) -> Any:
    return data.draw(_weighted((5, st.sampled_from([Album, Caption, Mark, Secret])), (1, JUNK)),
                     label="model class")


def new_model(data: st.DataObject, cls: type) -> Any:
    """A model instance, mostly of the class the call expects, with field values of any type
    (the store must refuse what it cannot hold)."""
    value = _weighted((3, st.text(max_size=10)), (1, JUNK),
                      (1, st.floats(allow_nan=True, allow_infinity=True)))
    builds = {Album: st.builds(Album, name=value, cover=_weighted((3, st.binary(max_size=30)),
                                                                  (1, JUNK))),
              Caption: st.builds(Caption, text=value, score=value), Mark: st.builds(Mark, label=value)}
    return data.draw(_weighted((6, builds[cls]), (1, st.sampled_from(list(builds.values())).flatmap(
        lambda s: s)), (1, st.just(Secret(name="forged"))), (1, JUNK)), label="new model")


# ---- the calls -----------------------------------------------------------------------------
def _builder_chain(w: World, data: st.DataObject) -> Any:
    q = w.api.query_entries()
    for _ in range(data.draw(st.integers(0, 4), label="chain length")):
        step = data.draw(st.sampled_from(["where", "where_true", "tagged", "order_by", "limit",
                                          "offset", "select", "in_location", "of_type",
                                          "where_content_id", "has", "duplicates",
                                          "on_device"]), label="builder step")
        if step == "where":
            q = q.where(data.draw(FIELDS, label="field"), data.draw(OPS, label="op"),
                        data.draw(st.one_of(JUNK, st.lists(JUNK, max_size=3)), label="value"))
        elif step in ("limit", "offset"):
            q = getattr(q, step)(data.draw(JUNK, label=step))
        elif step == "select":
            q = q.select(*data.draw(st.lists(FIELDS, max_size=3), label="fields"))
        elif step in ("duplicates",):
            q = q.duplicates()
        elif step == "has":
            q = q.has(data.draw(st.one_of(st.sampled_from([Album, Secret, "Album",
                                                           f"{OTHER}.Secret"]), JUNK)))
        elif step == "in_location":
            q = q.in_location(data.draw(st.one_of(st.sampled_from(
                [str(w.tmp / "private"), str(w.tmp / "PHOTOS"), w.tmp / "private", "private",
                 "/", "**"]), JUNK), label="location"))
        else:
            q = getattr(q, step)(data.draw(st.one_of(FIELDS, TAGS, uuidish(w, "content")),
                                           label=step))
    end = data.draw(st.sampled_from(["collect", "count", "first", "explain"]), label="terminal")
    return getattr(q, end)()


def _run_query(w: World, data: st.DataObject) -> Any:
    text = data.draw(DSL, label="query")
    params = data.draw(params_of(w), label="params")
    if data.draw(st.booleans(), label="explain"):
        return w.api.explain(text, **params)
    return w.api.query(text, **params).rows()


def _create(w: World, data: st.DataObject) -> Any:
    how = data.draw(st.sampled_from(["standalone", "content", "entry"]), label="create")
    m = new_model(data, {"standalone": Album, "content": Caption, "entry": Mark}[how])
    if how == "standalone":
        out = w.api.create_model(m)
    elif how == "content":
        out = w.api.create_model_for_content(data.draw(uuidish(w, "content"), label="c"), m)
    else:
        out = w.api.create_model_for_entry(data.draw(uuidish(w, "entry"), label="e"), m)
    w.own_models.append(m)
    return out


def _get(w: World, data: st.DataObject) -> Any:
    how = data.draw(st.sampled_from(["get", "content", "entry", "list", "query_models"]))
    cls, inline = model_cls(data), data.draw(st.booleans())
    if how == "get":
        return w.api.get_model(cls, data.draw(uuidish(w, "model")), inline_only=inline)
    if how == "content":
        return w.api.get_model_by_content(cls, data.draw(uuidish(w, "content")), inline_only=inline)
    if how == "entry":
        return w.api.get_model_by_entry(cls, data.draw(uuidish(w, "entry")), inline_only=inline)
    if how == "list":
        return w.api.list_models(cls, inline_only=inline)
    return w.api.query_models(cls).collect()


def _update(w: World, data: st.DataObject) -> Any:
    m = model_of(w, data)
    if hasattr(m, "__vdfs_model__") and not isinstance(m, type):
        field = data.draw(st.sampled_from(list(m.__dataclass_fields__)), label="field")
        setattr(m, field, data.draw(st.one_of(st.text(max_size=10), JUNK, st.binary(max_size=10)),
                                    label="value"))
    return w.api.update_model(m)


def _delete(w: World, data: st.DataObject) -> Any:
    return w.api.delete_model(model_of(w, data))


def _tag(w: World, data: st.DataObject) -> Any:
    verb = data.draw(st.sampled_from(["add", "remove", "of"]), label="verb")
    on = data.draw(st.sampled_from(["entry", "content", "model"]), label="on")
    target = model_of(w, data) if on == "model" else data.draw(uuidish(w, on), label="target")
    if verb == "of":
        return getattr(w.api, f"tags_of_{on}")(target)
    name = data.draw(TAGS, label="tag")
    fn = getattr(w.api, f"{verb}_tag_{'to' if verb == 'add' else 'from'}_{on}")
    return fn(target, name)


def _tag_vocabulary(w: World, data: st.DataObject) -> Any:
    how = data.draw(st.sampled_from(["create", "get", "list"]), label="vocab")
    if how == "create":
        return w.api.create_tag(data.draw(TAGS, label="name"),
                                color=data.draw(st.one_of(st.none(), st.sampled_from(
                                    ["#fff", "#abcdef", "red", "#12345"]), JUNK), label="color"),
                                parent=data.draw(st.one_of(st.none(), TAGS), label="parent"))
    if how == "get":
        return w.api.get_tag(data.draw(TAGS, label="name"))
    return w.api.list_tags(data.draw(st.one_of(st.none(), st.text(max_size=5), JUNK)))


SCOPES = st.one_of(st.sampled_from(["entry", "content", "model"]), JUNK)


def _target(w: World, data: st.DataObject) -> tuple[Any, Any]:
    scope = data.draw(SCOPES, label="scope")
    pool = scope if scope in ("entry", "content") else "model"
    target = model_of(w, data) if pool == "model" else data.draw(uuidish(w, pool), label="target")
    return target, scope


def _metadata(w: World, data: st.DataObject) -> Any:
    how = data.draw(st.sampled_from(["get", "field", "data", "blob", "get_blob", "note",
                                     "favorite", "hidden"]), label="metadata")
    target, scope = _target(w, data)
    ns = data.draw(st.one_of(st.sampled_from(["fz", "other", "fz.x", "fz:y", ""]), JUNK), label="ns")
    value = data.draw(st.one_of(JUNK, st.dictionaries(st.text(max_size=3), JUNK, max_size=2)),
                      label="value")
    if how == "get":
        return w.api.get_metadata(target, scope=scope)
    if how == "field":
        return w.api.set_custom_field(target, ns, value, scope=scope)
    if how == "data":
        return w.api.set_custom_data(target, data.draw(st.one_of(
            st.dictionaries(st.sampled_from(["fz", "other"]), JUNK, max_size=2), JUNK)), scope=scope)
    if how == "blob":
        return w.api.set_metadata_blob(target, ns, value, scope=scope,
                                       quantize=data.draw(st.one_of(st.none(), st.sampled_from(
                                           ["float16", "int8", "bogus"]), JUNK)))
    if how == "get_blob":
        return w.api.get_metadata_blob(target, ns, scope=scope)
    return getattr(w.api, f"set_{how}")(target, value, scope=scope)


def _sidecar(w: World, data: st.DataObject) -> Any:
    cu = data.draw(uuidish(w, "content"), label="content")
    kind = data.draw(st.one_of(st.sampled_from(["faces", "exif", "x", "../faces", "faces/../../x",
                                                "FACES", ""]), JUNK), label="kind")
    ext = data.draw(st.one_of(st.sampled_from(["json", "bin", "../json", "", "json\x00"]), JUNK),
                    label="ext")
    if data.draw(st.booleans(), label="write"):
        payload = data.draw(st.one_of(st.binary(max_size=20), JUNK), label="payload")
        return w.api.write_sidecar(cu, kind, payload, ext)
    return w.api.read_sidecar(cu, kind, ext)


def _collections(w: World, data: st.DataObject) -> Any:
    how = data.draw(st.sampled_from(["create", "add", "items", "list"]), label="collections")
    col = data.draw(st.one_of(st.sampled_from([w.user_collection, str(w.user_collection),
                                               "user's own", "fz"]), uuidish(w, "model"), JUNK),
                    label="collection")
    if how == "create":
        return w.api.create_collection(data.draw(st.one_of(st.sampled_from(["fz", "user's own"]),
                                                           TAGS), label="name"),
                                       data.draw(st.one_of(st.none(), JUNK), label="description"))
    if how == "add":
        kind = data.draw(st.one_of(st.none(), SCOPES), label="kind")
        pool = kind if kind in ("entry", "content") else "model"
        item = model_of(w, data) if pool == "model" else data.draw(uuidish(w, pool), label="item")
        return w.api.add_to_collection(col, item, kind=kind,
                                       position=data.draw(st.one_of(st.none(), JUNK),
                                                          label="position"))
    if how == "items":
        return w.api.collection_items(col)
    return w.api.list_collections()


def _read(w: World, data: st.DataObject) -> Any:
    eu = data.draw(uuidish(w, "entry"), label="entry")
    how = data.draw(st.sampled_from(["read_entry", "entry_path"]), label="read")
    out = getattr(w.api, how)(eu)
    if how == "read_entry":
        key = _known_uuid(eu)
        assert key in w.bytes_of, f"read_entry returned bytes for {eu!r}, not an in-scope file"
        assert out == w.bytes_of[key]
    return out


def _known_uuid(value: Any) -> uuid.UUID | None:
    try:
        from core.domain.metadata import as_uuid
        return as_uuid(value)
    except (ValueError, VdfsError):
        return None


def _odd(w: World, data: st.DataObject) -> Any:
    """Names the host API does not expose, and attempts to alter it."""
    name = data.draw(st.sampled_from(["_api", "_grants", "lib", "conn", "_ScopedVdfsApi__api",
                                      "set_note", "batch", "delete_collection",
                                      "remove_from_collection"]), label="attr")
    if name in ("set_note",):
        return w.api.set_note(data.draw(uuidish(w, "entry")), "x")
    if name == "_ScopedVdfsApi__api":
        return setattr(w.api, name, None)
    return getattr(w.api, name)


CALLS: dict[str, Callable[[World, st.DataObject], Any]] = {
    "query": _run_query, "builder": _builder_chain, "read": _read, "create": _create,
    "get": _get, "update": _update, "delete": _delete, "tag": _tag, "vocab": _tag_vocabulary,
    "metadata": _metadata, "sidecar": _sidecar, "collections": _collections, "odd": _odd,
}


STEPS = 12
EXAMPLES = 40
TOTAL_CALLS = []


def test_random_host_calls_keep_every_invariant(tmp_path):
    """Hypothesis draws sequences of host calls; the invariants are checked after each call."""

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data):
        with fresh_world(tmp_path) as w:
            baseline = snapshot(w)
            for _ in range(STEPS):
                name = data.draw(st.sampled_from(sorted(CALLS)), label="call")
                call(w, CALLS[name], w, data)
                assert snapshot(w) == baseline, f"{name} changed something outside the grant"
            assert w.lib.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            TOTAL_CALLS.append(w.calls)

    run()
    assert sum(TOTAL_CALLS) >= EXAMPLES * STEPS
    print(f"host fuzz: {len(TOTAL_CALLS)} examples, {sum(TOTAL_CALLS)} calls")

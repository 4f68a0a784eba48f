"""Inputs the host-API fuzz once found escaping as something other than a VdfsError, or
leaking past the grant, replayed as plain tests on one world (tests/host_fuzz_world.py)."""
from __future__ import annotations

import math
import uuid
from typing import Any, Callable

import pytest

from core.domain.collection import CollectionError
from core.errors import ArgumentError, VdfsError
from core.extensions import PermissionDenied
from core.extensions.manager import ExtensionManager
from core.domain.metadata import NotFoundError
from core.domain.sidecars import SidecarError
from core.domain.tags import TagError
from tests.host_fuzz_world import (EXT, HUGE, Album, Caption, World, call, fresh_world, snapshot)
from vdfs_query.errors import VdfsSyntaxError


# ---- the corpus: inputs that once escaped as something other than a VdfsError -------------
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One world for the whole corpus (each case compares the out-of-scope snapshot itself)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VDFS_HOME", str(tmp_path_factory.mktemp("vdfs_home")))
        mp.setenv("VDFS_DEVICE_NAME", "test-device")
        with fresh_world(tmp_path_factory.mktemp("corpus")) as w:
            yield w


def _deep(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def _in(w: World) -> uuid.UUID:
    return w.entries_in[0]


CORPUS: dict[str, tuple[Callable[[World], Any], type]] = {
    # as_uuid raised a bare ValueError for anything that is not a uuid
    "entry_path(None)": (lambda w: w.api.entry_path(None), ArgumentError),
    "read_entry(True)": (lambda w: w.api.read_entry(True), ArgumentError),
    "read_entry(2**80)": (lambda w: w.api.read_entry(HUGE), ArgumentError),
    "delete_model(1.5)": (lambda w: w.api.delete_model(1.5), ArgumentError),
    "tags_of_content(surrogate)": (lambda w: w.api.tags_of_content("\ud800"), ArgumentError),
    "write_sidecar(b'short')": (lambda w: w.api.write_sidecar(b"short", "faces", b"{}"), ArgumentError),
    # an unknown scope or collection item kind raised a bare ValueError
    "get_metadata(scope=1)": (lambda w: w.api.get_metadata(_in(w), scope=1), ArgumentError),
    "add_to_collection(kind='x')": (lambda w: w.api.add_to_collection("fz", _in(w), kind="x"),
                                    ArgumentError),
    # a tag colour or namespace that is not text reached re / str methods
    "create_tag(color=bytes)": (lambda w: w.api.create_tag("#fz", color=b"#fff"), TagError),
    "create_tag(color=1)": (lambda w: w.api.create_tag("#fz", color=1), TagError),
    "list_tags(bytes)": (lambda w: w.api.list_tags(b"fz"), TagError),
    # a collection description or position of the wrong type reached SQLite or a comparison
    "create_collection(description=2**80)": (lambda w: w.api.create_collection("fz", HUGE),
                                             CollectionError),
    "create_collection(description=[])": (lambda w: w.api.create_collection("fz", []),
                                          CollectionError),
    "add_to_collection(position='1')": (lambda w: w.api.add_to_collection(
        w.user_collection, _in(w), kind="entry", position="1"), CollectionError),
    "add_to_collection(position=nan)": (lambda w: w.api.add_to_collection(
        w.user_collection, _in(w), kind="entry", position=math.nan), CollectionError),
    # custom data that is not a dict, or not JSON, and blob text that is not UTF-8
    "set_custom_data('x')": (lambda w: w.api.set_custom_data(_in(w), "x"), ArgumentError),
    "set_custom_data([1])": (lambda w: w.api.set_custom_data(_in(w), [1]), ArgumentError),
    "set_custom_field(nan)": (lambda w: w.api.set_custom_field(w.contents_in[0], "fz", math.nan),
                              ArgumentError),
    "set_custom_field(object)": (lambda w: w.api.set_custom_field(w.contents_in[0], "fz",
                                                                  object()), ArgumentError),
    "set_metadata_blob(surrogate)": (lambda w: w.api.set_metadata_blob(w.contents_in[0], "fz",
                                                                       "\ud800"), VdfsError),
    "create_model(Album(cover=surrogate))": (lambda w: w.api.create_model(Album(cover="\ud800")),
                                             VdfsError),
    # a metadata blob key that is not text reached `in`, or SQLite's binding
    "set_metadata_blob(key=1.5)": (lambda w: w.api.set_metadata_blob(w.contents_in[0], 1.5, b"x"),
                                   ArgumentError),
    "get_metadata_blob(key=[])": (lambda w: (w.api.set_metadata_blob(w.contents_in[0], "fz", b"x"),
                                             w.api.get_metadata_blob(w.contents_in[0], [])),
                                  ArgumentError),
    "get_metadata_blob(key=2**80)": (lambda w: (w.api.set_metadata_blob(w.contents_in[0], "fz", b"x"),
                                                w.api.get_metadata_blob(w.contents_in[0], HUGE)),
                                     ArgumentError),
    # a builder field or operator that is not text reached str methods or a dict lookup
    "order_by(True)": (lambda w: w.api.query_entries().order_by(True).collect(), VdfsSyntaxError),
    "order_by({})": (lambda w: w.api.query_entries().order_by({}).collect(), VdfsSyntaxError),
    "select(None)": (lambda w: w.api.query_entries().select(None).collect(), VdfsSyntaxError),
    "where_true(1.5)": (lambda w: w.api.query_entries().where_true(1.5).count(), VdfsSyntaxError),
    "where(op={})": (lambda w: w.api.query_entries().where("name", {}, "a").count(),
                     VdfsSyntaxError),
    "where(op=[])": (lambda w: w.api.query_entries().where("name", ["="], "a").count(),
                     VdfsSyntaxError),
    # text with a lone surrogate (no UTF-8 form) reached SQLite's binding: UnicodeEncodeError
    "add_tag_to_entry(surrogate)": (lambda w: w.api.add_tag_to_entry(_in(w), "#\ud800"), TagError),
    "create_tag(surrogate)": (lambda w: w.api.create_tag("#a\udfff"), TagError),
    "get_tag(surrogate)": (lambda w: w.api.get_tag("#a\udfff"), TagError),
    "list_tags(surrogate)": (lambda w: w.api.list_tags("\ud800"), TagError),
    "create_collection(surrogate)": (lambda w: w.api.create_collection("\ud800"), CollectionError),
    "create_collection(description=surrogate)": (lambda w: w.api.create_collection("ok", "\udc80"),
                                                 CollectionError),
    "collection_items(surrogate)": (lambda w: w.api.collection_items("\ud800"), NotFoundError),
    # a sidecar extension or payload of the wrong type reached re and file.write
    "read_sidecar(ext=5)": (lambda w: w.api.read_sidecar(w.contents_in[0], "faces", 5), SidecarError),
    "write_sidecar(ext=5)": (lambda w: w.api.write_sidecar(w.contents_in[0], "faces", b"", 5),
                             SidecarError),
    "write_sidecar(data=str)": (lambda w: w.api.write_sidecar(w.contents_in[0], "faces", "text"),
                                SidecarError),
    "write_sidecar(data=5)": (lambda w: w.api.write_sidecar(w.contents_in[0], "faces", 5),
                              SidecarError),
    # a value nested deeper than json can walk raised RecursionError
    "set_metadata_blob(deep)": (lambda w: w.api.set_metadata_blob(w.contents_in[0], "fz",
                                                                  _deep(100_000)), VdfsError),
    "set_custom_field(deep)": (lambda w: w.api.set_custom_field(w.contents_in[0], "fz",
                                                                _deep(100_000)), VdfsError),
    "write_sidecar(ext='json\\n')": (lambda w: w.api.write_sidecar(w.contents_in[0], "faces", b"",
                                                                   "json\n"), SidecarError),
}


@pytest.mark.parametrize("case", CORPUS)
def test_a_past_escape_is_now_a_vdfs_error(world, case):
    fn, expected = CORPUS[case]
    before = snapshot(world)
    refused = call(world, fn, world)       # only a VdfsError is caught; anything else fails here
    assert isinstance(refused, expected), refused
    assert snapshot(world) == before


QUERY_LANGUAGE_CASES = {
    "surrogate in query text": lambda w: w.api.query('entries where name = "\ud800"').rows(),
    "surrogate parameter": lambda w: w.api.query("entries where name = :p", p="\ud800").rows(),
    "surrogate in builder tagged()": lambda w: w.api.query_entries().tagged("\ud800").collect(),
    "NaN size parameter": lambda w: w.api.query("entries where size > :p", p=math.nan).rows(),
    "size > 1e999": lambda w: w.api.query("entries where size > 1e999").rows(),
    "NaN in builder where()": lambda w: w.api.query_entries().where("size", ">", math.nan).count(),
    "'not ' * 5000": lambda w: w.api.query("entries where " + "not " * 5000 + 'name = "a"').rows(),
    "limit 99999999999999999999": lambda w: w.api.query("entries limit 99999999999999999999").rows(),
    "builder limit(2**80)": lambda w: w.api.query_entries().limit(HUGE).collect(),
}


@pytest.mark.parametrize("case", QUERY_LANGUAGE_CASES)
def test_a_query_language_escape_seen_through_the_host_api(world, case):
    refused = call(world, lambda w: QUERY_LANGUAGE_CASES[case](w), world)
    assert isinstance(refused, VdfsError)


# ---- models of the extension's type attached to content outside its grant ------------------
@pytest.fixture
def hidden_caption(world):
    """A Caption (the extension's own type) the user attached to content outside the grant,
    as is left behind when a user narrows an extension's grant."""
    return world.hidden_model


def test_get_model_refuses_a_model_attached_outside_the_grant(world, hidden_caption):
    """As get_model_by_content, tags_of_model and delete_model already did."""
    refused = call(world, world.api.get_model, Caption, hidden_caption)
    assert isinstance(refused, PermissionDenied)
    private = world.lib.conn.execute("SELECT content_identity_uuid FROM models WHERE uuid = ?",
                                     (hidden_caption.bytes,)).fetchone()[0]
    assert isinstance(call(world, world.api.get_model_by_content, Caption,
                           uuid.UUID(bytes=private)), PermissionDenied)


def test_list_models_leaves_out_models_attached_outside_the_grant(world, hidden_caption):
    mine = world.api.create_model_for_content(world.contents_in[0], Caption(text="visible"))
    try:
        listed = call(world, world.api.list_models, Caption)
        assert [m.text for m in listed] == ["visible"]
    finally:
        world.api.delete_model(mine)


@pytest.mark.parametrize("route", ["sqlite", "duckdb"])
def test_a_models_query_leaves_out_models_attached_outside_the_grant(world, hidden_caption, route):
    from core.extensions.scope_query import apply_scope
    api = world.api
    mine = [api.create_model_for_content(world.contents_in[0], Caption(text="visible")),
            api.create_model(Album(name="standalone"))]
    try:
        assert [m.text for m in call(world, lambda: api.query_models(Caption).collect())] == \
            ["visible"]
        rows = call(world, lambda: api.query("models Caption").rows())
        assert [r["uuid"] for r in rows] == [str(mine[0])]
        assert [r["data"] for r in api.query("models Album").rows()] == ['{"name": "standalone"}']
        grants = world.lib.extensions.context(EXT).grants
        scoped = apply_scope("models Caption select uuid", grants, world.lib)
        result = world.lib.engine.run(scoped, {}, route=route)
        assert result.route == route and [str(r["uuid"]) for r in result.rows()] == [str(mine[0])]
    finally:
        for mu in mine:
            api.delete_model(mu)


def test_an_extension_cannot_recolour_or_reparent_an_existing_tag(world):
    """Tagging inside the grant is the extension's; the tag vocabulary (colour, parent) of a
    tag that already exists is the user's."""
    before = snapshot(world)
    for kwargs in ({"color": "#fff"}, {"parent": "#secret"}):
        refused = call(world, world.api.create_tag, "#user-colour", **kwargs)
        assert isinstance(refused, PermissionDenied), refused
    assert snapshot(world) == before
    same = call(world, world.api.create_tag, "#user-colour", color="#123456")   # no change: fine
    assert same.color == "#123456"
    made = call(world, world.api.create_tag, "#fz-new", color="#abc", parent="#fz-parent")
    assert (made.color, made.parent) == ("#abc", "#fz-parent")


def test_read_entry_returns_in_scope_bytes_only(world):
    """Every out-of-scope entry and the symlink inside photos are refused; every regular file
    of photos (non-UTF-8 name, backslash, hard link included) comes back byte for byte."""
    for eu in world.entries_out + [world.link]:
        assert isinstance(call(world, world.api.read_entry, eu), (PermissionDenied, NotFoundError))
    assert len(world.bytes_of) >= 5
    for eu, data in world.bytes_of.items():
        assert call(world, world.api.read_entry, eu) == data

"""Permissions: glob semantics, grant subsets, and refusals that name permission and scope."""
from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings, strategies as st

from core.access.globs import GlobError, glob_match, glob_to_regex
from core.access.permissions import (Grant, GrantSet, Permission, PermissionDenied, as_grant,
                                     validate_grants)
from vdfs_query import patterns

seg = st.text(alphabet="abcXY1_-.", min_size=1, max_size=6).filter(lambda s: s not in (".", ".."))
paths = st.lists(seg, min_size=1, max_size=5).map("/".join)


@pytest.mark.parametrize("pattern,path,ok", [
    ("*.jpg", "a.jpg", True),
    ("*.jpg", "dir/a.jpg", False),           # * stays in one folder
    ("**/*.jpg", "a.jpg", True),             # **/ also matches no folder
    ("**/*.jpg", "x/y/z/a.jpg", True),
    ("**/*.{jpg,png,heic}", "x/IMG_1.HEIC", True),   # alternation, case-insensitive
    ("**/*.{jpg,png,heic}", "x/a.gif", False),
    ("trips/**", "trips/2024/a.jpg", True),
    ("trips/**", "other/a.jpg", False),
    ("a/**/b.txt", "a/b.txt", True),
    ("a/**/b.txt", "a/1/2/b.txt", True),
    ("a?c", "a/c", False),
    ("{a,b/{c,d}}/*.txt", "b/d/z.txt", True),
    ("[!x]*.txt", "x1.txt", False),
    ("/*.txt", "top.txt", True),             # a leading / anchors at the location root
])
def test_glob_semantics(pattern, path, ok):
    assert glob_match(pattern, path) is ok


@pytest.mark.parametrize("bad", ["{a,b", "a}", "[ab", ""])
def test_bad_globs_are_refused_clearly(bad):
    with pytest.raises(GlobError, match="glob"):
        glob_to_regex(bad)


@given(st.lists(seg, min_size=2, max_size=5))
def test_star_never_crosses_a_folder_and_doublestar_does(parts):
    path = "/".join(parts)
    assert not glob_match("*", path)
    assert glob_match("**", path)
    assert glob_match("**/" + parts[-1], path)


@given(paths, st.lists(st.sampled_from(["jpg", "png", "txt", "heic"]), min_size=1, max_size=3))
def test_alternation_is_the_union_of_its_branches(path, exts):
    union = "**/*.{" + ",".join(exts) + "}"
    assert glob_match(union, path) == any(glob_match(f"**/*.{e}", path) for e in exts)


@settings(max_examples=60, deadline=None)
@given(paths, st.sampled_from(["**/*.jpg", "*", "a*/**", "**/b?/*.{txt,jpg}", "x/**/y", "[!a-c]*"]))
def test_duckdb_regex_agrees_with_the_sqlite_route(path, pattern):
    regex = f"(?is)^(?:{glob_to_regex(pattern)})$"
    got = duckdb.sql("SELECT regexp_matches(?, ?)", params=[path, regex]).fetchone()[0]
    assert got == patterns.regexp(regex, path) == glob_match(pattern, path)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(alphabet="abÉé.{}", min_size=1, max_size=4), min_size=1, max_size=3).map("/".join),
       st.sampled_from(["**/*.{jpg,png}", "*", "a*/**", "**/é*", "[a-b]*/**", "{a,é}/*"]))
def test_a_grant_selects_what_the_same_query_glob_selects(rel, glob):
    """One glob implementation: a grant and `in "<root>/<glob>"` agree on every path."""
    in_query = patterns.regexp(patterns.path_glob_regex("/root/" + glob), "/root/" + rel)
    assert glob_match(glob, rel) == in_query


def test_permission_globs_ignore_case_like_query_globs():
    assert glob_match("**/*.jpg", "2024/IMG_1.JPG")
    assert glob_match("Été/*", "ÉTÉ/a.png") and glob_match("été/*", "Été/a.png")
    assert not glob_match("**/*.jpg", "a.jpeg")


def test_bad_globs_are_vdfs_errors():
    from core.errors import VdfsError
    for bad in ("[z-a]", "[!]x", "a\\"):
        with pytest.raises(GlobError, match="glob") as exc:
            Permission.ReadEntries(glob=bad)
        assert isinstance(exc.value, VdfsError)


def test_permission_vocabulary_and_json_round_trip():
    perms = [Permission.ReadEntries(glob="**/*.jpg"), Permission.ReadSidecars(kinds=["exif"]),
             Permission.WriteSidecars(kinds=["faces"]), Permission.WriteTags,
             Permission.WriteCustomFields(namespaces=["photos"]), Permission.DispatchJobs,
             Permission.UseModel(category="face_detection", preference="local")]
    for p in perms:
        assert Permission.from_json(p.to_json()) == p
    assert Permission.WriteTags() is Permission.WriteTags
    g = Permission.ReadEntries(glob="*.png").scoped_to("/photos")
    assert Grant.from_row(*g.to_row()) == g
    with pytest.raises(ValueError, match="preference"):
        Permission.UseModel(category="llm", preference="anywhere")
    with pytest.raises(ValueError, match="unknown permission"):
        Permission.from_json({"permission": "FormatDisk"})


REQUESTED = [Permission.ReadEntries(glob="**/*.{jpg,png}"), Permission.WriteTags,
             Permission.ReadSidecars(kinds=["exif", "thumb"]),
             Permission.WriteSidecars(kinds=["faces"]),
             Permission.WriteCustomFields(namespaces=["photos"]),
             Permission.UseModel(category="face_detection", preference="local")]


def test_grants_must_be_a_subset_of_the_request():
    with pytest.raises(PermissionDenied, match="DispatchJobs.*did not request"):
        validate_grants("x", REQUESTED, [as_grant(Permission.DispatchJobs)])
    with pytest.raises(PermissionDenied, match=r"kinds \['gps'\] were not requested"):
        validate_grants("x", REQUESTED, [as_grant(Permission.ReadSidecars(kinds=["exif", "gps"]))])
    with pytest.raises(PermissionDenied, match="category 'llm'"):
        validate_grants("x", REQUESTED, [as_grant(Permission.UseModel(category="llm"))])
    validate_grants("x", REQUESTED, [as_grant(p, ["/photos"]) for p in REQUESTED])


def test_every_permission_is_refused_outside_its_grant_and_scope():
    gs = GrantSet("com.x", REQUESTED, [
        Permission.ReadEntries(glob="**/*.jpg").scoped_to("/lib/photos"),
        Permission.ReadSidecars(kinds=["exif"]).scoped_to("/lib/photos"),
        Permission.WriteCustomFields(namespaces=["photos"]).scoped_to("/lib/photos"),
        Permission.UseModel(category="face_detection", preference="cloud").scoped_to(),
    ])
    gs.check_read_entry("/lib/photos/2024/a.JPG", "/lib")
    # the user narrowed *.{jpg,png} to *.jpg: png is refused, so is anything outside /lib/photos
    with pytest.raises(PermissionDenied, match=r"ReadEntries\(glob='\*\*/\*\.jpg'\).*'/lib/photos'"):
        gs.check_read_entry("/lib/photos/a.png", "/lib")
    with pytest.raises(PermissionDenied, match="outside the granted glob or scope"):
        gs.check_read_entry("/lib/docs/a.jpg", "/lib")
    with pytest.raises(PermissionDenied, match="WriteTags was not granted"):
        gs.check_scoped("WriteTags", "/lib/photos/a.jpg", "entry")
    gs.check_sidecar("exif", write=False, path="/lib/photos/a.jpg")
    with pytest.raises(PermissionDenied, match="kind 'thumb' is not among the granted kinds"):
        gs.check_sidecar("thumb", write=False)
    with pytest.raises(PermissionDenied, match="sidecar of /elsewhere/a.jpg is outside"):
        gs.check_sidecar("exif", write=False, path="/elsewhere/a.jpg")
    with pytest.raises(PermissionDenied, match="WriteSidecars was not granted"):
        gs.check_sidecar("faces", write=True)
    with pytest.raises(PermissionDenied, match="namespace 'other'"):
        gs.check_custom_field("other")
    with pytest.raises(PermissionDenied, match="outside the granted scope"):
        gs.check_custom_field("photos", "/lib/docs/x.jpg")
    assert gs.model_preference("face_detection") == "cloud"   # the user's preference wins
    with pytest.raises(PermissionDenied, match=r"UseModel\(category='ocr'\).*not granted"):
        gs.model_preference("ocr")


def test_path_prefix_scope_is_a_folder_boundary_not_a_string_prefix():
    gs = GrantSet("x", [Permission.ReadEntries()], [Permission.ReadEntries().scoped_to("/data/photos")])
    assert gs.entry_allowed("/data/photos/a", "/data")
    assert gs.entry_allowed("/data/photos", "/data")
    assert not gs.entry_allowed("/data/photos-private/a", "/data")


def test_unknown_location_name_grants_nothing(lib):
    gs = GrantSet("x", [Permission.ReadEntries()], [Permission.ReadEntries().scoped_to("Nowhere")],
                  lib=lib)
    assert not gs.entry_allowed("/anything/a.jpg", "/anything")


@pytest.mark.parametrize("make", [
    lambda: Permission.UseModel(category="llm", preference="anywhere"),
    lambda: Permission.UseModel(category="", preference="local"),
    lambda: Permission.from_json({"permission": "FormatDisk"}),
    lambda: Permission.ReadSidecars(kinds=[]),
    lambda: as_grant(42),
])
def test_a_bad_permission_spec_is_a_vdfs_error(make):
    """An extension author's or user's malformed permission is refused as a VdfsError (still a
    ValueError), like every other error they can cause."""
    from core.errors import VdfsError
    with pytest.raises(VdfsError):
        make()

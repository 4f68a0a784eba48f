"""One meaning for every query: two-valued logic, files and folders, `in` paths, times, the
paths of duplicate groups and big list parameters, checked on every route of a real library."""
from __future__ import annotations

import datetime as dt
import os

import pytest

from query_world import library_of
from vdfs_query import ParameterError, VdfsSyntaxError

ROUTES = ("sqlite", "duckdb", "scan")


FILES = {"photos/a.png": b"a" * 3000, "photos/b.svg": b"b" * 10, "photos/README": b"r" * 50,
         "doc/notes.txt": b"same", "doc/deep/copy.txt": b"same", "doc/Makefile": b"m" * 7}


def _fill(root):
    for rel, data in FILES.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    with library_of(tmp_path_factory.mktemp("sem"), _fill) as (lib, root):
        yield lib, root


def names(lib, q, route, **params):
    return sorted(r["name"] for r in lib.engine.run(q, params, route=route).rows())


@pytest.mark.parametrize("route", ROUTES)
def test_not_in_and_not_equal_include_a_missing_extension(small, route):
    lib, root = small
    files = "entries where not is_dir and "
    assert names(lib, files + "ext not in (png, svg)", route) == ["Makefile", "README", "copy.txt", "notes.txt"]
    assert names(lib, files + 'ext != "png"', route) == ["Makefile", "README", "b.svg", "copy.txt", "notes.txt"]
    assert names(lib, files + 'not (ext = "png")', route) == names(lib, files + 'ext != "png"', route)
    assert names(lib, files + 'not ext ~ "p*"', route) == names(lib, files + 'ext != "png"', route)
    # a predicate on the missing value itself is false, its negation true
    assert names(lib, files + "ext in (png, svg)", route) == ["a.png", "b.svg"]
    assert "README" not in names(lib, files + 'ext = "png" or ext = "svg"', route)
    assert "README" in names(lib, files + 'not (ext = "png" or ext = "svg")', route)


@pytest.mark.parametrize("route", ROUTES)
def test_ext_and_kind_compare_lower_cased(small, route):
    lib, root = small
    assert names(lib, 'entries where ext = "PNG"', route) == ["a.png"]
    assert names(lib, "entries where ext in (PNG, Svg)", route) == ["a.png", "b.svg"]
    assert names(lib, "entries where ext in (:e)", route, e=["PNG"]) == ["a.png"]


@pytest.mark.parametrize("route", ROUTES)
def test_a_long_list_parameter_is_one_value(small, route):
    lib, root = small
    many = [f"missing{i}" for i in range(5000)] + ["a.png", "README"]
    assert names(lib, "entries where name in (:p)", route, p=many) == ["README", "a.png"]
    assert "a.png" not in names(lib, "entries where name not in (:p)", route, p=many)
    assert "doc" in names(lib, "entries where name not in (:p)", route, p=many)
    exts = ["PNG"] + [f"x{i}" for i in range(100)]
    assert names(lib, "entries where ext in (:p)", route, p=exts) == ["a.png"]
    uuids = [r["uuid"] for r in lib.query("entries where name in (a.png, b.svg)").rows()]
    import uuid as _uuid
    pad = [str(_uuid.uuid4()) for _ in range(200)]
    assert names(lib, "entries where uuid in (:u)", route, u=pad + uuids) == ["a.png", "b.svg"]
    sql = lib.engine.run("entries where name in (:p)", {"p": many}, route=route).sql
    assert sql.count("?") == 1


@pytest.mark.parametrize("route", ROUTES)
def test_files_and_folders_are_entries_split_by_is_dir(small, route):
    lib, root = small
    run = lambda q: lib.engine.run(q, route=route).rows()     # noqa: E731
    files = [r["name"] for r in run("files order by size desc, name")]
    assert files == ["a.png", "README", "b.svg", "Makefile", "copy.txt", "notes.txt"]
    assert sorted(r["name"] for r in run("folders")) == ["deep", "doc", "photos", "tree"]
    assert len(run("entries")) == len(run("files")) + len(run("folders"))   # entries keeps both
    by_ext = {r["ext"]: r["bytes"] for r in run("files group by ext select ext, sum(size) as bytes")}
    assert sum(by_ext.values()) == 3000 + 10 + 50 + 4 + 4 + 7 and by_ext[None] == 57
    assert [r["name"] for r in run(f'folders in "{root}" where name ~ "d*" order by name')] == ["deep", "doc"]
    assert sorted(r["name"] for r in run("files duplicates")) == ["copy.txt", "notes.txt"]
    assert run("files where is_dir") == [] and run("folders where not is_dir") == []


def test_files_and_folders_have_builder_twins(small):
    from vdfs_query import compile, query_files, query_folders
    lib, root = small
    dsl = compile(f'files in "{root}/photos" where size > 20 order by size desc', "sqlite")
    twin = compile(query_files().in_location(f"{root}/photos").where("size", ">", 20)
                   .order_by("size", desc=True), "sqlite")
    assert (dsl.sql, dsl.params) == (twin.sql, twin.params)
    assert compile("folders", "duckdb").sql == compile(query_folders(), "duckdb").sql
    from core.query.executor import executor_for
    got = query_files(executor_for(lib)).in_location(f"{root}/photos").order_by("name").collect()
    assert [r.name for r in got] == ["README", "a.png", "b.svg"]


def test_times_come_back_aware_in_utc_and_display_in_local_time(small, monkeypatch):
    lib, root = small
    want = dt.datetime.fromtimestamp(os.stat(root / "photos" / "a.png").st_mtime_ns // 1000 / 1e6,
                                     dt.timezone.utc)
    eng = lib.engine
    for route in ROUTES:
        r = eng.run('files where name = "a.png" select name, modified', route=route)
        row = r.rows()[0]
        assert row["modified"] == want and row["modified"].utcoffset() == dt.timedelta(0), route
        latest = eng.run('files where name = "a.png" select max(modified) as m', route=route).scalar()
        assert latest == want and latest.tzinfo is not None, route
        assert str(r.arrow().schema.field("modified").type) == "timestamp[us, tz=UTC]", route
    monkeypatch.setenv("TZ", "Asia/Kolkata")        # +05:30, no daylight saving
    import time
    time.tzset()
    try:
        shown = want.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        assert shown != want.strftime("%Y-%m-%d %H:%M:%S")
        r = eng.run('files where name = "a.png" select modified')
        assert shown in r._repr_html_() and shown in r.to_text()
        from kernel_ext.display import cell_text         # the %vdfs table in a notebook
        assert cell_text(r.scalar()) == shown
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_relative_in_path_is_refused_without_a_base(small):
    lib, root = small
    with pytest.raises(VdfsSyntaxError) as err:
        lib.query('files in "doc" where size > 1')
    text = str(err.value)
    assert "relative" in text and "column 10" in text and "\n" + " " * 11 + "^" in text
    assert 'location = "doc"' in text                # the way to name a location
    with pytest.raises(ParameterError, match="relative"):
        lib.query("files in :p", p="doc")


def test_a_relative_in_path_resolves_against_a_base(small):
    from vdfs_query import resolve_paths
    lib, root = small
    q = resolve_paths('files in "doc" order by name', str(root))
    assert [r["name"] for r in lib.query(q).rows()] == ["Makefile", "copy.txt", "notes.txt"]
    q = resolve_paths('files where not in "./doc/../doc/deep" and in "doc"', str(root))
    assert [r["name"] for r in lib.query(q).rows()] == ["Makefile", "notes.txt"]
    plain = f'files in "{root}/doc"'
    assert resolve_paths(plain, "/elsewhere") == plain          # nothing relative: text unchanged
    assert resolve_paths('files in "*.txt"', "/elsewhere") == 'files in "*.txt"'   # anywhere
    assert resolve_paths('files in "deep/*.txt"', "/elsewhere") == 'files in "deep/*.txt"'


@pytest.mark.parametrize("route", ROUTES)
def test_in_a_folder_means_below_it_not_the_folder_itself(small, route):
    lib, root = small
    got = names(lib, f'entries in "{root}/doc"', route)
    assert got == ["Makefile", "copy.txt", "deep", "notes.txt"] and "doc" not in got
    assert names(lib, f'entries in "{root}/doc/"', route) == got
    assert names(lib, f'folders in "{root}"', route) == ["deep", "doc", "photos"]


def test_cli_resolves_in_paths_against_the_current_directory(small):
    import subprocess
    import sys
    lib, root = small
    out = subprocess.run([sys.executable, "-m", "core.cli", "--library", str(lib.path), "query",
                          'files in "doc/deep" select name', "--format", "json"],
                         capture_output=True, text=True, timeout=60, cwd=root,
                         env={**os.environ, "VDFS_HOME": str(root.parent / "home")})
    assert out.returncode == 0, out.stderr
    assert '"copy.txt"' in out.stdout and "notes" not in out.stdout


def test_kernel_magic_resolves_in_paths_against_the_current_directory(small, monkeypatch):
    from kernel_ext import session
    from magics_support import run, shell
    lib, root = small
    sh = shell()
    monkeypatch.setattr(session, "_current", lib)
    monkeypatch.chdir(root / "doc")
    result = run(sh, '%vdfs files in "deep" select name')
    assert [r["name"] for r in result.rows()] == ["copy.txt"]


@pytest.mark.parametrize("route", ROUTES)
def test_duplicates_show_the_paths_of_each_group(small, route):
    lib, root = small
    r = lib.engine.run("content duplicates select content_hash, entry_count, paths", route=route)
    rows = r.rows()
    assert len(rows) == 1 and rows[0]["entry_count"] == 2
    assert rows[0]["paths"] == [f"{root}/doc/deep/copy.txt", f"{root}/doc/notes.txt"]
    assert r.arrow().column("paths").to_pylist() == [rows[0]["paths"]]
    default = lib.engine.run("content duplicates order by wasted desc", route=route).rows()
    assert default[0]["paths"] == rows[0]["paths"] and default[0]["wasted"] == 4
    with pytest.raises(VdfsSyntaxError, match="paths"):
        lib.query('content where paths = "x"')
    with pytest.raises(VdfsSyntaxError, match="paths"):
        lib.query("content group by paths")


def test_an_extension_queries_files_and_folders_within_its_scope(lib, tmp_path):
    from core.extensions import Permission
    from core.extensions.manager import ExtensionManager
    from test_extensions import Demo
    root = tmp_path / "files"
    for rel in ("photos/a.jpg", "photos/deep/b.jpg", "private/c.jpg"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(rel.encode())
    lib.index(lib.add_location(root)).wait(timeout=60)
    mgr = lib.extensions
    try:
        api = mgr.install(Demo, [Permission.ReadEntries(glob="**").scoped_to(str(root / "photos"))]).vdfs()
        assert sorted(r["name"] for r in api.query("files").rows()) == ["a.jpg", "b.jpg"]
        assert api.query("folders").rows() == api.query("entries where is_dir").rows()
    finally:
        mgr.close()

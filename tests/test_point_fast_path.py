"""Repeated pure lookups (one `=` on id, uuid, path or content_uuid) take the engine's point
path, and it answers exactly what the general path answers: the same rows, the same errors,
a write seen by the very next lookup. Anything else stays off it."""
from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vdfs_query.errors import VdfsError


@pytest.fixture
def world(lib, tmp_path):
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    for i, name in enumerate(["a.jpg", "b.txt", "sub/c.png", "sub/same.txt", "same.txt"]):
        data = b"same bytes" if name.endswith("same.txt") else f"file {i}".encode() * (i + 1)
        (root / name).write_bytes(data)
    lib.index(str(root)).wait(timeout=60)
    rows = lib.query("entries where kind != 'directory' select id, uuid, path, content_uuid").rows()
    return lib, root, rows


SHAPES = [("uuid", "u"), ("path", "p"), ("id", "i"), ("content_uuid", "c")]
SELECTS = ["", " select name, size, uuid"]


def on_point_path(lib, text: str) -> bool:
    return lib.engine._points.get(text) is not None


def general(lib, text: str, params: dict):
    """The answer of the general path (a forced route never takes the point path)."""
    return lib.engine.run(text, params, route="sqlite")


@pytest.mark.parametrize("select", SELECTS)
@pytest.mark.parametrize("field,name", SHAPES)
def test_lookups_take_the_point_path_with_the_general_answer(world, field, name, select):
    lib, _, rows = world
    text = f"entries where {field} = :{name}{select}"
    for row in rows:
        first = lib.query(text, **{name: row[field]})
        assert on_point_path(lib, text)
        again = lib.query(text, **{name: row[field]})
        expected = general(lib, text, {name: row[field]})
        assert again.rows() == first.rows() == expected.rows()
        assert again.columns == expected.columns and again.types == expected.types
        assert again.sql == expected.sql and again.params == expected.params
        assert again.route == "sqlite"
        assert again.arrow().equals(expected.arrow())
        assert len(again) == (2 if field == "content_uuid" and row["path"].endswith("same.txt") else 1)


def test_a_literal_lookup_takes_the_point_path(world):
    lib, _, rows = world
    text = f"entries where id = {rows[0]['id']} select path"
    assert lib.query(text).rows() == [{"path": rows[0]["path"]}]
    assert on_point_path(lib, text)
    assert lib.query(text).rows() == [{"path": rows[0]["path"]}]


@pytest.mark.parametrize("text", [
    "entries where size > :v",
    "entries where uuid = :v order by name",
    "entries where uuid = :v limit 1",
    "entries where uuid = :v and size > 0",
    "entries where uuid != :v",
    "entries where parent_id = :v",
    "entries where content_uuid = :v select count()",
])
def test_other_queries_stay_off_the_point_path(world, text):
    lib, _, rows = world
    value = rows[0]["id"] if ("size" in text or "parent_id" in text) else rows[0]["uuid"]
    for _ in range(2):
        try:
            lib.query(text, v=value)
        except VdfsError:
            pass
    assert not on_point_path(lib, text)


def test_a_write_is_seen_by_the_next_lookup(world):
    lib, root, _ = world
    text = "entries where path = :p select name"
    new = root / "new.txt"
    for _ in range(2):
        assert len(lib.query(text, p=str(new))) == 0
    assert on_point_path(lib, text)
    new.write_bytes(b"new")
    lib.index(str(root)).wait(timeout=60)
    assert lib.query(text, p=str(new)).rows() == [{"name": "new.txt"}]


def test_a_cancel_between_queries_does_not_stop_the_next_lookup(world):
    lib, _, rows = world
    text = "entries where uuid = :u"
    lib.query(text, u=rows[0]["uuid"])
    lib.engine.cancel()              # nothing was running: nothing to stop
    assert len(lib.query(text, u=rows[0]["uuid"])) == 1


def _outcome(fn):
    try:
        return ("rows", fn().rows())
    except VdfsError as exc:
        return (type(exc).__name__, str(exc))


values = st.one_of(st.text(max_size=40), st.integers(), st.none(), st.floats(allow_nan=False),
                   st.uuids().map(str), st.uuids(), st.binary(max_size=20),
                   st.sampled_from(["/", "~/x", "relative/p", "/tmp/../x/", "\ud800"]))


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])   # one library, many values
@given(shape=st.sampled_from(SHAPES), select=st.sampled_from(SELECTS), value=values)
def test_any_value_answers_or_fails_as_on_the_general_path(lib, shape, select, value):
    field, name = shape
    text = f"entries where {field} = :{name}{select}"
    warm = {"uuid": str(uuid.uuid4()), "path": "/nowhere", "id": 1,
            "content_uuid": str(uuid.uuid4())}[field]
    lib.query(text, **{name: warm})           # the plan exists, for a value of another type
    assert on_point_path(lib, text)
    assert _outcome(lambda: lib.query(text, **{name: value})) == \
        _outcome(lambda: general(lib, text, {name: value}))


def _open_fds_to(path) -> int:
    """How many of this process's file descriptors are open on `path` (or its -wal / -shm)."""
    import os
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        n += target.startswith(str(path))
    return n


def test_lookups_from_other_threads_answer_alike_and_close_with_the_engine(world, tmp_path):
    """Each thread looks up on a reader of its own (no lock, no clock): the rows are the general
    path's, and closing the engine closes every thread's reader; a lookup after the close is a
    VdfsError, not a raw sqlite3 or attribute error."""
    import threading

    from core.query import Engine
    from vdfs_query.errors import QueryError
    import sqlite3
    lib, _, rows = world
    copy = tmp_path / "copy.db"                # a file no other connection of ours holds open
    with sqlite3.connect(copy) as dst:
        lib.conn.backup(dst)
    dst.close()
    engine = Engine(copy, device_uuid=lib.device_uuid.bytes, mirror="off")
    text = "entries where uuid = :u select path"
    engine.run(text, {"u": rows[0]["uuid"]})
    answers: dict[int, list] = {}

    def look(i: int) -> None:
        answers[i] = [engine.point(text, {"u": row["uuid"]}).rows() for row in rows]

    threads = [threading.Thread(target=look, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = [engine.run(text, {"u": row["uuid"]}, route="sqlite").rows() for row in rows]
    assert expected == [[{"path": row["path"]}] for row in rows]
    assert all(answers[i] == expected for i in range(4))
    assert engine.point(text, {"u": rows[0]["uuid"]}).rows() == expected[0]
    engine.close()
    assert _open_fds_to(copy) == 0
    with pytest.raises(QueryError):
        engine.point(text, {"u": rows[0]["uuid"]})           # this thread had a reader
    errors = []
    t = threading.Thread(target=lambda: errors.append(_outcome(
        lambda: engine.point(text, {"u": rows[0]["uuid"]}))))
    t.start()
    t.join()
    assert errors[0][0] == "QueryError"                       # this one never had one


@settings(max_examples=200, deadline=None, derandomize=True)
@given(value=st.one_of(st.text(max_size=30), st.sampled_from(["/", "//", "/a/", "~", "~/x/",
                                                                "rel/x", "/a\ud800"]),
                       st.integers(), st.none()))
def test_a_folder_range_binds_alike_on_the_fast_and_general_binders(value):
    """`entries in :dir` repeated binds its folder range through fast_binder: the same values
    as the general binder, or a failure where the general binder fails."""
    from vdfs_query.bind import BindContext, bind, fast_binder
    from vdfs_query.compiler import template, to_ir
    q, _ = to_ir("entries in :dir select count() as n")
    t = template(q, "sqlite", {"dir": "/x"})
    fast = fast_binder(t.slots)
    assert fast is not None
    try:
        expected = bind(t.slots, BindContext({"dir": value}))
    except VdfsError:
        with pytest.raises(Exception):
            fast({"dir": value})
        return
    assert fast({"dir": value}) == expected


def test_a_results_columns_are_read_only_and_survive_pickling(world):
    """Every point answer of one query shares its column names and types (copying them per
    call was a tenth of the path's cost), so changing them in place is refused, on every
    route alike; a copy, a pickle and comparison with a list still work."""
    import copy
    import pickle
    lib, _, rows = world
    text = "entries where uuid = :u select name, size"
    for _ in range(2):
        first = lib.query(text, u=rows[0]["uuid"])
    for res in (first, general(lib, text, {"u": rows[0]["uuid"]}),
                lib.engine.run("entries select name", {}, route="duckdb")):
        for change in (lambda c: c.append("x"), lambda c: c.__setitem__(0, "x"),
                       lambda c: c.extend(["x"]), lambda c: c.sort(), lambda c: c.pop(),
                       lambda c: c.__iadd__(["x"]), lambda c: c.clear()):
            with pytest.raises(TypeError, match="read-only"):
                change(res.columns)
            with pytest.raises(TypeError, match="read-only"):
                change(res.types)
        assert res.columns == list(res.columns) and isinstance(res.columns, list)
        assert pickle.loads(pickle.dumps(res.columns)) == res.columns
        assert copy.deepcopy(res.columns) == res.columns
        mine = list(res.columns)
        mine.append("x")
        assert "x" not in res.columns
    again = lib.query(text, u=rows[0]["uuid"])
    assert again.columns == ["name", "size"] and again.types == first.types


@settings(max_examples=100, deadline=None, derandomize=True)
@given(value=st.one_of(st.uuids().map(str), st.text(max_size=40), st.integers(), st.none()))
def test_on_this_device_binds_alike_on_the_fast_and_general_binders(value):
    """`… on this device` repeated binds through fast_binder too (given the engine's device):
    the same values as the general binder, or a failure where it fails (it declines None,
    which the general binder binds); without a device the fast binder is not made."""
    from vdfs_query.bind import BindContext, bind, fast_binder
    from vdfs_query.compiler import template, to_ir
    device = uuid.uuid4().bytes
    q, _ = to_ir("entries where content_uuid = :c on this device")
    t = template(q, "sqlite", {"c": str(uuid.uuid4())})
    assert fast_binder(t.slots) is None
    fast = fast_binder(t.slots, device_uuid=device)
    assert fast is not None
    try:                 # a fast binder may decline (raise): the engine then binds generally
        got = fast({"c": value})
    except Exception:
        got = "declined"
    try:
        expected = bind(t.slots, BindContext({"c": value}, device_uuid=device))
    except VdfsError:
        assert got == "declined"
        return
    assert got in ("declined", expected)
    assert got == expected or value is None         # None binds NULL: the general path's


def test_a_repeated_device_lookup_answers_as_the_general_path(world):
    lib, _, rows = world
    text = "entries where content_uuid = :c on this device select path"
    for row in rows:
        for _ in range(2):
            again = lib.query(text, c=row["content_uuid"])
        assert again.rows() == general(lib, text, {"c": row["content_uuid"]}).rows()
        assert {r["path"] for r in again.rows()} == {
            r["path"] for r in rows if r["content_uuid"] == row["content_uuid"]}

"""A big result from the mirror is a stream until used: showing its first rows reads only
those (a 10-million-row answer must not be fetched, converted and kept just to show 50 rows),
and using it — len(), rows, Arrow — fetches the rest from the same snapshot, so the answer is
the one SQLite gives."""
from __future__ import annotations

import sys

import pytest

import core
from core.query import result as result_mod, streams

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
from scale_build import build_library  # noqa: E402

QUERY = "entries select path, size order by path"


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    path = tmp_path_factory.mktemp("lazy") / "lib.vdfs"
    build_library(path, 3000)
    lib = core.Library.open(path)
    yield lib
    lib.close()


@pytest.fixture
def small_stream(monkeypatch):
    monkeypatch.setattr(result_mod, "LAZY_ROWS", 500)
    monkeypatch.setattr(streams, "STREAM_BATCH", 256)


def test_a_big_mirror_result_shows_its_head_without_fetching_the_rest(lib, small_stream):
    expected = lib.engine.run(QUERY, route="sqlite").tuples()
    assert len(expected) > 2000
    r = lib.engine.run(QUERY, route="duckdb")
    assert r.known_len() is None                 # not all fetched
    assert r.fetched_rows() < len(expected)
    assert r.head(20) == expected[:20]
    assert r.fetched_rows() < len(expected)      # showing the head read nothing more
    assert len(r) == len(expected)               # using it fetches the rest
    assert r.known_len() == len(expected)
    assert r.tuples() == expected


def test_other_queries_between_do_not_disturb_a_pending_result(lib, small_stream):
    expected = lib.engine.run(QUERY, route="sqlite").tuples()
    r = lib.engine.run(QUERY, route="duckdb")
    assert r.known_len() is None
    other = lib.engine.run("entries select count() as n", route="duckdb").scalar()
    assert other == len(expected)
    assert r.arrow().num_rows == len(expected)
    assert r.tuples() == expected


def test_a_pending_result_keeps_its_snapshot_when_the_library_changes(lib, small_stream):
    q = 'entries where not tagged "#late" select uuid, path order by path desc'
    before = lib.engine.run(q, route="sqlite").tuples()
    r = lib.engine.run(q, route="duckdb")
    assert r.known_len() is None
    lib.vdfs().add_tag_to_entry(before[-1][0], "#late")     # the last row, still in the stream
    lib.engine.run("entries select count() as n", route="duckdb")   # the mirror catches up
    assert r.tuples() == before                  # the answer of the moment it was asked
    after = lib.engine.run(q, route="duckdb").tuples()
    assert after == before[:-1] == lib.engine.run(q, route="sqlite").tuples()


def test_a_small_mirror_result_is_complete_at_once(lib):
    r = lib.engine.run("entries select path order by path limit 10", route="duckdb")
    assert r.known_len() == 10


def test_the_notebook_says_more_rows_exist_without_counting_them(lib, small_stream):
    from kernel_ext.display import html_table, result_parts, text_table
    r = lib.engine.run(QUERY, route="duckdb")
    cols, rows, total = result_parts(r, 50)
    assert len(rows) == 50 and r.known_len() is None
    text = text_table(cols, rows, total=total)
    assert f"first 50 of at least {r.fetched_rows():,} rows" in text.splitlines()[0]
    assert "at least" in html_table(cols, rows, total=total)
    assert len(r) > 2000
    cols, rows, total = result_parts(r, 50)      # once fetched, the exact count
    assert f"{len(r)} rows (showing the first 50" in text_table(cols, rows, total=total)


def test_the_cli_prints_a_page_of_a_streamed_result_without_fetching_it(lib, small_stream,
                                                                       capsys):
    import argparse
    from core.cli.output import DEFAULT_ROWS, emit
    r = lib.engine.run(QUERY, route="duckdb")
    emit(r, argparse.Namespace(format="table", rows=DEFAULT_ROWS, uuids=False, output=None))
    out, err = capsys.readouterr()
    assert r.known_len() is None                       # printing 50 rows fetched no more
    assert f"50 of at least {r.fetched_rows():,} rows; --rows all" in out + err
    assert out.count("\n") >= 50
    emit(r, argparse.Namespace(format="csv", rows=None, uuids=False, output=None))
    out, _ = capsys.readouterr()
    assert len(out.splitlines()) == 1 + len(r)         # --rows all: every row, fetched


def test_closing_the_library_lets_go_of_a_pending_result(tmp_path, small_stream):
    """A pending stream's cursor would keep the mirror's file locked after close(): the
    library lets go of it, the rows read so far stay, the rest is a clear error, and the
    library opens again (in this process and in another)."""
    import subprocess
    from vdfs_query.errors import QueryError
    path = tmp_path / "lib.vdfs"
    build_library(path, 2000)
    first = core.Library.open(path)
    r = first.engine.run(QUERY, route="duckdb")
    head = r.head(10)
    first.close()
    other = subprocess.run([sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1])",
                            str(path / "mirror.duckdb")], capture_output=True, text=True, timeout=60)
    assert other.returncode == 0, other.stderr
    again = core.Library.open(path)
    try:
        assert again.engine.run(QUERY, route="duckdb").head(10) == head
    finally:
        again.close()
    assert r.head(10) == head
    with pytest.raises(QueryError, match="closed before the rest of this result"):
        len(r)


def test_a_big_sqlite_result_is_a_stream_too(lib, small_stream):
    """The first query of a process is answered by SQLite while the mirror opens: a listing of
    a big library must not read every row to show a page (at 10M entries `vdfs query files
    -n 3` ran into its 30 s deadline holding 5 GB)."""
    expected = lib.engine.run(QUERY, route="duckdb").tuples()
    r = lib.engine.run(QUERY, route="sqlite")
    assert r.route == "sqlite" and r.known_len() is None
    assert r.fetched_rows() < len(expected)
    assert r.head(20) == expected[:20] and r.fetched_rows() < len(expected)
    other = lib.engine.run("entries select count() as n", route="sqlite").scalar()
    assert other == len(expected)                # the shared reader is free meanwhile
    assert len(r) == len(expected) and r.tuples() == expected


def test_a_pending_sqlite_result_keeps_its_snapshot(lib, small_stream):
    q = 'entries where not tagged "#later" select uuid, path order by path desc'
    before = lib.engine.run(q, route="duckdb").tuples()
    r = lib.engine.run(q, route="sqlite")
    assert r.known_len() is None
    lib.vdfs().add_tag_to_entry(before[-1][0], "#later")
    assert lib.engine.run(q, route="sqlite").tuples() == before[:-1]   # others see the change
    assert r.tuples() == before                                        # this one its moment


def test_limited_and_aggregated_sqlite_queries_are_complete_at_once(lib, small_stream):
    assert lib.engine.run("entries select path limit 10", route="sqlite").known_len() == 10
    assert lib.engine.run("entries select ext, count() as n group by ext",
                          route="sqlite").known_len() is not None


def test_a_repeated_long_listing_streams_and_a_short_one_opens_no_reader(lib, small_stream,
                                                                         monkeypatch):
    """The repeat fast path streams like the first run (it used to read every row), and a
    listing that turns out short is answered on the shared reader, with no connection of its
    own to open."""
    from core.query.engine import Engine
    monkeypatch.setattr(result_mod, "LAZY_ROWS", 100)
    q = 'files in "/data/user0" select path order by path'    # a folder SQLite answers
    for run in range(2):          # the second run takes the repeat path
        r = lib.engine.run(q)
        assert r.route == "sqlite" and r.known_len() is None, run
    assert lib.engine._fast.get(q) is not None
    opened: list = []
    reader = Engine._reader
    monkeypatch.setattr(Engine, "_reader", lambda self: opened.append(1) or reader(self))
    for _ in range(2):
        assert len(lib.engine.run('entries where name = "nothing-has-this-name"')) == 0
    assert r.tuples() == lib.engine.run(q, route="duckdb").tuples() and opened == []

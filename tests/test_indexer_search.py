"""A first load's name search index, built by a helper process (searchworker.py) from the rows
as they commit and copied in at the end; whenever the helper's index is not exactly the rows
stored, the index is rebuilt from `entries` instead. Either way it ends whole."""
from __future__ import annotations

import os
import sqlite3

import pytest

from core.indexer.searchworker import SearchBuilder
from core.indexer.store import SEARCH_INSERT_TRIGGER, restore_indexes
from indexer_tree import build_tree, traced_statements


def search_index_is_whole(conn: sqlite3.Connection) -> bool:
    """FTS5's own check that the name index holds exactly what `entries` holds."""
    try:
        conn.execute("INSERT INTO entries_fts (entries_fts, rank) VALUES ('integrity-check', 1)")
    except sqlite3.DatabaseError:
        return False
    return True


def matches(lib, text: str) -> set[str]:
    return {r["path"] for r in lib.query("files where matches :q", q=text).rows()}


def table_sql(conn: sqlite3.Connection) -> str:
    return conn.execute("SELECT sql FROM sqlite_master WHERE name = 'entries_fts'").fetchone()[0]


def emptied_search(lib) -> tuple[list[list[str]], list[tuple]]:
    """The library as a first load leaves it before restoring: no insert trigger, an empty
    search index. Returns the trigger spec and the (id, name, path) of every entry."""
    conn = lib.conn
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?",
                       (SEARCH_INSERT_TRIGGER,)).fetchone()[0]
    conn.execute(f"DROP TRIGGER {SEARCH_INSERT_TRIGGER}")
    conn.execute("INSERT INTO entries_fts (entries_fts) VALUES ('delete-all')")
    rows = conn.execute("SELECT id, name, path FROM entries ORDER BY id").fetchall()
    return [[f"trigger:{SEARCH_INSERT_TRIGGER}", sql]], rows


@pytest.fixture
def indexed(lib, tmp_path):
    tree = build_tree(tmp_path / "tree", files=60, seed=5)
    lib.index(tree).wait()
    before = {t: matches(lib, t) for t in ("dir", "txt", "hidden", "file")}
    return lib, before


def test_a_first_load_with_a_second_core_copies_the_search_index_built_apart(
        lib, tmp_path, monkeypatch):
    monkeypatch.setenv("VDFS_INDEX_BULK_MIN", "1")
    tree = build_tree(tmp_path / "tree", files=60, seed=5)
    result = lib.index(tree, workers=2).wait()
    assert result["created"] > 60
    assert search_index_is_whole(lib.conn)
    some = lib.conn.execute("SELECT name FROM entries WHERE is_dir = 0 AND length(name) >= 6 "
                            "ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert any(p.endswith("/" + some) for p in matches(lib, some[1:5]))


def restore_through_helper(lib, specs, feed) -> str | None:
    """Restore `specs` with what a helper built from the rows `feed(builder)` gave it;
    returns the helper's database (None: it failed)."""
    builder = SearchBuilder(table_sql(lib.conn))
    try:
        feed(builder)
        built = builder.finish()
        restore_indexes(lib.conn, specs, built)
        return built
    finally:
        builder.close()


def test_the_helpers_index_is_copied_and_answers_as_a_rebuilt_one(indexed):
    lib, before = indexed
    specs, rows = emptied_search(lib)

    def feed(builder):
        builder.add(rows[:10])
        builder.add(rows[10:])
    assert restore_through_helper(lib, specs, feed) is not None
    assert search_index_is_whole(lib.conn)
    assert {t: matches(lib, t) for t in before} == before


def test_what_is_restored_is_the_helpers_index_not_a_rebuild(indexed):
    """The helper is told a name `entries` does not hold: found by search, so copied."""
    lib, _ = indexed
    specs, rows = emptied_search(lib)
    eid, _, path = next(r for r in rows if not r[2].endswith("/tree"))
    restore_through_helper(lib, specs, lambda builder: builder.add(
        [r if r[0] != eid else (eid, "qqzzxx", path) for r in rows]))
    hit = lib.conn.execute("SELECT rowid FROM entries_fts WHERE entries_fts MATCH 'qqzzxx'")
    assert hit.fetchall() == [(eid,)]


def test_a_helper_missing_a_row_is_not_copied_the_index_is_rebuilt(indexed):
    lib, before = indexed
    specs, rows = emptied_search(lib)
    # as if a committed batch never reached it
    assert restore_through_helper(lib, specs, lambda b: b.add(rows[1:])) is not None
    assert search_index_is_whole(lib.conn)
    assert {t: matches(lib, t) for t in before} == before


def test_a_killed_helper_gives_no_index_and_the_load_rebuilds(indexed):
    lib, before = indexed
    specs, rows = emptied_search(lib)

    def feed(builder):
        builder.add(rows[:5])
        builder.proc.kill()
        builder.proc.wait()
        builder.add(rows[5:])
    assert restore_through_helper(lib, specs, feed) is None
    assert search_index_is_whole(lib.conn)
    assert {t: matches(lib, t) for t in before} == before


@pytest.mark.parametrize("crash", ["processing:3", "indexes:2"])   # building; built, copied
def test_a_writer_killed_mid_load_leaves_no_scratch_database(tmp_path, monkeypatch, crash):
    """The helper sees the killed writer's pipe close and removes its scratch database (the
    writer's own clean-up never ran); the resumed load rebuilds the index whole."""
    import signal
    import time

    from test_indexer_crash import vdfs
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))       # where the helper's database goes
    tree = build_tree(tmp_path / "tree", files=60, seed=5)
    path = tmp_path / "lib.vdfs"
    r = vdfs(path, "index", str(tree), "--batch-size", "7", "--no-progress",
             crash=crash, bulk="ahead")
    assert r.returncode == -signal.SIGKILL, r.stderr
    for _ in range(100):                              # the helper exits on its own
        if not any(scratch.iterdir()):
            break
        time.sleep(0.05)
    assert list(scratch.iterdir()) == []
    r = vdfs(path, "index", str(tree), "--batch-size", "7", "--no-progress", bulk="ahead")
    assert r.returncode == 0, r.stderr
    conn = sqlite3.connect(path / "library.db")
    try:
        assert search_index_is_whole(conn)
    finally:
        conn.close()


def test_odd_names_reach_the_index_built_apart(lib, tmp_path, monkeypatch):
    """Names with a newline or bytes that are not UTF-8 go through the helper as the escaped
    text `entries` stores, and are found by search like any other."""
    monkeypatch.setenv("VDFS_INDEX_BULK_MIN", "1")
    monkeypatch.setenv("VDFS_INDEX_PARALLEL_MIN", "1")
    tree = build_tree(tmp_path / "tree", files=20, seed=3)
    odd = os.fsencode(tree) + b"/odd\xffname\nline.txt"
    with open(odd, "wb") as fh:
        fh.write(b"odd")
    statements = traced_statements(lib, monkeypatch)
    result = lib.index(tree, workers=2).wait()
    assert result["errors"] == []
    assert search_index_is_whole(lib.conn)
    # the helper's index was copied in, not rebuilt from `entries` (which would find the name
    # even if the helper had dropped or garbled it)
    assert any("INSERT INTO main.entries_fts_data" in s for s in statements)
    assert not any("VALUES ('rebuild')" in s for s in statements)
    stored = lib.conn.execute("SELECT path, raw_path FROM entries WHERE raw_path IS NOT NULL"
                              ).fetchone()
    assert stored[1] == odd
    assert stored[0] in matches(lib, "name")

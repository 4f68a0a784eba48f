"""A first load hashing ahead writes in slices that each wait for their hashes, inside
transactions of batch_size rows: fewer commits (each rewrites the scattered index pages its
rows touched), and a row SQLite refuses still costs only that entry."""
from __future__ import annotations

import os

import pytest

from core.indexer import job
from indexer_tree import build_tree, traced_statements


@pytest.fixture
def ahead(monkeypatch):
    """The first-load path with hash workers (hashing ahead), and slices of 4 rows."""
    monkeypatch.setenv("VDFS_INDEX_BULK_MIN", "1")
    monkeypatch.setenv("VDFS_INDEX_PARALLEL_MIN", "1")
    monkeypatch.setattr(job, "CONTENT_BATCH", 4)


def test_a_first_load_commits_whole_batches_not_each_slice(lib, tmp_path, ahead, monkeypatch):
    root = build_tree(tmp_path / "t", files=60)
    seen = traced_statements(lib, monkeypatch)
    result = lib.index(root, batch_size=40, workers=2).wait()
    entries = result["files"] + result["dirs"]
    assert entries > 60 and result["hashed"] > 0 and result["errors"] == []
    savepoints = sum(s == "SAVEPOINT write_tx" for s in seen)
    begins = sum(s == "BEGIN IMMEDIATE" for s in seen)
    assert savepoints >= entries // 4                 # a slice of 4 at a time...
    assert begins < 10 + -(-entries // 40)            # ...committed 40 rows at a time
    assert lib.conn.execute("SELECT count(*) FROM entries").fetchone()[0] == entries


def test_a_refused_row_in_a_batch_of_slices_costs_only_that_entry(lib, tmp_path, ahead):
    """The slice holding the refused folder is rolled back to its savepoint and written
    again in halves; the slices before and after it in the same transaction stay."""
    root = build_tree(tmp_path / "t", files=40)
    poison = root / "zz_poison"
    poison.mkdir()
    (poison / "inside.txt").write_text("inside")
    lib.conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON entries WHEN NEW.name = "
                     "'zz_poison' BEGIN SELECT RAISE(ABORT, 'refused'); END")
    result = lib.index(root, batch_size=20, workers=2).wait()
    assert {e["path"] for e in result["errors"]} == {str(poison), str(poison / "inside.txt")}
    stored = {r[0] for r in lib.conn.execute("SELECT path FROM entries")}
    on_disk = {os.path.join(d, n) for d, ds, fs in os.walk(root) for n in ds + fs}
    assert stored == {str(root)} | on_disk - {str(poison), str(poison / "inside.txt")}
    assert lib.conn.execute("SELECT count(*) FROM entries WHERE content_id IS NULL "
                            "AND is_dir = 0 AND size > 0").fetchone()[0] == 0


def test_folder_numbers_written_ahead_are_corrected_when_a_row_is_refused(lib, tmp_path, ahead):
    """A first load writes each folder with numbers counted from the walk; a child SQLite
    refused is not stored, and aggregation brings its folder's numbers back in line."""
    root = build_tree(tmp_path / "t", files=30)
    (root / "refused.txt").write_text("x" * 1000)
    lib.conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON entries WHEN NEW.name = "
                     "'refused.txt' BEGIN SELECT RAISE(ABORT, 'refused'); END")
    result = lib.index(root, batch_size=20, workers=2).wait()
    assert [e["path"] for e in result["errors"]] == [str(root / "refused.txt")]
    rid, size, count = lib.conn.execute("SELECT id, size, child_count FROM entries WHERE path = ?",
                                        (str(root),)).fetchone()
    assert count == lib.conn.execute("SELECT count(*) FROM entries WHERE parent_id = ?",
                                     (rid,)).fetchone()[0]
    assert size == lib.conn.execute("SELECT sum(size) FROM entries WHERE is_dir = 0"
                                    ).fetchone()[0]


def test_the_writer_never_waits_for_hashes_inside_a_transaction(lib, tmp_path, ahead,
                                                                monkeypatch):
    """While a first load waits for the hash workers it holds no write transaction: on a slow
    disk that wait can be long, and a tag or a note written meanwhile (a notebook, another
    process) must not queue behind it. Slices whose hashes are already in share a commit."""
    from core.indexer import prefetch, process
    writers: list = []
    init = process.Processor.__init__

    def remember(self, *args, **kwargs):
        init(self, *args, **kwargs)
        writers.append(self)
    monkeypatch.setattr(process.Processor, "__init__", remember)
    waits: list[bool] = []
    wait = prefetch.Prefetcher.wait

    def observed(self, n):
        waits.append(writers[-1].conn.in_transaction)
        wait(self, n)
    monkeypatch.setattr(prefetch.Prefetcher, "wait", observed)
    root = build_tree(tmp_path / "t", files=60)
    result = lib.index(root, batch_size=40, workers=2).wait()
    assert result["hashed"] > 0 and result["errors"] == []
    assert waits and not any(waits)

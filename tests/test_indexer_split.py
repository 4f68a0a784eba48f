"""Discovery split across two processes (large re-indexes) finds exactly what one process
finds: additions, changes, deletions (whole top-level folders included), moves between the
halves, and names that are not UTF-8."""
from __future__ import annotations

import os
import shutil

import core
from indexer_tree import build_tree, snapshot


def strip(snap):
    return {k: v[:10] for k, v in snap["entries"].items()}, snap["identities"]


def test_split_discovery_matches_single_process(tmp_path, monkeypatch):
    lib = core.Library.create(tmp_path / "odd #1 ?%20.vdfs")   # the worker opens it by URI
    root = build_tree(tmp_path / "t", files=80, seed=3)
    bad = os.path.join(os.fsencode(root), b"top\xff")
    os.mkdir(bad)
    with open(os.path.join(bad, b"f\xfe.txt"), "wb") as f:
        f.write(b"bytes")
    lib.index(root).wait()
    monkeypatch.setenv("VDFS_INDEX_SPLIT_MIN", "1")
    unchanged = lib.index(root, workers=2).wait()
    assert (unchanged["created"], unchanged["modified"], unchanged["deleted"],
            unchanged["moved"]) == (0, 0, 0, 0)
    assert unchanged["files"] + unchanged["dirs"] == \
        lib.conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    tops = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("dir"))
    assert len(tops) >= 2
    moved_file = next(p for p in tops[0].rglob("*") if p.is_file())
    moved_uuid = lib.conn.execute("SELECT uuid FROM entries WHERE path = ?",
                                  (str(moved_file),)).fetchone()[0]
    os.rename(moved_file, tops[-1] / "moved-here.bin")     # across the halves, likely
    shutil.rmtree(tops[1])                                  # a whole top-level folder
    (tops[-1] / "added.txt").write_text("added")
    (root / "top-level-new.txt").write_text("new at the root")
    with open(os.path.join(bad, b"f\xfe.txt"), "ab") as f:
        f.write(b" more")
    result = lib.index(root, workers=2).wait()
    assert result["errors"] == [] and result["moved"] == 1 and result["deleted"] > 0
    assert lib.conn.execute("SELECT uuid FROM entries WHERE path = ?",
                            (str(tops[-1] / "moved-here.bin"),)).fetchone()[0] == moved_uuid
    fresh = core.Library.create(tmp_path / "fresh.vdfs")
    fresh.index(root, workers=1).wait()
    assert strip(snapshot(lib, root)) == strip(snapshot(fresh, root))
    fresh.close()
    lib.close()

"""A process killed in the middle of committing an action leaves no half-done disk changes:
the next commit / undo / audit_log reverses the renames of an interrupted commit (SQLite has
already dropped its rows), and keeps those of a commit that reached COMMIT."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest



from test_actions import snapshot, tree  # noqa: F401  (the indexed folder fixture)

WORKER = Path(__file__).with_name("actions_crash_worker.py")


def _crash(lib, root, mode):
    proc = subprocess.run([sys.executable, str(WORKER), str(lib.path), str(root), mode],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    return list((lib.path / "trash" / ".journal").glob("*.jsonl"))


@pytest.mark.parametrize("mode", ["rename:1", "rename:2", "rename:3"])
def test_interrupted_commit_is_reversed_on_disk(lib, tree, mode):  # noqa: F811
    before = snapshot(lib, tree)
    assert len(_crash(lib, tree, mode)) == 1            # the dead process left its journal
    assert snapshot(lib, tree)["files"] != before["files"]  # …and half-done renames
    assert lib.actions.log() == []                          # recovers: nothing was committed
    assert snapshot(lib, tree) == before
    assert not list((lib.path / "trash" / ".journal").glob("*.jsonl"))


def test_commit_that_landed_keeps_its_renames(lib, tree):  # noqa: F811
    assert len(_crash(lib, tree, "committed")) == 1
    [row] = lib.actions.log()
    assert row["outcome"] == "committed"
    assert (tree / "a2.txt").exists() and (tree / "dest" / "sub" / "c.txt").exists()
    assert not (tree / "b.jpg").exists()
    names = {r[0] for r in lib.conn.execute("SELECT name FROM entries")}
    assert {"a2.txt", "sub", "c.txt"} <= names and "b.jpg" not in names
    assert not list((lib.path / "trash" / ".journal").glob("*.jsonl"))
    assert not os.path.exists(tree / "a.txt")

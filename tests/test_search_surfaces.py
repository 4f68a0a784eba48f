"""Search where people type it: `vdfs search` (a ranked table, the match highlighted on a
terminal and marked « » in a pipe), `%vdfs search` (the match in <mark>), and the split of a
snippet into matched pieces that both use."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

import core
from conftest import REPO
from vdfs_query.fts import split_marks

NAMES = ["invoice.pdf", "docs/Invoice-2024.pdf", "docs/tax.txt", "photos/beach.jpg"]


@pytest.fixture
def world(tmp_path, vdfs_home):
    root = tmp_path / "tree"
    for i, n in enumerate(NAMES):
        (root / n).parent.mkdir(parents=True, exist_ok=True)
        (root / n).write_bytes(f"{i} {n}".encode())
    lib = core.Library.create(tmp_path / "s.vdfs")
    lib.index(str(root)).wait(timeout=60)
    lib.close()
    return {"lib": tmp_path / "s.vdfs", "tree": root, "home": vdfs_home}


def vdfs(world, *args):
    env = dict(os.environ, PYTHONPATH=str(REPO), VDFS_HOME=str(world["home"]))
    return subprocess.run([sys.executable, "-m", "core.cli", "-L", str(world["lib"]), *args],
                          capture_output=True, text=True, env=env, timeout=60)


def test_split_marks():
    assert split_marks("in«voice».pdf") == [("in", False), ("voice", True), (".pdf", False)]
    assert split_marks("«a»") == [("a", True)]
    assert split_marks("plain") == [("plain", False)]
    assert split_marks(None) == []


def test_cli_search_prints_ranked_hits_marked_in_a_pipe(world):
    r = vdfs(world, "search", "voice")
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stdout.splitlines() if "voice" in l]
    assert len(lines) == 2 and all("«voice»" in l for l in lines)
    assert "beach" not in r.stdout


def test_cli_search_json_below_a_folder_and_a_bad_text(world):
    r = vdfs(world, "search", "voice", "--in", str(world["tree"] / "docs"), "-f", "json")
    rows = json.loads(r.stdout)
    assert [row["path"].rsplit("/", 1)[-1] for row in rows] == ["Invoice-2024.pdf"]
    assert rows[0]["snippet"] == "In«voice»-2024.pdf" and rows[0]["rank"] < 0
    bad = vdfs(world, "search", '"tax')
    assert bad.returncode == 2 and "never closed" in bad.stderr and "Traceback" not in bad.stderr


def test_a_terminal_table_highlights_the_match():
    """What `vdfs search` prints on a terminal (output.render_table with colour)."""
    from core.cli.output import render_table
    out = render_table(["snippet", "kind"], [["in«voice».pdf", "document"]], color=True,
                       marked=[True, False])
    assert re.search(r"in\x1b\[[0-9;]*mvoice\x1b\[0m\.pdf", out), repr(out)
    assert "«" not in out
    plain = render_table(["snippet"], [["in«voice».pdf"]], color=False, marked=[True])
    assert "in«voice».pdf" in plain

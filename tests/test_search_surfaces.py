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


def test_cli_search_errors_speak_of_what_was_typed(world):
    """The text's error names the text, not the query `vdfs search` builds around it (its
    ':text' parameter and a caret into 'search :text select rank, …'); a negative --limit is
    refused by the option itself."""
    bad = vdfs(world, "search", "a", "OR")
    assert bad.returncode == 2 and "OR needs a word after it" in bad.stderr
    assert ":text" not in bad.stderr and "select rank" not in bad.stderr
    neg = vdfs(world, "search", "--limit", "-1", "voice")
    assert neg.returncode == 2 and "--limit" in neg.stderr and "select rank" not in neg.stderr


def test_a_terminal_table_highlights_the_match():
    """What `vdfs search` prints on a terminal (output.render_table with colour)."""
    from core.cli.output import render_table
    out = render_table(["snippet", "kind"], [["in«voice».pdf", "document"]], color=True,
                       marked=[True, False])
    assert re.search(r"in\x1b\[[0-9;]*mvoice\x1b\[0m\.pdf", out), repr(out)
    assert "«" not in out
    plain = render_table(["snippet"], [["in«voice».pdf"]], color=False, marked=[True])
    assert "in«voice».pdf" in plain


# ---- the notebook -----------------------------------------------------------------------------
@pytest.fixture
def ip(tmp_path):
    from magics_support import indexed_shell
    data = tmp_path / "data"
    for i, n in enumerate(NAMES):
        (data / n).parent.mkdir(parents=True, exist_ok=True)
        (data / n).write_bytes(f"{i} {n}".encode())
    with indexed_shell(tmp_path) as sh:
        yield sh


def test_magic_search_marks_the_match_in_html(ip):
    from magics_support import run
    result = run(ip, "%vdfs search voice")
    assert [r["path"].rsplit("/", 1)[-1] for r in result.rows()] == ["invoice.pdf",
                                                                      "Invoice-2024.pdf"]
    from kernel_ext.formatters import result_html
    page = result_html(result)                   # what a notebook shows for a Result
    assert "in<mark>voice</mark>.pdf" in page and "«" not in page
    assert run(ip, "%vdfs search --limit 1 voice").rows()[0]["snippet"] == "in«voice».pdf"
    assert len(run(ip, '%vdfs search "voice" where ext = "pdf" limit 1').rows()) == 1


def test_magic_search_text_errors_have_a_caret(ip):
    from kernel_ext.errors import MagicError
    from magics_support import run
    with pytest.raises(MagicError) as err:
        run(ip, '%vdfs search tax AND')
    assert "needs a word after it" in str(err.value)


def test_search_box_updates_as_you_type_debounced(ip):
    """Keystrokes within the debounce run one search, for the text as it is when typing
    pauses; the hits are the library's, as fresh as the last write."""
    from kernel_ext import session
    from magics_support import run
    box = run(ip, "%vdfs search")
    assert box.text() == "search box (type to search)"
    box.debounce = 0.2
    for prefix in ("b", "be", "bea", "beac", "beach"):
        box.box.value = prefix
    assert box.wait(5)
    assert box.searches == 1
    assert [r["path"].rsplit("/", 1)[-1] for r in box.rows] == ["beach.jpg"]
    assert "<mark>beach</mark>.jpg" in box.hits.value
    lib = session.library()
    tax = lib.query('files where name = "tax.txt"').rows()[0]["uuid"]
    lib.vdfs().set_note(tax, "a beach holiday receipt")
    box.box.value = "beach "
    assert box.wait(5) and box.searches == 2
    assert {r["path"].rsplit("/", 1)[-1] for r in box.rows} == {"beach.jpg", "tax.txt"}
    box.box.value = "beach AND"
    assert box.wait(5) and "needs a word after it" in box.text()
    assert box.hits.value.startswith('<div class="vdfs-search-error">')

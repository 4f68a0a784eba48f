"""Parsed queries are kept between processes ($VDFS_CACHE_DIR/parsed.sqlite): a text parsed
once is not parsed again by the next process (a `vdfs query` repeated with new parameter
values), which then needs no Lark at all; what it gets is the tree a parse makes. A damaged
store, a row of other code, or a folder others can write is never trusted."""
from __future__ import annotations

import os
import pickle
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from test_query_language import EXAMPLES

from vdfs_query import VdfsSyntaxError, ast, parsed_cache
from vdfs_query import parser as qparser

REPO = Path(__file__).resolve().parent.parent
POINT = "entries where uuid = :u"

_CHILD = """
import pickle, sys
from vdfs_query.parser import parse
q = parse(sys.argv[1])
sys.stdout.buffer.write(pickle.dumps((q, "lark" in sys.modules)))
"""


def _child_parse(text: str, folder: Path) -> tuple[ast.Query, bool]:
    """(the tree a fresh process parses `text` into, whether it imported Lark)."""
    out = subprocess.run([sys.executable, "-c", _CHILD, text], capture_output=True, cwd=REPO,
                         timeout=60, env={**os.environ, "VDFS_CACHE_DIR": str(folder)})
    assert out.returncode == 0, out.stderr.decode()
    return pickle.loads(out.stdout)


def _fresh_parse(text: str) -> ast.Query:
    """What Lark makes of `text`, no cache of parsed texts involved."""
    return qparser.parse_with_lark(text)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("VDFS_CACHE_DIR", str(folder))
    qparser.parse.cache_clear()
    yield folder
    qparser.parse.cache_clear()


def test_a_second_process_parsing_the_same_text_needs_no_lark(cache):
    first, used_lark = _child_parse(POINT, cache)
    assert used_lark
    second, used_lark = _child_parse(POINT, cache)
    assert not used_lark
    assert second == first == _fresh_parse(POINT)
    assert [n.pos for n in second.walk()] == [n.pos for n in first.walk()]


def test_cached_trees_are_the_trees_lark_makes(cache):
    texts = EXAMPLES + [POINT, "entries where (size > 1 or not hidden) and modified < 2024-05-01"]
    for text in texts:
        qparser.parse(text)                       # stored
    qparser.parse.cache_clear()
    for text in texts:
        got = parsed_cache.get(text, qparser.code_key())
        assert got is not None, text
        assert got == _fresh_parse(text) and got.text == text
        assert [n.pos for n in got.walk()] == [n.pos for n in _fresh_parse(text).walk()]


def test_a_text_that_does_not_parse_is_not_kept(cache):
    with pytest.raises(VdfsSyntaxError):
        qparser.parse("entries wher size > 1")
    assert parsed_cache.get("entries wher size > 1", qparser.code_key()) is None


def test_rows_of_other_code_are_not_used(cache):
    qparser.parse(POINT)
    qparser.parse.cache_clear()
    assert parsed_cache.get(POINT, "another grammar or tree code") is None
    # a tree stored under another key for this very text is not what this code reads
    parsed_cache.put(POINT, "another grammar or tree code", _fresh_parse("tags"))
    assert qparser.parse(POINT) == _fresh_parse(POINT)


@pytest.mark.parametrize("damage", ["garbage-file", "garbage-row", "wrong-type-row"])
def test_a_damaged_store_is_a_miss(cache, damage):
    qparser.parse(POINT)
    qparser.parse.cache_clear()
    parsed_cache.forget_connections()
    store = cache / parsed_cache.STORE
    if damage == "garbage-file":
        store.write_bytes(b"not a database" * 100)
    else:
        blob = b"\x80\x04garbage" if damage == "garbage-row" else pickle.dumps(["not", "a", "tree"])
        conn = sqlite3.connect(store)
        conn.execute("UPDATE parsed SET tree = ?", (blob,))
        conn.commit()
        conn.close()
    assert qparser.parse(POINT) == _fresh_parse(POINT)
    assert _child_parse(POINT, cache)[0] == _fresh_parse(POINT)


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_store_in_a_folder_others_can_write_is_never_read(cache):
    qparser.parse(POINT)
    qparser.parse.cache_clear()
    parsed_cache.forget_connections()
    conn = sqlite3.connect(cache / parsed_cache.STORE)
    conn.execute("UPDATE parsed SET tree = ?", (pickle.dumps(_fresh_parse("tags")),))
    conn.commit()
    conn.close()
    os.chmod(cache, 0o777)
    try:
        assert parsed_cache.get(POINT, qparser.code_key()) is None
        assert qparser.parse(POINT) == _fresh_parse(POINT)
    finally:
        os.chmod(cache, 0o700)


def test_the_store_keeps_at_most_max_rows(cache, monkeypatch):
    monkeypatch.setattr(parsed_cache, "MAX_ROWS", 5)
    for n in range(12):
        qparser.parse(f"entries limit {n + 1}")
    conn = sqlite3.connect(cache / parsed_cache.STORE)
    assert conn.execute("SELECT count(*) FROM parsed").fetchone()[0] <= 5
    conn.close()
    assert parsed_cache.get("entries limit 12", qparser.code_key()) is not None

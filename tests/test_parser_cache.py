"""The built parser is kept between processes in the user's cache folder ($VDFS_CACHE_DIR):
a valid file is loaded instead of analysing the grammar again, a damaged or stale one is
ignored and replaced, a changed grammar gets its own file, and a folder others can write is
never read (the file is a pickle)."""
from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from test_query_language import EXAMPLES

from vdfs_query import parser_cache
from vdfs_query.parser import build_parser, grammar_text

REPO = Path(__file__).resolve().parent.parent

# The language tests' examples, a point lookup, nesting, and queries ending in syntax errors.
CORPUS = EXAMPLES + ["entries where uuid = :u",
                     "entries where (size > 1 or not hidden) and modified < 2024-05-01"]
BROKEN = ["entries wher size > 1", "entries where", "entries where size >", "entries order size",
          'entries where name = "open']


def _outcome(p, text: str):
    """What a parser makes of `text`: its tree (the AST the transformer built) or the error."""
    try:
        return ("ok", p.parse(text))
    except Exception as exc:    # lark's own, by kind, position, token and what it expected
        # (as sets: lark's message lists them in set order, which differs between a parser
        # unpickled from the cache and one built in this process under some hash seeds)
        return ("error", type(exc).__name__, getattr(exc, "pos_in_stream", None),
                str(getattr(exc, "token", "")), sorted(getattr(exc, "expected", None) or ()),
                sorted(getattr(exc, "allowed", None) or ()))


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("VDFS_CACHE_DIR", str(folder))
    return folder


def _one_file(folder: Path) -> Path:
    files = sorted(folder.glob("parser-*.lark"))
    assert len(files) == 1, files
    return files[0]


def test_the_first_build_writes_the_cache_and_the_next_loads_it(cache):
    fresh = build_parser(grammar_text())
    saved = _one_file(cache)
    before = (saved.stat().st_ino, saved.stat().st_mtime_ns, saved.read_bytes())
    loaded = build_parser(grammar_text())
    # loaded, not rebuilt: a build writes the file anew
    assert (saved.stat().st_ino, saved.stat().st_mtime_ns, saved.read_bytes()) == before
    assert [_outcome(loaded, t) for t in CORPUS + BROKEN] == [_outcome(fresh, t) for t in CORPUS + BROKEN]
    assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("damage", [
    lambda data: b"",
    lambda data: data[: len(data) // 2],
    lambda data: b"not a cache at all\n" + os.urandom(200),
    lambda data: data.split(b"\n", 1)[0] + b"\n" + os.urandom(len(data) // 3),
    lambda data: b"0" * 64 + data[64:],
], ids=["empty", "truncated", "garbage", "right-header-garbage-body", "wrong-hash"])
def test_a_damaged_cache_is_ignored_and_rebuilt(cache, damage):
    reference = [_outcome(build_parser(grammar_text()), t) for t in CORPUS + BROKEN]
    saved = _one_file(cache)
    good = saved.read_bytes()
    bad = damage(good)
    saved.write_bytes(bad)
    rebuilt = build_parser(grammar_text())
    assert [_outcome(rebuilt, t) for t in CORPUS + BROKEN] == reference
    assert saved.read_bytes() != bad                        # replaced by a whole file
    stamp = saved.stat().st_mtime_ns
    loaded = build_parser(grammar_text())
    assert saved.stat().st_mtime_ns == stamp                # …which the next build loads
    assert [_outcome(loaded, t) for t in CORPUS + BROKEN] == reference


def test_a_changed_grammar_has_its_own_cache_and_never_loads_the_old_one(cache):
    old = grammar_text()
    build_parser(old)
    old_file = _one_file(cache)
    # a grammar where `limit` is spelt `top`: its cache must not be the old grammar's
    new = old.replace("/limit(?![A-Za-z0-9_])/i", "/top(?![A-Za-z0-9_])/i")
    assert new != old
    changed = build_parser(new)
    files = sorted(cache.glob("parser-*.lark"))
    assert len(files) == 2 and old_file in files
    assert _outcome(changed, "entries top 5")[0] == "ok"
    assert _outcome(changed, "entries limit 5")[0] == "error"
    # a stale file under the new grammar's name (the old grammar's analysis) is refused too
    new_file = next(f for f in files if f != old_file)
    new_file.write_bytes(old_file.read_bytes())
    again = build_parser(new)
    assert _outcome(again, "entries top 5")[0] == "ok"
    assert _outcome(again, "entries limit 5")[0] == "error"


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_folder_others_can_write_is_never_read(cache):
    cache.mkdir(mode=0o700)
    build_parser(grammar_text())
    saved = _one_file(cache)
    saved.write_bytes(b"planted by someone else")
    os.chmod(cache, 0o777)
    try:
        assert parser_cache.cache_file(grammar_text(), {}) is None
        p = build_parser(grammar_text())
        assert _outcome(p, "entries where uuid = :u")[0] == "ok"
        assert saved.read_bytes() == b"planted by someone else"     # neither read nor written
    finally:
        os.chmod(cache, 0o700)


def test_an_unwritable_cache_location_still_parses(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("VDFS_CACHE_DIR", str(blocker / "cache"))     # cannot be made
    assert parser_cache.cache_file(grammar_text(), {}) is None
    assert _outcome(build_parser(grammar_text()), "entries limit 5")[0] == "ok"


def test_a_fresh_process_parses_from_the_cache(cache):
    """The module-level parser (what `parse` uses) is built through the cache."""
    code = "from vdfs_query import parse; print(parse('entries where uuid = :u').source)"
    env = {**os.environ, "VDFS_CACHE_DIR": str(cache)}
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=REPO, env=env, timeout=60)
        assert out.returncode == 0 and out.stdout.strip() == "entries", out.stderr
    assert _one_file(cache).stat().st_size > 1000


@functools.lru_cache(maxsize=1)
def _cached_and_fresh():
    folder = Path(tempfile.mkdtemp(prefix="vdfs-test-parser-cache-"))
    build_parser(grammar_text(), cache=folder)
    return build_parser(grammar_text(), cache=folder), build_parser(grammar_text(), cache=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(
    ["entries", "content", "where", "size", ">", "1", "and", "or", "not", "hidden", "(", ")",
     "order", "by", "name", "desc", "limit", "5", "in", '"/a"', "of", "kind", "image", "=",
     ":u", "uuid", "tagged", '"#x"', "select", "count()", "group", "ext", "~", '"*.jpg"']),
    min_size=1, max_size=12))
def test_the_cached_parser_and_a_fresh_one_agree(words):
    """Property: on any word salad, the parser loaded from the cache and one built from the
    grammar (no cache) give the same tree or the same error."""
    cached, fresh = _cached_and_fresh()
    text = " ".join(words)
    assert _outcome(cached, text) == _outcome(fresh, text)

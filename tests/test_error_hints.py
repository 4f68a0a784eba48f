"""Errors that teach: the phrasings a newcomer types first (SQL habits, natural English) get a
sentence saying what to write instead, and the list of what was expected is whole and grouped
(fields of this source / operators / values / clauses), never cut with "…"."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st

from kernel_ext.errors import from_syntax_error
from vdfs_query import compile, parse
from vdfs_query.catalog import SOURCES
from vdfs_query.errors import VdfsSyntaxError


def _error(text: str) -> VdfsSyntaxError:
    with pytest.raises(VdfsSyntaxError) as info:
        compile(text)
    return info.value


@pytest.mark.parametrize("text, hint", [
    ("files where size > 2M", "sizes need a unit like 2MB or 2MiB"),
    ("files where size > 2 M", "sizes need a unit like 2MB or 2MiB"),
    ("files where size < 10k", "sizes need a unit like 2MB or 2MiB"),
    ('files where name like "%.txt"', 'use a glob: name ~ "*.txt"'),
    ('files where name LIKE "IMG_%"', 'use a glob: name ~ "IMG_*"'),
    ("files where modified in last 7 days", "write modified > 7 days ago"),
    ("files where modified in the past 2 weeks", "write modified > 2 weeks ago"),
    ("select count(*) from entries", "write: entries select count()"),
    ("SELECT name, size FROM files WHERE size > 1MB",
     "write: files select name, size WHERE size > 1MB"),
    ("files where size between 1MB and 5MB", "write size >= 1MB and size <= 5MB"),
    ("entries select count(*)", "write count()"),
    ("files group by ext select ext, count(*)", "write count()"),
])
def test_common_phrasings_get_a_hint(text, hint):
    err = _error(text)
    assert err.hint is not None and hint in err.hint
    assert f"hint: {err.hint}" in str(err)


def test_the_hinted_rewrite_parses():
    """Each hint's suggested text is itself a valid query (the hint never teaches a mistake)."""
    assert parse("entries select count()")
    assert parse("files select name, size WHERE size > 1MB")
    assert parse('files where name ~ "*.txt"')
    assert parse("files where modified > 7 days ago")
    assert parse("files where size >= 1MB and size <= 5MB")


_BROKEN = [
    "entries where size >", "files where", "files where size =", "files wher size > 1",
    "files where size > 2M", 'files where name like "%.txt"', "files order", "files select",
    "select count(*) from entries", "files where size > 2 M", "files where (size > 1",
    "files of kind", "models", "files where modified > 7 days", "files limit", "files group",
]


@pytest.mark.parametrize("text", _BROKEN)
def test_expected_list_is_never_cut(text):
    err = _error(text)
    after_caret = str(err).split("^", 1)[1]
    assert "…" not in after_caret and "..." not in after_caret
    assert err.groups, "a parse error says what would have fit"
    shown = [w for _, words in err.groups for w in words]
    assert sorted(shown) == err.expected


def test_an_unknown_field_lists_every_field_of_its_source():
    err = _error("files where siz > 2MB")
    assert err.suggestion == "size"
    label, words = err.groups[0]
    assert label == "fields of files"
    assert set(SOURCES["files"].fields) <= set(words)
    text = str(err)
    for name in ("size", "name", "path", "modified"):
        assert name in text.split("fields of files:")[1]


def test_the_end_of_a_comparison_expects_values_grouped():
    err = _error("entries where size >")
    labels = [label for label, _ in err.groups]
    assert labels[0] == "values"
    assert any("size like 2MB" in w for w in err.groups[0][1])


def test_after_a_field_operators_and_clauses_are_grouped():
    err = _error("files where size 3")
    groups = dict(err.groups)
    assert "a comparison (= != < <= > >=)" in groups["operators"]
    assert "limit" in groups["clauses"]


def test_a_closing_parenthesis_is_expected_only_when_one_is_open():
    assert "')'" not in _error("files where size 3").expected
    assert "')'" in _error("files where (size > 1 3").expected
    assert "','" not in _error("files where size > 2M").expected
    assert "','" in _error("files select name size").expected


def test_notebook_rendering_keeps_groups_and_hint():
    text = "select count(*) from entries"
    with pytest.raises(VdfsSyntaxError) as info:
        compile(text)
    lines = from_syntax_error(info.value, text).lines()
    assert not any("..." in x or "…" in x for x in lines[3:])
    assert any(x.startswith("hint: write: entries select count()") for x in lines)
    assert any(x.startswith("expected one of the sources: collections, content") for x in lines)


def test_the_documented_hints_are_the_hints_given():
    """docs/query-language.md "Mistakes and hints" shows what the parser says."""
    from conftest import REPO
    doc = (REPO / "docs" / "query-language.md").read_text("utf-8")
    table = doc.split("## Mistakes and hints", 1)[1]
    rows = re.findall(r"^\| `(.+?)` \| (.+?) \|$", table, re.M)
    assert len(rows) >= 6
    for text, hint in rows:
        assert hint in (_error(text).hint or ""), text


@pytest.mark.parametrize("text", [
    "files where " + "a" * 50_000 + " 3",
    "files where name " + "like " * 20_000 + "3",
    "select " + "x, " * 20_000 + "from",
])
def test_hints_stay_fast_on_long_text(text):
    import time
    start = time.perf_counter()
    _error(text)
    assert time.perf_counter() - start < 1.0


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=399), st.integers(min_value=121, max_value=400))
def test_long_line_snippet_marks_every_cut_side(pos, length):
    """A long line is shown around the caret; each side that was cut ends in "…", the caret
    stays under the character it points at, and no side is cut silently."""
    pos = min(pos, length - 1)
    line = "".join(chr(0x4E00 + i) for i in range(length))     # every character unique
    err = VdfsSyntaxError("bad", text=line, pos=pos)
    shown, caret = err.snippet.split("\n")
    shown, caret = shown[2:], caret.index("^") - 2
    assert shown[caret] == line[pos]
    left = shown.startswith("…")
    right = shown.endswith("…")
    body = shown[1 if left else 0:len(shown) - 1 if right else len(shown)]
    start = line.index(body)
    assert left == (start > 0)
    assert right == (start + len(body) < length)

"""docs/query-language.md stays true: its field lists are the catalog's, and every query it (and
the README's one-screen summary) shows compiles for both SQL dialects."""
from __future__ import annotations

import re

import pytest

from conftest import REPO
from vdfs_query import compile
from vdfs_query.catalog import SOURCES

DOC = (REPO / "docs" / "query-language.md").read_text(encoding="utf-8")


def _section(source: str) -> str:
    m = re.search(rf"^### `{source}`\n(.*?)(?=^#{{2,3}} )", DOC + "\n## end", re.S | re.M)
    assert m, f"docs/query-language.md has no section for the source {source!r}"
    return m.group(1)


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_each_source_lists_exactly_its_fields_and_synonyms(source):
    text = _section(source)
    fields = re.search(r"^Fields: (.*?)(?:\.\n|\. )", text, re.S | re.M)
    assert fields, f"no 'Fields:' line for {source}"
    listed = re.findall(r"`([a-z_]+)`", fields.group(1))
    assert listed == list(SOURCES[source].fields), f"the fields of {source} in the doc"
    synonyms = dict(re.findall(r"`([a-z_]+)` = `([a-z_]+)`", text))
    if source not in ("files", "folders"):      # those say 'the same as entries'
        assert synonyms == SOURCES[source].synonyms


def _examples(text: str, fence: str) -> list[str]:
    out = []
    for block in re.findall(rf"```{fence}\n(.*?)```", text, re.S):
        out += [line.split(" -- ")[0].strip() for line in block.splitlines() if line.strip()]
    return out


def test_every_example_compiles_on_both_dialects():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    one_screen = readme.split("## The query language in one screen", 1)[1].split("```")[1]
    examples = _examples(DOC, "vdfs") + [line.split(" -- ")[0].strip()
                                         for line in one_screen.splitlines() if line.strip()]
    assert len(examples) >= 15
    for text in examples:
        searches = "matches" in text or text.startswith("search")   # SQLite only (its index)
        for dialect in ("sqlite",) if searches else ("sqlite", "duckdb"):
            assert compile(text, dialect, device_uuid=bytes(16)).sql, text


def test_every_example_runs_on_a_library_and_answers_alike_on_both_engines(tmp_path):
    """Compiling is not enough: each example of the reference and of the README's one screen
    runs on a small real library (a few files, a duplicate, a tag, Person models), on SQLite
    and on the DuckDB mirror, with the same rows."""
    from dataclasses import dataclass

    import core
    from core.domain.models import model

    @model(version="1.0.0", scope="standalone", extension_id="com.example.people")
    @dataclass
    class Person:
        name: str
        photo_count: int = 0
        age: int = 0
        city: str = ""

    root = tmp_path / "photos"
    (root / "2024").mkdir(parents=True)
    for name, data in (("IMG_0001.jpg", b"\xff\xd8\xff" + b"a" * 3_000_000),
                       ("2024/IMG_0002.jpg", b"\xff\xd8\xff" + b"a" * 3_000_000),
                       ("notes.txt", b"a trip\n"), ("README", b"no extension\n")):
        (root / name).write_bytes(data)
    lib = core.Library.create(tmp_path / "ref.vdfs")
    try:
        lib.add_location(root)
        lib.index(root).wait()
        lib.vdfs().add_tag_to_entry(lib.query("files where ext = \"jpg\" limit 1").rows()[0]["uuid"],
                                    "#vacation")
        for p in (Person("Alice", 12, 30, "Lyon"), Person("Bob", 3, 41, "Oslo")):
            lib.vdfs().create_model(p)
        readme = (REPO / "README.md").read_text(encoding="utf-8")
        one_screen = readme.split("## The query language in one screen", 1)[1].split("```")[1]
        examples = _examples(DOC, "vdfs") + [line.split(" -- ")[0].strip()
                                             for line in one_screen.splitlines() if line.strip()]
        engine = lib.engine
        for text in examples:
            answers = [engine.run(text, route=route).rows() for route in ("sqlite", "duckdb")]
            assert answers[0] == answers[1], text
    finally:
        lib.close()

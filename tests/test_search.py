"""Search (issue 19): the two FTS5 indexes kept in step by triggers, `search "…"` and
`matches "…"` in the language, and their errors. Real libraries, real files, real SQLite."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import core
from vdfs_query import VdfsSyntaxError
from vdfs_query.errors import ParameterError
from vdfs_query.fts import parse_search

NAMES = ["invoice.pdf", "Invoice-2024.PDF", "Über Straße.txt", "ab.txt", "docs/tax-2024.pdf",
         "docs/Rechnung.PDF", "docs/notes/readme.md", "photos/ΕΛΛΗΝΙΚΑ.jpg", "voices.wav"]


def make_tree(root, names):
    for i, name in enumerate(names):
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(f"bytes {i} of {name}".encode())
    return root


@pytest.fixture
def indexed(lib, tmp_path):
    root = make_tree(tmp_path / "tree", NAMES)
    lib.index(str(root)).wait(timeout=60)
    return lib, root


def names(result) -> list[str]:
    return [r["path"].rsplit("/", 1)[-1] for r in result.rows()]


def test_a_substring_anywhere_in_a_name(indexed):
    lib, _ = indexed
    assert sorted(names(lib.query('search "voice"'))) == ["Invoice-2024.PDF", "invoice.pdf",
                                                          "voices.wav"]
    hit = lib.query('search "nvoice.p"').rows()
    assert [r["snippet"] for r in hit] == ["i«nvoice.p»df"]


def test_mixed_case_and_non_ascii(indexed):
    lib, _ = indexed
    assert names(lib.query('search "INVOICE"')) != []
    assert set(names(lib.query('search "INVOICE"'))) == {"invoice.pdf", "Invoice-2024.PDF"}
    assert names(lib.query('search "über"')) == ["Über Straße.txt"]
    assert names(lib.query('search "STRAßE"')) == ["Über Straße.txt"]
    assert names(lib.query('search "ελληνικα"')) == ["ΕΛΛΗΝΙΚΑ.jpg"]


def test_short_queries_scan_names(indexed):
    """Trigrams cannot find 1-2 characters: a one-term search that short scans names."""
    lib, _ = indexed
    assert names(lib.query('search "ab"')) == ["ab.txt"]
    assert set(names(lib.query('files where matches "üb"'))) == {"Über Straße.txt"}
    assert names(lib.query('search "^ab"')) == ["ab.txt"]


def test_phrase_prefix_and_boolean(indexed):
    lib, root = indexed
    assert set(names(lib.query('search "^inv"'))) == {"invoice.pdf", "Invoice-2024.PDF"}
    assert lib.query('search "^oice"').rows() == []             # not at the start of a name
    assert set(names(lib.query('search "inv*"'))) == {"invoice.pdf", "Invoice-2024.PDF"}
    assert names(lib.query('search \'"ber Stra"\'')) == ["Über Straße.txt"]
    assert set(names(lib.query('search "invoice NOT 2024"'))) == {"invoice.pdf"}
    assert set(names(lib.query('search "rechnung OR readme"'))) == {"Rechnung.PDF", "readme.md"}
    assert set(names(lib.query('search "invoice pdf"'))) == {"invoice.pdf", "Invoice-2024.PDF"}
    # a path matches too: everything below docs/
    assert set(names(lib.query(f'files where matches "docs/" and path ~ "{root}/**"'))) == \
        {"tax-2024.pdf", "Rechnung.PDF", "readme.md"}


def test_matches_combines_with_every_clause(indexed):
    lib, root = indexed
    q = f'files in "{root}/docs" where matches "pdf" and modified > 2024-01 order by rank'
    assert set(names(lib.query(q))) == {"tax-2024.pdf", "Rechnung.PDF"}
    grouped = {r["ext"]: r["count"] for r in lib.query('files where matches "pdf" group by ext').rows()}
    assert grouped == {"pdf": 4}
    either = lib.query('files where matches "rechnung" or name = "ab.txt" order by name')
    assert names(either) == ["Rechnung.PDF", "ab.txt"]
    negated = set(names(lib.query('files where not matches "pdf" and ext != "wav"')))
    assert negated == {"Über Straße.txt", "ab.txt", "readme.md", "ΕΛΛΗΝΙΚΑ.jpg"}
    assert lib.query('search "pdf" limit 1').rows()[0]["rank"] is not None
    assert lib.query('search :q', q="rechnung").rows()[0]["snippet"] == "«Rechnung».PDF"


def test_search_ranks_names_first(indexed):
    lib, _ = indexed
    rows = lib.query('search "invoice"').rows()
    assert [r["rank"] for r in rows] == sorted(r["rank"] for r in rows)
    assert names(lib.query('search "invoice"'))[0] in ("invoice.pdf", "Invoice-2024.PDF")


def test_a_note_is_found_right_after_it_is_written(indexed):
    lib, _ = indexed
    entry = lib.query('files where name = "ab.txt"').rows()[0]["uuid"]
    assert lib.query('search "zanzibar"').rows() == []
    lib.vdfs().set_note(entry, "Trip to Zanzibar, receipts")
    rows = lib.query('search "zanzibar"').rows()
    assert [r["uuid"] for r in rows] == [entry]
    assert "«Zanzibar»" in rows[0]["snippet"]
    lib.vdfs().set_note(entry, "nothing")
    assert lib.query('search "zanzibar"').rows() == []


def test_tags_and_content_text_are_searched(indexed):
    lib, _ = indexed
    row = lib.query('files where name = "invoice.pdf"').rows()[0]
    api = lib.vdfs()
    api.add_tag_to_content(row["content_uuid"], "#quarterly-taxes")
    assert names(lib.query('search "quarterly"')) == ["invoice.pdf"]
    api.set_custom_data(row["content_uuid"], {"ocr": {"text": "Total due 42 EUR"}}, scope="content")
    assert names(lib.query('search "total due"')) == ["invoice.pdf"]
    assert names(lib.query('search \'"due 42"\'')) == ["invoice.pdf"]
    api.remove_tag_from_content(row["content_uuid"], "#quarterly-taxes")
    assert lib.query('search "quarterly"').rows() == []


def test_an_entry_is_gone_from_the_index_right_after_it_is_deleted(indexed):
    lib, root = indexed
    assert names(lib.query('search "voices"')) == ["voices.wav"]
    (root / "voices.wav").unlink()
    lib.index(str(root)).wait(timeout=60)
    assert lib.query('search "voices"').rows() == []
    conn = sqlite3.connect(lib.db_path)
    try:
        assert conn.execute("SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'voices'"
                            ).fetchone()[0] == 0
        conn.execute("INSERT INTO entries_fts(entries_fts, rank) VALUES ('integrity-check', 1)")
    finally:
        conn.close()


def test_a_rename_moves_the_index_row(indexed):
    lib, root = indexed
    (root / "ab.txt").rename(root / "zebra-crossing.txt")
    lib.index(str(root)).wait(timeout=60)
    assert names(lib.query('search "zebra"')) == ["zebra-crossing.txt"]
    assert lib.query('search "ab.t"').rows() == []


def test_the_migration_builds_the_index_of_an_existing_library(tmp_path):
    from core.store import db
    root = make_tree(tmp_path / "tree", NAMES)
    lib = core.Library.create(tmp_path / "old.vdfs")
    lib.index(str(root)).wait(timeout=60)
    entry = lib.query('files where name = "ab.txt"').rows()[0]["uuid"]
    lib.vdfs().set_note(entry, "kilimanjaro")
    lib.close()
    conn = db.connect(tmp_path / "old.vdfs" / "library.db")
    search = next(v for v, sql in db.library_migrations() if "CREATE VIRTUAL TABLE entries_fts" in sql)
    conn.executescript("DROP TABLE entries_fts; DROP TABLE meta_fts; DROP VIEW search_meta_doc;"
                       "DROP VIEW meta_fts_refresh; DROP TABLE search_model_fields;"
                       f"PRAGMA user_version = {search - 1};")
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND "
                                "name LIKE '%fts%'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    assert search == db.latest_library_version()     # the last migration: undone above
    conn.close()
    lib = core.Library.open(tmp_path / "old.vdfs")
    try:
        assert db.schema_version(lib.conn) == db.latest_library_version()
        assert names(lib.query('search "voice"')) != []
        assert names(lib.query('search "kilimanjaro"')) == ["ab.txt"]
    finally:
        lib.close()


WRITER = textwrap.dedent("""
    import sys, core
    lib = core.Library.open(sys.argv[1])
    api = lib.vdfs()
    uuids = [r["uuid"] for r in lib.query("files order by name").rows()]
    for i, u in enumerate(uuids):
        api.set_note(u, f"marker{i}x")
        print(i, u, flush=True)
    lib.close()
""")


def test_never_stale_across_processes(indexed, tmp_path):
    """One process writes notes while another searches: each note is found by the next
    search after its writer committed it, with no refresh step between."""
    lib, _ = indexed
    lib.query('search "marker"')                       # the reader's connection is open first
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(lib.path)],
                            stdout=subprocess.PIPE, text=True)
    seen = 0
    try:
        for line in proc.stdout:
            i, u = line.split()
            rows = lib.query(f'search "marker{i}x"').rows()
            assert [r["uuid"] for r in rows] == [u]
            seen += 1
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == 0 and seen == len(lib.query("files").rows())


@pytest.mark.parametrize("text,at", [('"tax', 0), ("AND", 0), ("tax AND", 6), ("(tax", 0),
                                     ("tax )", 4), ("", 0), ("NOT tax", 0), ("tax OR OR x", 7)])
def test_bad_search_text_is_a_syntax_error_with_a_caret(indexed, text, at):
    lib, _ = indexed
    q = f"files where matches '{text}'"
    with pytest.raises(VdfsSyntaxError) as err:
        lib.query(q)
    assert err.value.pos == q.index("'") + 1 + at
    with pytest.raises(ParameterError):
        lib.query("search :q", q=text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet='ab "()*^ANDORT.é-', max_size=14))
def test_any_search_text_runs_or_is_a_located_error(indexed, text):
    """Whatever is typed, FTS5 never sees what it cannot parse: a raw sqlite3 error is a bug."""
    lib, _ = indexed
    try:
        parse_search(text)
    except VdfsSyntaxError:
        with pytest.raises(ParameterError):
            lib.query("search :q", q=text)
        return
    rows = lib.query("search :q", q=text).rows()
    assert isinstance(rows, list)


def test_rank_without_a_search_is_refused(indexed):
    lib, _ = indexed
    with pytest.raises(VdfsSyntaxError, match="search"):
        lib.query("files order by rank")


def test_search_always_runs_on_sqlite(indexed):
    lib, _ = indexed
    for q in ['search "pdf"', 'files where matches "pdf" order by size desc',
              'files where matches "pdf" group by ext', 'entries where not matches "x.t"']:
        assert lib.explain(q).route == "sqlite"
        assert lib.engine.run(q, route="duckdb").route == "sqlite"


def test_ocr_text_is_found_after_the_ocr_job_runs(lib, tmp_path):
    from PIL import Image, ImageDraw, ImageFont

    from core.extraction import extract_media, ocr_available
    if not ocr_available():
        pytest.skip("OCR is the optional extra 'ocr': pip install rapidocr-onnxruntime")
    scans = tmp_path / "scans"
    scans.mkdir()
    img = Image.new("RGB", (520, 120), "white")
    ImageDraw.Draw(img).text((20, 30), "ZANZIBAR", fill="black",
                             font=ImageFont.load_default(size=48))
    img.save(scans / "scan.png")
    lib.index(lib.add_location(scans)).wait(timeout=60)
    assert lib.query('search "zanzibar"').rows() == []
    assert extract_media(lib, str(scans), ocr=True).wait(timeout=120)["extracted"] == 1
    rows = lib.query('search "zanzibar"').rows()
    assert names(lib.query('search "zanzibar"')) == ["scan.png"]
    assert "«ZANZIBAR»" in rows[0]["snippet"]
    # a prefix of the OCR word, with other clauses
    assert names(lib.query('files of kind image where matches "zanz*" order by rank')) == ["scan.png"]


@pytest.mark.parametrize("where", ['matches "pdf"', 'matches "ab"', 'not matches "voice"',
                                   'matches "inv*" or ext = "md"', 'matches "docs/" and size > 0'])
def test_ranked_and_unranked_forms_find_the_same_entries(indexed, where):
    """Without rank or snippet a search is `id IN (hits)`, with them a join: the same rows."""
    lib, _ = indexed
    plain = lib.query(f"entries where {where} select path")
    ranked = lib.query(f"entries where {where} select path, rank")
    assert "IN (SELECT" in plain.sql and "bm25" not in plain.sql and "bm25" in ranked.sql
    assert sorted(r["path"] for r in plain.rows()) == sorted(r["path"] for r in ranked.rows())


def test_model_fields_that_opt_in_are_searched(indexed):
    from dataclasses import dataclass

    from core.domain.models import model

    @model(version="1.0.0", scope="content", extension_id="com.test.search", search=("caption",))
    @dataclass
    class Caption:
        caption: str = ""
        secret: str = ""

    lib, _ = indexed
    row = lib.query('files where name = "ab.txt"').rows()[0]
    api = lib.vdfs()
    m = Caption(caption="sunset over Lisbon", secret="hidden words")
    api.create_model_for_content(row["content_uuid"], m)
    assert names(lib.query('search "lisbon"')) == ["ab.txt"]
    assert lib.query('search "hidden"').rows() == []            # not opted in
    m.caption = "dawn in Porto"
    api.update_model(m)
    assert lib.query('search "lisbon"').rows() == [] and names(lib.query('search "porto"')) == ["ab.txt"]
    api.delete_model(m)
    assert lib.query('search "porto"').rows() == []


def test_a_search_field_must_be_an_inline_field():
    from dataclasses import dataclass

    from core.domain.models import ModelDefinitionError, model
    with pytest.raises(ModelDefinitionError, match="nope"):
        @model(version="1.0.0", extension_id="com.test.search", search=("nope",))
        @dataclass
        class Bad:
            caption: str = ""


def test_the_builder_twin_of_matches(indexed):
    from vdfs_query import query_files
    lib, _ = indexed
    dsl = lib.query('files where matches "voice" and ext = "pdf" select path')
    built = lib.query(query_files().matches("voice").where("ext", "=", "pdf").select("path"))
    assert dsl.rows() == built.rows() and len(dsl.rows()) == 2
    with pytest.raises(VdfsSyntaxError):
        query_files().matches('"open')

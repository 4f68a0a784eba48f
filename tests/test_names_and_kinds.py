"""Names never trip the indexer, and a content's kind is a function of its bytes.

Paths are stored by one lossless, one-to-one rule (core/indexer/walk.py `stored_text`): valid
UTF-8 without a backslash as is, otherwise `\\` as `\\\\` and undecodable bytes as `\\xNN`.
"""
from __future__ import annotations

import os

from hypothesis import given, settings, strategies as st

from core.indexer.walk import display_path, raw_bytes, stored_text

# a name: any bytes but '/' and NUL, biased towards the ones that matter here
_name_bytes = st.lists(st.one_of(st.sampled_from([b"\\", b"x", b"f", b"\xff", b"\xc3", b"\xa9",
                                                  b"\xed\xa0\x80", "é".encode()]),
                                 st.binary(min_size=1, max_size=3)),
                       min_size=1, max_size=8).map(b"".join).map(
    lambda b: b.replace(b"/", b"").replace(b"\x00", b"") or b"n")


@settings(max_examples=400, deadline=None)
@given(_name_bytes, _name_bytes)
def test_stored_text_is_one_to_one_and_round_trips(a, b):
    ta, tb = stored_text(a), stored_text(b)
    assert raw_bytes(ta) == a and raw_bytes(tb) == b
    assert (ta == tb) == (a == b)
    ta.encode("utf-8")                           # always storable as SQLite TEXT
    assert "/" not in ta and "\x00" not in ta    # a name stays one path component
    # what the walker stores for a name it gets from the OS is the same text
    assert display_path(os.fsdecode(a))[0] == ta


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1).filter(lambda t: "\\" not in t))
def test_utf8_names_without_backslash_are_stored_as_typed(name):
    try:
        raw = name.encode("utf-8")
    except UnicodeEncodeError:       # lone surrogates are not names a disk hands us
        return
    assert stored_text(raw) == name
    assert display_path(name) == (name, None)


def _make(root: bytes, name: bytes, data: bytes) -> None:
    with open(os.path.join(root, name), "wb") as f:
        f.write(data)


def test_escaped_lookalike_names_index_side_by_side(lib, tmp_path):
    """`bad\\xff.txt` (UTF-8) beside `bad<0xff>.txt`, and `a\\b` beside `a\\\\b`: each is its
    own entry, opened through raw_path, and a re-index finds nothing changed."""
    root = tmp_path / "t"
    root.mkdir()
    broot = os.fsencode(root)
    names = {b"bad\\xff.txt": b"utf8 lookalike", b"bad\xff.txt": b"one raw byte",
             b"a\\b": b"one backslash", b"a\\\\b": b"two backslashes", b"plain.txt": b"plain"}
    for name, data in names.items():
        _make(broot, name, data)
    os.mkdir(os.path.join(broot, b"d\\ir\xfe"))
    _make(broot, b"d\\ir\xfe/in.txt", b"inside")
    result = lib.index(root).wait()
    assert result["errors"] == [] and result["skipped"] == []
    rows = {r[0]: r[1:] for r in lib.conn.execute(
        "SELECT path, name, raw_path FROM entries WHERE is_dir = 0")}
    assert len(rows) == len(names) + 1
    for name, data in {**names, b"d\\ir\xfe/in.txt": b"inside"}.items():
        full = os.path.join(broot, name)
        text = stored_text(full)
        stored_name, raw = rows[text]
        assert stored_name == stored_text(os.path.basename(full))
        with open(raw if raw is not None else text, "rb") as f:   # the path for the OS
            assert f.read() == data
        assert (raw is None) == (text == os.fsdecode(full))       # raw_path iff escaped
    assert rows[str(root) + "/plain.txt"][1] is None
    again = lib.index(root).wait()
    assert (again["created"], again["modified"], again["deleted"]) == (0, 0, 0)


def test_old_backslash_rows_are_fixed_by_a_reindex(lib, tmp_path):
    """The old scheme stored a UTF-8 name with a backslash unescaped; a re-index rewrites the
    row to the new text, keeping its uuid (matched as a move by inode)."""
    root = tmp_path / "t"
    root.mkdir()
    (root / "a\\b.txt").write_text("x")
    lib.index(root).wait()
    new_text = str(root) + "/a\\\\b.txt"
    uuid_before = lib.conn.execute("SELECT uuid FROM entries WHERE path = ?",
                                   (new_text,)).fetchone()[0]
    with lib.conn:   # what the old scheme wrote
        lib.conn.execute("UPDATE entries SET path = ?, name = 'a\\b.txt', raw_path = NULL "
                         "WHERE path = ?", (str(root) + "/a\\b.txt", new_text))
    result = lib.index(root).wait()
    assert result["moved"] == 1 and result["errors"] == []
    assert lib.conn.execute("SELECT uuid, name, raw_path FROM entries WHERE path = ?",
                            (new_text,)).fetchone() == (uuid_before, "a\\\\b.txt",
                                                        os.fsencode(root / "a\\b.txt"))


def test_an_entry_that_cannot_be_stored_is_reported_and_the_job_completes(lib, tmp_path):
    """A row SQLite refuses (here a trigger stands for any per-row failure) costs that entry
    and what is inside it, nothing else."""
    root = tmp_path / "t"
    (root / "poison").mkdir(parents=True)
    (root / "poison" / "child.txt").write_text("child")
    for i in range(20):
        (root / f"f{i:02}.txt").write_text(f"file {i}")
    with lib.conn:
        lib.conn.execute("CREATE TRIGGER refuse_poison BEFORE INSERT ON entries "
                         "WHEN NEW.name = 'poison' BEGIN SELECT RAISE(ABORT, 'refused'); END")
    result = lib.index(root, batch_size=8).wait()
    failed = sorted(e["path"] for e in result["errors"])
    assert failed == [str(root / "poison"), str(root / "poison" / "child.txt")]
    assert "refused" in result["errors"][0]["reason"] or "refused" in result["errors"][1]["reason"]
    names = {r[0] for r in lib.conn.execute("SELECT name FROM entries")}
    assert names == {"t"} | {f"f{i:02}.txt" for i in range(20)}
    assert lib.conn.execute("SELECT count(*) FROM entries WHERE content_id IS NULL "
                            "AND is_dir = 0").fetchone()[0] == 0
    assert lib.conn.execute("SELECT size, child_count FROM entries WHERE name = 't'"
                            ).fetchone() == (sum(len(f"file {i}") for i in range(20)), 20)


# ---- content kind is a function of the bytes -------------------------------------------------
def _content_of(lib, name):
    return lib.conn.execute(
        "SELECT c.content_hash, c.kind, c.mime_type FROM entries e "
        "JOIN content_identities c ON c.id = e.content_id WHERE e.name = ?", (name,)).fetchone()


def test_content_kind_does_not_depend_on_which_copy_came_first(lib, tmp_path):
    """notes.rst renamed notes.gz used to keep `text` while a fresh index said `archive`:
    now both say what the bytes say, whatever the names and the order."""
    text = b"Title\n=====\n\nplain reStructuredText words\n" * 3
    a = tmp_path / "a"
    a.mkdir()
    (a / "notes.rst").write_bytes(text)
    lib.index(a).wait()
    first = _content_of(lib, "notes.rst")
    (a / "notes.rst").rename(a / "notes.gz")
    lib.index(a).wait()
    renamed = _content_of(lib, "notes.gz")
    import core
    fresh_lib = core.Library.create(tmp_path / "fresh.vdfs")
    try:
        fresh_lib.index(a).wait()
        fresh = _content_of(fresh_lib, "notes.gz")
        fresh_entry_kind = fresh_lib.conn.execute(
            "SELECT kind FROM entries WHERE name = 'notes.gz'").fetchone()[0]
    finally:
        fresh_lib.close()
    assert first == renamed == fresh
    assert first[1:] == ("text", "text/plain")
    assert fresh_entry_kind == "archive"     # the entry's kind still follows its name's promise


def test_a_reindex_recomputes_kinds_written_by_the_old_rule(lib, tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    (root / "photo.dat").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (root / "notes.py").write_text("print('hello')\n")
    lib.index(root).wait()
    with lib.conn:   # rows as a history-dependent rule wrote them
        lib.conn.execute("UPDATE content_identities SET kind = 'archive', "
                         "mime_type = 'application/gzip', kind_rule = 0")
    lib.index(root).wait()
    assert _content_of(lib, "photo.dat")[1:] == ("image", "image/png")
    assert _content_of(lib, "notes.py")[1:] == ("text", "text/plain")
    assert lib.conn.execute("SELECT count(*) FROM content_identities WHERE kind_rule = 0"
                            ).fetchone()[0] == 0


def test_content_type_ignores_names_by_construction():
    from core.content import kinds
    assert kinds.content_type(b"PK\x03\x04" + bytes(40)) == ("archive", "application/zip")
    assert kinds.content_type(b"#!/bin/sh\n") == ("code", "text/x-script")
    assert kinds.content_type("naïve text\n".encode()) == ("text", "text/plain")
    assert kinds.content_type(b"\x00\x01binary") == ("other", None)
    assert kinds.content_type(b"\x1f\x8b\x08\x00") == ("archive", "application/gzip")


def test_actions_reach_the_file_an_escaped_name_stands_for(lib, tmp_path):
    """Rename and delete (then undo) of entries whose stored text is not their name on disk:
    a UTF-8 name with a backslash, a non-UTF-8 name, and a file inside such a folder."""
    import uuid as _uuid
    from core.actions import ActionContext
    root = tmp_path / "t"
    root.mkdir()
    broot = os.fsencode(root)
    _make(broot, b"a\\b.txt", b"backslash")
    _make(broot, b"bad\xff.txt", b"raw byte")
    os.mkdir(os.path.join(broot, b"dir\xfe"))
    _make(broot, b"dir\xfe/in\\side.txt", b"inside")
    lib.index(root).wait()

    def entry(raw_name: bytes):
        return _uuid.UUID(bytes=lib.conn.execute(
            "SELECT uuid FROM entries WHERE path = ?",
            (stored_text(os.path.join(broot, raw_name)),)).fetchone()[0])

    ctx = ActionContext(lib)
    done = lib.actions.commit(lib.actions.preview_changes("tidy", [
        ctx.rename(entry(b"a\\b.txt"), "renamed.txt"), ctx.delete(entry(b"bad\xff.txt"))]))
    assert (root / "renamed.txt").read_bytes() == b"backslash"
    assert not os.path.lexists(os.path.join(broot, b"bad\xff.txt"))
    lib.actions.undo(done.audit_id)
    assert open(os.path.join(broot, b"bad\xff.txt"), "rb").read() == b"raw byte"
    assert open(os.path.join(broot, b"a\\b.txt"), "rb").read() == b"backslash"
    lib.actions.commit(lib.actions.preview_changes("folder", [ctx.rename(entry(b"dir\xfe"), "clean")]))
    raw = lib.conn.execute("SELECT raw_path FROM entries WHERE name = ?",
                           (stored_text(b"in\\side.txt"),)).fetchone()[0]
    assert open(raw, "rb").read() == b"inside"
    again = lib.index(root).wait()
    assert (again["created"], again["deleted"], again["errors"]) == (0, 0, [])


def test_a_move_that_cannot_be_stored_keeps_the_old_row_and_its_tags(lib, tmp_path):
    root = tmp_path / "t"
    (root / "old").mkdir(parents=True)
    (root / "old" / "keep.txt").write_text("tagged")
    lib.index(root).wait()
    u = lib.conn.execute("SELECT uuid FROM entries WHERE name = 'keep.txt'").fetchone()[0]
    lib.vdfs().add_tag_to_entry(u, "#kept")
    (root / "new").mkdir()
    (root / "old" / "keep.txt").rename(root / "new" / "poison.txt")
    (root / "old").rmdir()                       # the old folder is gone from disk
    with lib.conn:
        lib.conn.execute("CREATE TRIGGER refuse_poison BEFORE UPDATE ON entries "
                         "WHEN NEW.name = 'poison.txt' BEGIN SELECT RAISE(ABORT, 'no'); END")
    result = lib.index(root).wait()
    assert [e["path"] for e in result["errors"]] == [str(root / "new" / "poison.txt")]
    assert lib.conn.execute("SELECT path FROM entries WHERE uuid = ?", (u,)).fetchone() == \
        (str(root / "old" / "keep.txt"),)                     # kept, with the folder above it
    with lib.conn:
        lib.conn.execute("DROP TRIGGER refuse_poison")
    again = lib.index(root).wait()
    assert again["errors"] == [] and again["moved"] == 1
    assert lib.conn.execute("SELECT path FROM entries WHERE uuid = ?", (u,)).fetchone() == \
        (str(root / "new" / "poison.txt"),)
    assert [t.name for t in lib.vdfs().tags_of_entry(u)] == ["#kept"]


def test_content_type_knows_common_media_without_a_header_tag():
    """Bytes alone must carry the kinds people ask for most: MP3 without ID3, AAC, MPEG."""
    from core.content import kinds
    assert kinds.content_type(b"\xff\xfb\x90\x64" + bytes(60)) == ("audio", "audio/mpeg")
    assert kinds.content_type(b"\xff\xf1\x50\x80" + bytes(60)) == ("audio", "audio/aac")
    assert kinds.content_type(b"\x00\x00\x01\xba\x44" + bytes(60)) == ("video", "video/mpeg")
    ts = bytearray(512)
    ts[0] = ts[188] = ts[376] = 0x47
    assert kinds.content_type(bytes(ts)) == ("video", "video/mp2t")
    # non-specific: they name an entry only when its extension says nothing
    assert kinds.detect(None, b"\xff\xfb\x90\x64") == ("audio", "audio/mpeg")
    assert kinds.detect("txt", b"\xff\xfb\x90\x64") == ("text", "text/plain")
    assert kinds.detect("jpg", b"\xff\xd8\xff\xe0")[0] == "image"


def test_kind_refresh_does_not_block_on_a_copy_that_became_a_fifo(lib, tmp_path):
    from core.indexer.content import refresh_kinds
    from fifo_support import run_beside_fifo
    root = tmp_path / "r"
    root.mkdir()
    (root / "a.bin").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    lib.index(root).wait()
    loc = lib.conn.execute("SELECT location_id FROM entries WHERE name = 'a.bin'").fetchone()[0]
    with lib.conn:
        lib.conn.execute("UPDATE content_identities SET kind_rule = 0")
    (root / "a.bin").unlink()
    os.mkfifo(root / "a.bin")        # no writer: a blocking open would wait forever
    fixed = run_beside_fifo(lambda: refresh_kinds(lib.conn, loc, str(root), True),
                            root / "a.bin")
    assert fixed == 0                # no regular copy to read: the row waits for next time

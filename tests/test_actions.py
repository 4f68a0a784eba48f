"""Actions: preview changes nothing, commit applies exactly the preview, a stale preview is
refused, a failed verification rolls back (disk included), undo restores the prior state."""
from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from core.actions import (ActionError, Change, StaleActionError, VerificationFailed, action,
                          action_execute)
from core.domain.models import model


@pytest.fixture
def tree(lib, tmp_path):
    """A real folder, indexed by the real indexer: data/{a.txt, b.jpg, sub/c.txt, dest/}."""
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    (root / "dest").mkdir()
    (root / "a.txt").write_text("alpha")
    (root / "b.jpg").write_bytes(b"\xff\xd8\xff" + b"j" * 50)
    (root / "sub" / "c.txt").write_text("gamma")
    lib.index(lib.add_location(root)).wait(60)
    return root


def uid(lib, name):
    return uuid.UUID(bytes=lib.conn.execute("SELECT uuid FROM entries WHERE name=?",
                                            (name,)).fetchone()[0])


def snapshot(lib, root):
    """Library rows that actions touch, plus every file on disk with its bytes."""
    conn = lib.conn
    dump = {}
    for table, order in (("entries", "id"), ("user_metadata", "id"), ("tag_links", "metadata_id"),
                         ("models", "id")):
        dump[table] = [tuple(r) for r in conn.execute(
            f"SELECT * FROM {table} ORDER BY {order}")]
    # a re-applied tag or note gets a new time stamp; everything else must be equal
    dump["user_metadata"] = [r[:9] for r in dump["user_metadata"]]   # minus updated_at
    dump["tag_links"] = [r[:3] for r in dump["tag_links"]]           # minus applied_at
    files = {}
    for dirpath, dirs, names in os.walk(root):
        for d in dirs:
            files[os.path.join(dirpath, d)] = "dir"
        for n in names:
            p = os.path.join(dirpath, n)
            files[p] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    dump["files"] = files
    return dump


def test_preview_changes_nothing_and_commit_applies_exactly_it(lib, tree):
    ctx = lib.actions.context()
    a, sub = uid(lib, "a.txt"), uid(lib, "sub")
    before = snapshot(lib, tree)
    p = lib.actions.preview_changes("tidy", [
        ctx.add_tag(a, "#Keep"), ctx.set_note(a, "first file"),
        ctx.move(sub, tree / "dest" / "sub"), ctx.rename(uid(lib, "b.jpg"), "photo.jpg")])
    assert snapshot(lib, tree) == before                     # preview changed nothing
    assert [c.kind for c in p.changes] == ["add_tag", "set_note", "move", "rename"]
    assert p.changes[0].after == "#keep" and p.changes[1].before is None
    assert "tidy (4 change(s), reversible)" in str(p)

    result = lib.actions.commit(p)
    conn = lib.conn
    assert [t.name for t in lib.vdfs().tags_of_entry(a)] == ["#keep"]
    assert lib.vdfs().get_metadata(a).notes == "first file"
    moved = dict(conn.execute("SELECT name, path FROM entries WHERE name IN "
                              "('sub', 'c.txt', 'photo.jpg')"))
    assert moved == {"sub": f"{tree}/dest/sub", "c.txt": f"{tree}/dest/sub/c.txt",
                     "photo.jpg": f"{tree}/photo.jpg"}
    parent = conn.execute("SELECT p.name FROM entries e JOIN entries p ON p.id = e.parent_id "
                          "WHERE e.name='sub'").fetchone()[0]
    assert parent == "dest"
    assert (tree / "dest" / "sub" / "c.txt").read_text() == "gamma"
    assert not (tree / "sub").exists() and (tree / "photo.jpg").exists()
    ext = conn.execute("SELECT ext FROM entries WHERE name='photo.jpg'").fetchone()[0]
    assert ext == "jpg"
    # nothing else changed: every other entry row is as it was
    others = lambda snap: [r for r in snap["entries"] if r[6] in ("data", "a.txt", "dest")]
    assert others(snapshot(lib, tree)) == others(before)
    [row] = lib.actions.log()
    assert (row["id"], row["outcome"], row["actor"], row["changes"]) == \
        (result.audit_id, "committed", "user", 4)
    stored = json.loads(conn.execute("SELECT preview FROM audit_log").fetchone()[0])
    assert [c["kind"] for c in stored["changes"]] == ["add_tag", "set_note", "move", "rename"]
    with pytest.raises(ActionError, match="already committed"):
        lib.actions.commit(p)


def test_undo_restores_the_prior_state_including_moved_and_deleted_files(lib, tree):
    ctx = lib.actions.context()
    a, sub = uid(lib, "a.txt"), uid(lib, "sub")
    lib.vdfs().add_tag_to_entry(a, "#old")
    before = snapshot(lib, tree)
    p = lib.actions.preview_changes("shuffle", [
        ctx.remove_tag(a, "#old"), ctx.add_tag(a, "#new"), ctx.set_note(a, "n"),
        ctx.move(sub, f"{tree}/dest/moved"), ctx.delete(a)])
    result = lib.actions.commit(p)
    assert not (tree / "a.txt").exists() and (tree / "dest" / "moved" / "c.txt").exists()
    trash = p.changes[-1].after
    assert trash.startswith(f"{lib.path}/trash/") and open(trash).read() == "alpha"
    assert lib.conn.execute("SELECT count(*) FROM entries WHERE name='a.txt'").fetchone()[0] == 0

    undone = lib.actions.undo(result.audit_id)
    assert snapshot(lib, tree) == before
    assert [t.name for t in lib.vdfs().tags_of_entry(a)] == ["#old"]
    assert not os.path.exists(trash)
    log = {r["id"]: r for r in lib.actions.log()}
    assert log[result.audit_id]["outcome"] == "undone" and log[result.audit_id]["undone_at"]
    assert log[undone.audit_id]["action"] == "undo:shuffle"
    with pytest.raises(ActionError, match="already undone"):
        lib.actions.undo(result.audit_id)
    lib.actions.undo(undone.audit_id)                               # undoing the undo redoes it
    assert (tree / "dest" / "moved" / "c.txt").exists() and not (tree / "a.txt").exists()


def test_stale_preview_is_refused_naming_the_targets(lib, tree):
    ctx = lib.actions.context()
    a, b, sub = uid(lib, "a.txt"), uid(lib, "b.jpg"), uid(lib, "sub")
    p = lib.actions.preview_changes("stale", [ctx.add_tag(a, "#x"), ctx.add_tag(b, "#y"),
                                       ctx.move(sub, f"{tree}/dest/sub")])
    lib.vdfs().set_note(a, "someone else wrote this")        # a changed in the library
    lib.conn.execute("UPDATE entries SET mtime_ns = 1 WHERE name='sub'")   # a re-index saw it
    before = snapshot(lib, tree)
    with pytest.raises(StaleActionError) as err:
        lib.actions.commit(p)
    assert set(err.value.conflicts) == {f"entry:{a}", f"entry:{sub}"}
    assert "a.txt" in str(err.value) and "changed" in str(err.value)
    assert snapshot(lib, tree) == before                      # nothing applied, not even b's tag
    assert lib.actions.log()[0]["outcome"] == "refused"


def test_vanished_target_is_named(lib, tree):
    ctx = lib.actions.context()
    c = uid(lib, "c.txt")
    p = lib.actions.preview_changes("gone", [ctx.rename(c, "renamed.txt")])
    lib.conn.execute("DELETE FROM entries WHERE name='c.txt'")
    with pytest.raises(StaleActionError, match=r"c\.txt\) vanished"):
        lib.actions.commit(p)


def test_failed_verification_rolls_back_everything_including_disk(lib, tree):
    ctx = lib.actions.context()
    a, sub = uid(lib, "a.txt"), uid(lib, "sub")
    p = lib.actions.preview_changes("sabotaged", [ctx.move(sub, f"{tree}/dest/sub"),
                                           ctx.add_tag(a, "#x")])
    before = snapshot(lib, tree)
    # another writer on this connection silently undoes every tag link as it is made
    lib.conn.execute("CREATE TEMP TRIGGER eat_tags AFTER INSERT ON tag_links BEGIN "
                     "DELETE FROM tag_links WHERE rowid = NEW.rowid; END")
    with pytest.raises(VerificationFailed, match="lacks tag #x") as err:
        lib.actions.commit(p)
    lib.conn.execute("DROP TRIGGER eat_tags")
    assert snapshot(lib, tree) == before                      # the folder move was undone too
    assert (tree / "sub" / "c.txt").exists()
    row = lib.actions.log()[0]
    assert row["outcome"] == "verify_failed" and row["id"] == err.value.audit_id


# ---- registered actions with @action / @action_execute ----------------------------------
@action(name="test.tag_texts")
def tag_texts(ctx, tag: str):
    rows = ctx.lib.conn.execute("SELECT uuid FROM entries WHERE ext='txt' ORDER BY path")
    return ctx.preview(f"Tag text files {tag}", [ctx.add_tag(u, tag) for (u,) in rows])


@action(name="test.greedy")
def greedy(ctx):
    return [ctx.add_tag(u, "#a") for (u,) in ctx.lib.conn.execute(
        "SELECT uuid FROM entries WHERE name='a.txt'")]


@action_execute(greedy)
def greedy_execute(ctx, p):
    ctx.apply_all()
    ctx.apply(Change("add_tag", p.changes[0].target, after="#sneaky"))


def test_registered_action_previews_commits_and_undoes(lib, tree):
    events = []
    lib.events.subscribe(events.append, kinds="tag.added")
    p = lib.actions.preview("test.tag_texts", tag="#text")
    assert p.action == "test.tag_texts" and p.args == {"tag": "#text"}
    assert len(p.changes) == 2 and events == []
    res = lib.actions.commit(p, actor="com.example.ext")
    assert len(events) == 2                                   # published after commit
    assert lib.actions.log()[0]["actor"] == "com.example.ext"
    tagged = lib.conn.execute("SELECT count(*) FROM tag_links").fetchone()[0]
    assert tagged == 2
    lib.actions.undo(res.audit_id)
    assert lib.conn.execute("SELECT count(*) FROM tag_links").fetchone()[0] == 0


def test_execute_may_not_apply_changes_outside_the_preview(lib, tree):
    p = lib.actions.preview(greedy)
    with pytest.raises(ActionError, match="not in the preview"):
        lib.actions.commit(p)
    assert lib.conn.execute("SELECT count(*) FROM tag_links").fetchone()[0] == 0


@model(version="1.0.0", scope="standalone", name="ActionNote")
@dataclass
class ActionNote:
    text: str
    id: uuid.UUID | None = None


def test_create_model_and_its_undo(lib, tree):
    ctx = lib.actions.context()
    p = lib.actions.preview_changes("new note", [ctx.create_model(ActionNote(text="hi"))])
    assert lib.conn.execute("SELECT count(*) FROM models").fetchone()[0] == 0
    res = lib.actions.commit(p)
    mu = uuid.UUID(p.changes[0].target[6:])
    got = lib.vdfs().get_model(ActionNote, mu)
    assert got.text == "hi"
    lib.actions.undo(res.audit_id)
    assert lib.conn.execute("SELECT count(*) FROM models").fetchone()[0] == 0


def test_bad_changes_are_refused_at_preview(lib, tree):
    ctx = lib.actions.context()
    a, sub = uid(lib, "a.txt"), uid(lib, "sub")
    with pytest.raises(ActionError, match="already exists"):
        ctx.move(a, tree / "b.jpg")
    with pytest.raises(ActionError, match="into itself"):
        ctx.move(sub, tree / "sub" / "inner")
    with pytest.raises(ActionError, match="not inside a location"):
        ctx.move(a, "/definitely/elsewhere/a.txt")
    with pytest.raises(ActionError, match="one path component"):
        ctx.rename(a, "x/y")
    with pytest.raises(ActionError, match="has no tag"):
        ctx.remove_tag(a, "#absent")
    with pytest.raises(ActionError, match="no entry"):
        ctx.add_tag(uuid.uuid4(), "#x")
    with pytest.raises(ActionError, match="location root"):
        ctx.delete(uid(lib, "data"))
    with pytest.raises(ActionError, match="unknown change kind"):
        Change("explode", f"entry:{a}")
    with pytest.raises(ActionError, match="no action registered"):
        lib.actions.preview("nope")
    with pytest.raises(ActionError, match="no audit log entry"):
        lib.actions.undo(999)
    with pytest.raises(ActionError, match="target must look like"):
        Change("add_tag", "file:/x")


def test_deleting_a_tagged_folder_and_undoing_it_brings_back_every_row(lib, tree):
    ctx = lib.actions.context()
    c, sub = uid(lib, "c.txt"), uid(lib, "sub")
    lib.vdfs().add_tag_to_entry(c, "#inside")
    lib.vdfs().set_note(sub, "folder note")
    before = snapshot(lib, tree)
    res = lib.actions.commit(lib.actions.preview_changes("drop folder", [ctx.delete(sub)]))
    assert not (tree / "sub").exists()
    assert lib.conn.execute("SELECT count(*) FROM entries WHERE path LIKE ?",
                            (f"{tree}/sub%",)).fetchone()[0] == 0
    assert lib.conn.execute("SELECT count(*) FROM tag_links").fetchone()[0] == 0
    lib.actions.undo(res.audit_id)
    assert snapshot(lib, tree) == before
    assert [t.name for t in lib.vdfs().tags_of_entry(c)] == ["#inside"]


def test_undo_is_refused_when_the_target_changed_since(lib, tree):
    ctx = lib.actions.context()
    a = uid(lib, "a.txt")
    res = lib.actions.commit(lib.actions.preview_changes("rename a", [ctx.rename(a, "a2.txt")]))
    lib.vdfs().add_tag_to_entry(a, "#later")                 # someone touched it afterwards
    with pytest.raises(StaleActionError, match=r"a2\.txt\) changed"):
        lib.actions.undo(res.audit_id)
    assert (tree / "a2.txt").exists()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["a.txt", "b.jpg", "c.txt", "sub"]),
                          st.sampled_from(["add", "remove", "note"]),
                          st.sampled_from(["#red", "#blue", "#green"])),
                min_size=1, max_size=8))
def test_any_mix_of_tag_and_note_changes_commits_and_undoes_exactly(lib, tree, ops):
    ctx = lib.actions.context()
    before = snapshot(lib, tree)
    changes, tags = [], {}
    for name, op, tag in ops:
        u = uid(lib, name)
        have = tags.setdefault(name, set())
        if op == "add" and tag not in have:
            changes.append(ctx.add_tag(u, tag))
            have.add(tag)
        elif op == "remove" and tag in have:
            changes.append(Change("remove_tag", f"entry:{u}", before=tag))
            have.discard(tag)
        elif op == "note":
            changes.append(ctx.set_note(u, f"note {tag}"))
    if not changes:
        return
    res = lib.actions.commit(lib.actions.preview_changes("mix", changes))
    for name, want in tags.items():
        assert {t.name for t in lib.vdfs().tags_of_entry(uid(lib, name))} == want
    lib.actions.undo(res.audit_id)
    after = snapshot(lib, tree)
    # undo leaves (possibly empty) metadata rows behind; their tags and notes are as before
    assert after["tag_links"] == before["tag_links"] and after["entries"] == before["entries"]
    assert all(r[4] is None for r in after["user_metadata"])


def test_content_and_model_targets(lib, tree):
    ctx = lib.actions.context()
    (content,) = lib.conn.execute("SELECT c.uuid FROM entries e JOIN content_identities c "
                                  "ON c.id = e.content_id WHERE e.name='a.txt'").fetchone()
    mu = lib.vdfs().create_model(ActionNote(text="m"))
    p = lib.actions.preview_changes("meta", [ctx.add_tag(content, "#shared", scope="content"),
                                      ctx.set_note(content, "every copy", scope="content"),
                                      ctx.add_tag(mu, "#modeltag", scope="model")])
    assert [c.target.split(":")[0] for c in p.changes] == ["content", "content", "model"]
    res = lib.actions.commit(p)
    a = uid(lib, "a.txt")
    assert "#shared" in [t.name for t in lib.vdfs().tags_of_entry(a)]   # shown on the copy
    assert [t.name for t in lib.vdfs().tags_of_model(mu)] == ["#modeltag"]
    lib.actions.undo(res.audit_id)
    assert [t.name for t in lib.vdfs().tags_of_entry(a)] == []
    assert lib.vdfs().tags_of_model(mu) == []
    assert lib.vdfs().get_metadata(uuid.UUID(bytes=content), scope="content").notes is None

"""The notebook widgets against a real library: action preview/commit/undo, install, views."""
from __future__ import annotations

import uuid

import pytest

from kernel_ext import session

from magics_support import indexed_shell, run


@pytest.fixture
def ip(tmp_path):
    data = tmp_path / "data"
    (data / "notes").mkdir(parents=True)
    for name in ("a.txt", "b.txt"):
        (data / "notes" / name).write_text(name)
    (data / "c.py").write_text("pass")
    with indexed_shell(tmp_path) as sh:
        yield sh


def _tags(lib, name):
    (u,) = lib.conn.execute("SELECT uuid FROM entries WHERE name = ?", (name,)).fetchone()
    return [t.tag.name if hasattr(t, "tag") else getattr(t, "name", str(t))
            for t in lib.vdfs().tags_of_entry(uuid.UUID(bytes=u))]


def test_preview_lists_changes_by_name_and_changes_nothing(ip):
    panel = run(ip, '%vdfs preview test.tag_kind kind=text tag="#todo"')
    assert panel.text().splitlines() == [
        "preview: Tag text files #todo (2 changes, reversible)",
        "  - add_tag notes/a.txt: #todo",
        "  - add_tag notes/b.txt: #todo",
        "pending: Commit applies the changes, Discard drops them"]
    assert _tags(session.library(), "a.txt") == []
    assert not panel._commit.disabled and panel._undo.disabled


def test_commit_button_applies_and_verifies_then_undo_reverts(ip):
    lib = session.library()
    panel = run(ip, "%vdfs preview test.tag_kind kind=text")
    panel._commit.click()
    assert panel.state == "committed"
    assert panel.text().endswith("committed and verified: 2 changes applied")
    assert len(_tags(lib, "a.txt")) == 1 and _tags(lib, "c.py") == []
    assert panel._commit.disabled and not panel._undo.disabled
    panel._undo.click()
    assert panel.state == "undone"
    assert _tags(lib, "a.txt") == [] and _tags(lib, "b.txt") == []


def test_discard_changes_nothing(ip):
    panel = run(ip, "%vdfs preview test.tag_kind kind=text")
    panel._discard.click()
    assert panel.text().endswith("discarded: nothing was changed")
    panel.commit()  # a discarded preview cannot be committed later
    assert _tags(session.library(), "a.txt") == []


def test_stale_preview_is_refused_with_a_message(ip):
    lib = session.library()
    panel = run(ip, "%vdfs preview test.tag_kind kind=text")
    (u,) = lib.conn.execute("SELECT uuid FROM entries WHERE name = 'a.txt'").fetchone()
    lib.vdfs().add_tag_to_entry(uuid.UUID(bytes=u), "#other")
    panel._commit.click()
    assert panel.state == "failed"
    assert "stale" in panel.text().splitlines()[-1]
    assert len(_tags(lib, "b.txt")) == 0


def test_preview_of_a_python_preview_object(ip):
    from core.actions import Change
    lib = session.library()
    (u,) = lib.conn.execute("SELECT uuid FROM entries WHERE name = 'c.py'").fetchone()
    ip.user_ns["p"] = lib.actions.preview_changes("Note it", [Change("set_note", f"entry:{uuid.UUID(bytes=u)}",
                                                               before=None, after="check")])
    panel = run(ip, "%vdfs preview :p")
    assert panel.text().splitlines()[1] == "  - set_note c.py: check"


def test_unknown_action_is_a_short_error(ip):
    from kernel_ext.errors import VdfsQueryError
    with pytest.raises(VdfsQueryError, match="no action registered as 'nope'"):
        run(ip, "%vdfs preview nope")

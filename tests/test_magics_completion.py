"""Tab completion inside %vdfs lines and %%vdfs cells, against a real indexed library."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from kernel_ext import session
from kernel_ext.params import bind_params, param_refs

from magics_support import complete, indexed_shell


@pytest.fixture
def ip(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text("alpha")
    (data / "b.py").write_text("print(1)")
    with indexed_shell(tmp_path) as sh:
        yield sh


def test_keywords_sources_and_fields(ip):
    assert complete(ip, "%vdfs entries wh") == ["where"]
    assert complete(ip, "%vdfs ent") == ["entries"]
    assert complete(ip, "%vdfs entries where si") == ["size"]
    assert "content_hash" in complete(ip, "%vdfs entries where content_h")
    assert "desc" in complete(ip, "%vdfs entries order by size de")


def test_cell_body_completion_uses_the_whole_cell(ip):
    cell = "%%vdfs --limit 5\nentries of kind text\nwhere mod"
    assert "modified" in complete(ip, cell)
    # the flags line of a cell magic is not a query
    assert "where" not in complete(ip, "%%vdfs --li")


def test_kinds_after_kind(ip):
    assert complete(ip, "%vdfs entries of kind im") == ["image"]
    assert {"text", "code"} <= set(complete(ip, "%vdfs entries of kind "))


def test_tag_names_from_the_library(ip):
    lib = session.library()
    entry = lib.conn.execute("SELECT uuid FROM entries WHERE name = 'a.txt'").fetchone()[0]
    import uuid
    lib.vdfs().add_tag_to_entry(uuid.UUID(bytes=entry), "vacation")
    assert complete(ip, "%vdfs entries tagged vac") == ["vacation"]
    assert complete(ip, "%vdfs entries where #va") == ["#vacation"]


def test_parameters_from_the_namespace(ip):
    ip.user_ns["min_size"] = 3
    assert complete(ip, "%vdfs entries where size > :min_s") == [":min_size"]


def test_completion_position_is_the_fragment(ip):
    from IPython.core.completer import provisionalcompleter
    text = "%vdfs entries where si"
    with provisionalcompleter():
        comps = list(ip.Completer.completions(text, len(text)))
    assert [(c.start, c.end, c.text) for c in comps] == [(len(text) - 2, len(text), "size")]


def test_not_a_vdfs_line_is_left_alone(ip):
    assert "size" not in complete(ip, "x = si")


names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
# no quotes (strings), no colon (parameters) and no "-" (a `--` comment hides what follows)
plain = st.text(alphabet=st.characters(blacklist_characters="'\":\n\\-", blacklist_categories=("Cs",)),
                max_size=20)


@given(names, plain, plain)
def test_param_refs_find_names_outside_strings(name, before, after):
    text = f"{before} :{name} {after}"
    refs = param_refs(text)
    assert (name, 1, len(before) + 2) in refs
    assert bind_params(text, {name: 7}) [name] == 7


@given(names, plain)
def test_param_refs_ignore_names_inside_strings(name, filler):
    assert param_refs(f"entries where name = ':{name}{filler}'") == []
    assert param_refs(f'entries where name = "x :{name}"') == []
    assert param_refs(f"entries where size > 1 -- :{name}{filler}") == []


def test_every_subcommand_the_magic_runs_is_offered(ip):
    """The completer's list and the magic's dispatch table are one set: a new sub-command
    (sync, devices, search) is offered as soon as `%vdfs` runs it."""
    from kernel_ext.magics import VdfsMagics
    runs = set(VdfsMagics(shell=ip).commands)
    offered = {c for c in complete(ip, "%vdfs ") if c in runs or c.isalpha()}
    assert runs <= offered
    assert complete(ip, "%vdfs sea") == ["search"]
    assert "devices" in complete(ip, "%vdfs dev")
    assert complete(ip, "%vdfs sync ") == ["export", "import", "pair", "serve", "stop", "with"]
    assert complete(ip, "%vdfs sync im") == ["import"]


def test_flags_offered_are_the_flags_each_subcommand_takes(ip):
    """`%vdfs index x --` offers what `%vdfs index` accepts (not only --wait, its default)."""
    assert complete(ip, "%vdfs index data --") == ["--wait", "--no-wait", "--background"]
    assert complete(ip, "%vdfs jobs --") == ["--watch"]
    assert complete(ip, "%vdfs install extensions/photos --") == ["--yes"]
    assert complete(ip, "%vdfs usage --d") == ["--depth"]
    assert complete(ip, "%vdfs open x.vdfs --") == ["--create"]
    assert complete(ip, "%vdfs search --") == ["--limit"]


def test_a_search_with_a_query_after_its_text_completes_the_query(ip):
    """`%vdfs search "…" where …` is a query: its fields and kinds complete as in one (the
    search command's flags only where a flag is being typed)."""
    assert complete(ip, '%vdfs search "alpha" where si') == ["size"]
    assert complete(ip, '%vdfs search "alpha" of kind im') == ["image"]
    assert complete(ip, "%vdfs search alpha --") == ["--limit"]


def test_sync_actions_offer_their_own_flags(ip):
    assert complete(ip, "%vdfs sync import bundle.vdfsb --") == ["--join"]
    assert complete(ip, "%vdfs sync with https://peer --") == ["--code", "--cafile"]
    assert complete(ip, "%vdfs sync serve --") == ["--port"]

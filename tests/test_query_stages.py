"""The compiler's shape: each dialect is a class overriding only what its engine spells
differently, node methods are chosen by node type, and `:param` discovery and keywords have one
home. Real Lark, real catalog, real SQL text from both generators."""
from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from vdfs_query import compile, ir
from vdfs_query.dialects import DIALECTS, DuckDBDialect, SQLiteDialect, generate
from vdfs_query.lower import lower
from vdfs_query.parser import parse
from vdfs_query.sqlgen import SqlGen

ROOT = Path(__file__).resolve().parent.parent


def test_dialects_are_classes_named_by_their_string():
    assert DIALECTS == {"sqlite": SQLiteDialect, "duckdb": DuckDBDialect}
    q = lower(parse('files where name = "a" and size > 1 offset 2'))
    for name, cls in DIALECTS.items():
        assert issubclass(cls, SqlGen)
        t = generate(q, name)
        assert t.dialect == name
        assert t.sql == cls(q).build().sql
    assert "LIMIT -1" in generate(q, "sqlite").sql
    assert "LIMIT -1" not in generate(q, "duckdb").sql


def test_an_unknown_dialect_is_a_clear_error():
    q = lower(parse("files"))
    with pytest.raises(ValueError, match=r"unknown dialect 'postgres' \(use 'sqlite' or 'duckdb'\)"):
        generate(q, "postgres")
    with pytest.raises(ValueError, match="unknown dialect"):
        compile("files", "mysql")


def test_the_shared_generator_never_asks_which_dialect_it_is():
    text = "".join((ROOT / "vdfs_query" / f).read_text() for f in ("sqlgen.py", "predicates.py"))
    assert not re.search(r"""["'](sqlite|duckdb)["']""", text)
    assert "self.d " not in text and "self.d=" not in text


def test_a_dialect_overrides_only_hooks_of_the_shared_generator():
    """Every method a dialect defines exists on SqlGen (an override, not new SQL of its own)."""
    for cls in DIALECTS.values():
        own = {n for n, v in vars(cls).items() if inspect.isfunction(v)}
        assert own and own <= set(dir(SqlGen)), own - set(dir(SqlGen))


@pytest.mark.parametrize("text, sqlite, duckdb", [
    ('files where name =~ "a"', "vdfs_regexp(", "regexp_matches("),
    ("files select sum(size) as s", "sum(", "CAST(sum("),
    ("files select modified", "e.mtime_ns AS", "make_timestamp("),
])
def test_each_dialect_spells_its_own_difference(text, sqlite, duckdb):
    q = lower(parse(text))
    assert sqlite in generate(q, "sqlite").sql
    assert duckdb in generate(q, "duckdb").sql
    assert "make_timestamp(" not in generate(q, "sqlite").sql


def test_a_big_list_travels_as_one_value_in_each_dialects_way():
    q = lower(parse("files where ext in (:exts)"))
    ptypes = {"exts": ("list", 100)}
    assert "json_each(" in generate(q, "sqlite", ptypes).sql
    assert "list_contains(" in generate(q, "duckdb", ptypes).sql
    assert len(generate(q, "sqlite", ptypes).slots) == 1


# ---- one error class per stage ------------------------------------------------------------------
def test_a_missing_parameter_is_a_parameter_error_not_a_syntax_error():
    from vdfs_query import ParameterError, QueryError, VdfsError, VdfsSyntaxError
    with pytest.raises(ParameterError) as e:
        compile("files where size > :n", params={})
    assert not isinstance(e.value, VdfsSyntaxError)
    assert isinstance(e.value, VdfsError) and isinstance(e.value, QueryError)
    assert (e.value.line, e.value.column) == (1, 20) and "^" in str(e.value)
    with pytest.raises(ParameterError, match="parameter :n"):          # wrong-typed
        compile("files where size > :n", params={"n": "lots"})
    with pytest.raises(VdfsSyntaxError) as s:                           # the text itself
        compile("files where sise > :n", params={"n": 1})
    assert not isinstance(s.value, ParameterError)


def _library(tmp_path, monkeypatch):
    import core
    monkeypatch.setenv("VDFS_HOME", str(tmp_path / "home"))
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "a.txt").write_text("a")
    with core.Library.create(tmp_path / "t.vdfs") as lib:
        lib.index(tmp_path / "tree").wait()
    return tmp_path / "t.vdfs"


def test_the_cli_prints_a_parameter_error_with_its_caret(tmp_path, monkeypatch):
    import os
    import subprocess
    import sys
    path = _library(tmp_path, monkeypatch)
    r = subprocess.run([sys.executable, "-m", "core.cli", "-L", str(path), "query",
                        "files where size > :n"], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 2, r.stderr
    assert "missing parameter :n" in r.stderr and "^" in r.stderr
    assert "Traceback" not in r.stderr


def test_the_kernel_shows_a_parameter_error_as_a_short_located_error():
    from kernel_ext.errors import MagicError
    from kernel_ext.magics import user_errors
    text = "files where size > :n"
    with pytest.raises(MagicError) as e:
        with user_errors(text):
            compile(text, params={"n": "lots"})
    lines = e.value.lines()
    assert lines[0].startswith("VdfsParameterError: line 1, column 20: parameter :n")
    assert lines[1:3] == ["  " + text, "  " + " " * 19 + "^"]


# ---- one rule, one place: :param discovery and keywords ----------------------------------------
def test_walk_yields_every_node_of_the_ast_and_the_ir():
    from vdfs_query import ast
    q = parse('files where size > :n and (name = "a" or not tagged :t) limit :l')
    kinds = [type(n).__name__ for n in q.walk()]
    assert kinds == ["Query", "And", "Compare", "Field", "Param", "Or", "Compare", "Field", "Lit",
                     "Not", "Tagged", "Param", "Param"]
    assert all(isinstance(n, ast.Node) for n in q.walk())
    low = lower(q)
    assert {n.name for n in low.walk() if isinstance(n, ir.Param)} == {"n", "t", "l"}
    assert all(isinstance(n, ir.Node) for n in low.walk())


@pytest.mark.parametrize("text, names", [
    ('files where name = "x :notaparam"', []),
    ("files where name = 'x :notaparam'", []),
    ("files where size > 1 -- :comment", []),
    ('files where name = :yes and ext in (:a, "b", :c) limit :n', ["yes", "a", "c", "n"]),
    ('tags where name = r":raw"', []),
])
def test_params_are_found_in_value_positions_only(text, names):
    from kernel_ext.params import param_refs
    from vdfs_query.params import param_positions
    assert [n for n, _ in param_positions(text)] == names
    assert [n for n, _, _ in param_refs(text)] == names
    for name, pos in param_positions(text):
        assert text[pos:pos + len(name) + 1] == ":" + name


def test_a_text_that_does_not_parse_still_names_its_params():
    from kernel_ext.params import param_refs
    assert param_refs('files where where :a @ "s :b" :c') == [("a", 1, 19), ("c", 1, 31)]


def test_there_is_one_param_rule_and_one_keyword_list():
    """The kernel asks vdfs_query; no regex of its own for `:name`, no keyword list, no grammar
    scraping; the binder finds a parameter's place through the same function."""
    kparams = (ROOT / "kernel_ext" / "params.py").read_text()
    assert "param_positions" in kparams and "import re" not in kparams and "PARAM" not in kparams
    completion = (ROOT / "kernel_ext" / "completion.py").read_text()
    kcatalog = (ROOT / "kernel_ext" / "catalog.py").read_text()
    assert "dsl_keywords()" in completion and "from vdfs_query import keywords" in kcatalog
    for text in (completion, kcatalog, kparams):
        assert "vdfs.lark" not in text and "grammar_text" not in text
    bind_src = (ROOT / "vdfs_query" / "bind.py").read_text()
    assert "param_pos(" in bind_src and "re.search" not in bind_src
    from kernel_ext import catalog
    from vdfs_query import keywords
    assert catalog.dsl_keywords() == keywords()


def test_transform_rewrites_relative_folders_at_any_depth_and_keeps_the_rest():
    from vdfs_query import resolve_paths
    text = 'files where not (in "a" or in "/abs") and (size > 1 or in "b/../c") limit :n'
    fixed = resolve_paths(text, "/base")
    want = parse(text.replace('"a"', '"/base/a"').replace('"b/../c"', '"/base/c"'))
    assert fixed == want and fixed.text == text
    assert resolve_paths('files in "/abs"', "/base") == 'files in "/abs"'    # text comes back

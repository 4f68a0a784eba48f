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
    text = (ROOT / "vdfs_query" / "sqlgen.py").read_text()
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

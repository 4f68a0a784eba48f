"""One grammar, one source: grammar/vdfs.lark. The parser reads it, the keywords of completion and
of the JupyterLab highlighter are derived from it, and a build ships it inside vdfs_query."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from kernel_ext import highlight_words
from kernel_ext.catalog import dsl_keywords
from vdfs_query import KEYWORDS, keywords, parse
from vdfs_query.catalog import SOURCES
from vdfs_query.parser import GRAMMAR_PATHS, grammar_text

ROOT = Path(__file__).resolve().parents[1]


def test_the_grammar_has_one_source_at_the_top_of_the_repository():
    tracked = subprocess.run(["git", "ls-files", "*.lark"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    assert tracked == ["grammar/vdfs.lark"]
    assert grammar_text() == (ROOT / "grammar" / "vdfs.lark").read_text("utf-8")
    assert GRAMMAR_PATHS[-1] == ROOT / "grammar" / "vdfs.lark"


def test_keywords_come_from_the_grammar_terminals():
    words = keywords()
    assert words == KEYWORDS
    assert set(SOURCES) <= set(words)
    assert {"where", "select", "order", "by", "not", "ago", "days", "week"} <= set(words)
    # each keyword found in the grammar really is one: the lexer takes it in any case
    declared = {m.lower() for m in re.findall(r"^([A-Z]+)\.\d+: /[a-z]+\(\?!", grammar_text(), re.M)}
    assert declared <= set(words)
    assert parse("FILES WHERE size > 1 ORDER BY size DESC").order_by[0].desc


def test_completion_offers_the_grammar_keywords():
    assert dsl_keywords() == keywords()


def test_highlighter_words_are_generated_from_the_grammar():
    source = highlight_words.INDEX_JS.read_text("utf-8")
    assert highlight_words.js_block() in source, "run python -m kernel_ext.highlight_words"
    bundles = (ROOT / "kernel_ext" / "labextension" / "vdfs-highlight" / "static").glob("*.js")
    built = [set(json.loads(m)) for b in bundles
             for m in re.findall(r"new Set\((\[[^\]]*\])\)", b.read_text("utf-8"))]
    for words in highlight_words.word_sets().values():
        assert set(words) in built, "the built labextension is older than the grammar"


def test_a_build_ships_the_grammar_inside_vdfs_query(tmp_path):
    """setup.py's build_py copies grammar/*.lark to vdfs_query/grammar/ (a wheel's contents)."""
    (tmp_path / "meta").mkdir()
    subprocess.run([sys.executable, "setup.py", "-q", "egg_info", "--egg-base", str(tmp_path / "meta"),
                    "build_py", "--build-lib", str(tmp_path / "lib")],
                   cwd=ROOT, check=True, capture_output=True)
    shipped = tmp_path / "lib" / "vdfs_query" / "grammar" / "vdfs.lark"
    assert shipped.read_text("utf-8") == grammar_text()
    assert (tmp_path / "lib" / "vdfs_query" / "parser.py").is_file()


def _ast_params(node) -> set[str]:
    import dataclasses

    from vdfs_query import ast
    if isinstance(node, ast.Param):
        return {node.name}
    if isinstance(node, (tuple, list)):
        return set().union(*(_ast_params(x) for x in node)) if node else set()
    if dataclasses.is_dataclass(node):
        return set().union(*(_ast_params(getattr(node, f.name)) for f in dataclasses.fields(node)))
    return set()


def test_the_notebook_finds_the_parameters_the_parser_finds():
    """kernel_ext.params scans with the grammar's own PARAM terminal: the names it binds are the
    names in the parsed query, strings and comments aside."""
    from kernel_ext.params import param_refs
    for text in ["files where size > :min and modified > :since limit :n offset :skip",
                 'files where name = ":not_me" and ext in (:exts) -- :nor_me',
                 "entries tagged :tag on device :dev where name ~ :pat order by size desc"]:
        found = {name for name, _, _ in param_refs(text)}
        assert found == _ast_params(parse(text))

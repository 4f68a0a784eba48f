"""First-hour rough edges of the CLI, as a user of fd, ripgrep or the DuckDB CLI meets them:
`vdfs search --in` a folder the library does not cover is an error (not an empty table), a
search or query with no rows says so instead of printing a bare header (programs' formats stay
valid), and a missing `:param` says how to pass it on the command line (`--param`), while
Python keeps its keyword form. Real library, real files, the CLI's own main()."""
from __future__ import annotations

import csv
import io
import json

import pytest

import core
from core.cli import main
from vdfs_query import ParameterError

NAMES = ["invoice.pdf", "docs/Invoice-2024.pdf", "docs/tax.txt", "photos/beach.jpg"]


@pytest.fixture
def world(tmp_path, vdfs_home):
    root = tmp_path / "tree"
    for n in NAMES:
        (root / n).parent.mkdir(parents=True, exist_ok=True)
        (root / n).write_text(n)
    (tmp_path / "elsewhere").mkdir()
    with core.Library.create(tmp_path / "p.vdfs") as lib:
        lib.index(str(root)).wait(timeout=60)
    return {"lib": tmp_path / "p.vdfs", "tree": root, "tmp": tmp_path}


def vdfs(world, capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["-L", str(world["lib"]), *args])
    out, err = capsys.readouterr()
    return code, out, err


# ---- 1. --in a folder outside every location ---------------------------------------------------
@pytest.mark.parametrize("folder", ["elsewhere", "does-not-exist"])
def test_search_in_a_folder_outside_every_location_is_an_error(world, capsys, folder):
    where = world["tmp"] / folder
    code, out, err = vdfs(world, capsys, "search", "voice", "--in", str(where))
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1, err
    assert str(where) in err and "not inside any indexed location" in err
    assert str(world["tree"]) in err and "vdfs locations" in err


def test_search_in_a_folder_above_or_inside_a_location_is_a_search(world, capsys):
    code, out, err = vdfs(world, capsys, "search", "voice", "--in", str(world["tmp"]), "-f", "json")
    assert code == 0 and len(json.loads(out)) == 2, err           # a location is below it
    code, out, err = vdfs(world, capsys, "search", "voice", "--in", str(world["tree"] / "photos"))
    assert "location" not in err and out == ""                  # inside one, no hits: empty
    assert code == 1



def test_search_in_a_library_with_no_location_says_how_to_add_one(tmp_path, capsys):
    core.Library.create(tmp_path / "empty.vdfs").close()
    code, out, err = vdfs({"lib": tmp_path / "empty.vdfs"}, capsys, "search", "x", "--in",
                          str(tmp_path))
    assert (code, out) == (2, "")
    assert err == (f"vdfs: --in {tmp_path}: not inside any indexed location: the library has "
                   "none yet (`vdfs index FOLDER`)\n")

def test_every_search_failure_exits_2_so_1_always_means_no_hits(world, capsys):
    """As grep: 0 hits, 1 none, 2 trouble — a library that cannot be opened included, so a
    script never reads a broken library as "no hits"."""
    code, out, err = vdfs({"lib": world["tmp"] / "missing.vdfs"}, capsys, "search", "voice")
    assert (code, out) == (2, "") and err.startswith("vdfs: ")
    (world["tmp"] / "junk.vdfs").mkdir()
    (world["tmp"] / "junk.vdfs" / "library.db").write_bytes(b"not a database at all" * 100)
    code, out, err = vdfs({"lib": world["tmp"] / "junk.vdfs"}, capsys, "search", "voice")
    assert (code, out) == (2, "") and err.startswith("vdfs: ") and "Traceback" not in err


# ---- 2. no rows ---------------------------------------------------------------------------------
def test_a_search_with_no_hits_says_so_and_exits_1_like_grep(world, capsys):
    code, out, err = vdfs(world, capsys, "search", "zzqx")
    assert (code, out, err) == (1, "", 'vdfs: no entries match "zzqx"\n')
    code, out, err = vdfs(world, capsys, "search", "zzqx", "--in", str(world["tree"] / "docs"))
    assert (code, out) == (1, "")
    assert err == f'vdfs: no entries match "zzqx" below {world["tree"] / "docs"}\n'
    code, out, err = vdfs(world, capsys, "search", "voice")
    assert code == 0 and "«voice»" in out and err == ""


@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv"])
def test_no_rows_stay_valid_for_programs(world, capsys, fmt):
    for args, want in ((["search", "zzqx"], 1), (["query", 'files where name = "zzqx"'], 0)):
        code, out, err = vdfs(world, capsys, *args, "-f", fmt)
        assert code == want and err == "", (args, err)
        if fmt == "json":
            assert json.loads(out) == []
        elif fmt == "ndjson":
            assert out == ""
        else:
            rows = list(csv.reader(io.StringIO(out)))
            assert len(rows) == 1 and "path" in rows[0]


def test_a_query_table_with_no_rows_says_so_not_a_bare_header(world, capsys):
    code, out, err = vdfs(world, capsys, "query", 'files where name = "zzqx"')
    assert (code, out, err) == (0, "", "vdfs: no rows match the query\n")
    code, out, err = vdfs(world, capsys, "query", "files", "--rows", "0")   # rows, none shown
    assert code == 0 and out.split()[:2] == ["path", "name"] and "0 of 4" in err


# ---- 3. a missing :param, worded for where it is passed -----------------------------------------
@pytest.mark.parametrize("command", ["query", "explain"])
def test_the_cli_says_to_pass_a_missing_parameter_with_param(world, capsys, command):
    code, out, err = vdfs(world, capsys, command, "files where size > :n")
    assert code == 2 and out == ""
    assert "missing parameter :n" in err and "column 20" in err
    assert "  files where size > :n\n" in err and "\n" + " " * 21 + "^" in err
    assert "--param n=…" in err and "-p n=…" in err
    assert "pass it as n=" not in err


def test_python_keeps_the_keyword_form(world):
    with core.Library.open(world["lib"]) as lib:
        with pytest.raises(ParameterError) as e:
            lib.query("files where size > :minimum", minimun=3)
    assert e.value.missing_param == "minimum"
    text = str(e.value)
    assert "missing parameter :minimum" in text and "pass it as minimum=…" in text
    assert "--param" not in text and "did you mean ':minimun'?" in text
    assert "^" in text and "column 20" in text

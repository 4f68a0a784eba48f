"""`vdfs query` output as people and programs use it, run as real processes with real pipes:
whole paths in a pipe, human sizes and local times in tables, uuid columns only when asked,
--rows N|all, every --format round-trips, a closed pipe ends quietly, --version."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings, strategies as st

import core

REPO = Path(__file__).resolve().parent.parent
DEEP = "a-folder-with-a-rather-long-name/another-folder-that-is-long-too/and-a-third-level-here"
FILES = 300


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A library holding a deep path, a 1500-byte file and FILES small files."""
    base = tmp_path_factory.mktemp("out")
    tree = base / "tree"
    (tree / DEEP).mkdir(parents=True)
    (tree / DEEP / "the-file-at-the-end-of-a-long-path.txt").write_text("deep\n")
    (tree / "exactly-1500.bin").write_bytes(b"x" * 1500)
    many = tree / "many"
    many.mkdir()
    for i in range(FILES):
        (many / f"file-{i:04}-with-some-name-length.txt").write_text(str(i))
    old = os.environ.get("VDFS_HOME")
    os.environ["VDFS_HOME"] = str(base / "home")
    try:
        with core.Library.create(base / "out.vdfs") as lib:
            lib.index(tree).wait()
    finally:
        if old is None:
            os.environ.pop("VDFS_HOME")
        else:
            os.environ["VDFS_HOME"] = old
    return {"lib": base / "out.vdfs", "tree": tree, "home": base / "home"}


def vdfs(world, *args, env=None, text=True):
    e = dict(os.environ, PYTHONPATH=str(REPO), VDFS_HOME=str(world["home"]), **(env or {}))
    return subprocess.run([sys.executable, "-m", "core.cli", "-L", str(world["lib"]), *args],
                          capture_output=True, text=text, env=e, timeout=60)


def table_lines(stdout: str) -> list[str]:
    return [line for line in stdout.split("\n") if line]


def test_long_paths_are_whole_in_a_pipe(world):
    deep = str(world["tree"] / DEEP / "the-file-at-the-end-of-a-long-path.txt")
    assert len(deep) > 120
    r = vdfs(world, "query", 'entries where name ~ "the-file-*"')
    assert r.returncode == 0, r.stderr
    assert deep in r.stdout and "…" not in r.stdout
    assert "\r" not in r.stdout


def test_a_table_hides_uuid_columns_unless_asked(world):
    r = vdfs(world, "query", 'entries where name = "exactly-1500.bin"')
    header = table_lines(r.stdout)[0].split()
    assert "path" in header and "uuid" not in header and "content_uuid" not in header
    r = vdfs(world, "query", 'entries where name = "exactly-1500.bin"', "--uuids")
    assert table_lines(r.stdout)[0].split()[:2] == ["uuid", "path"]
    r = vdfs(world, "query", 'entries where name = "exactly-1500.bin" select uuid, name')
    assert table_lines(r.stdout)[0].split() == ["uuid", "name"]
    r = vdfs(world, "query", 'entries where name = "exactly-1500.bin"', "--format", "csv")
    assert next(csv.reader(io.StringIO(r.stdout)))[0] == "uuid"   # programs get every column


def test_a_table_shows_human_sizes_and_local_times(world):
    path = world["tree"] / "exactly-1500.bin"
    tz = dt.timezone(dt.timedelta(hours=5, minutes=30))
    local = dt.datetime.fromtimestamp(path.stat().st_mtime, tz).strftime("%Y-%m-%d %H:%M:%S")
    r = vdfs(world, "query", 'entries where name = "exactly-1500.bin" select name, size, modified',
             env={"TZ": "IST-5:30"})
    row = table_lines(r.stdout)[1]
    assert row.split("  ")[0] == "exactly-1500.bin"
    assert "1.5 kB" in row and local in row, row


def test_rows_zero_all_and_a_bad_count(world):
    q = 'entries where path ~ "**/many/*" order by name'
    r = vdfs(world, "query", q, "--rows", "0")
    assert r.returncode == 0
    assert table_lines(r.stdout)[0].split()[:2] == ["path", "name"]
    assert len(table_lines(r.stdout)) == 1            # the header, no rows
    assert f"0 of {FILES}" in r.stderr
    r = vdfs(world, "query", q, "--rows", "3", "--format", "csv")
    assert len(r.stdout.splitlines()) == 4
    r = vdfs(world, "query", q, "--rows", "all")
    lines = table_lines(r.stdout)
    assert len(lines) == FILES + 1 and lines[-1].split()[1].startswith(f"file-{FILES - 1:04}")
    assert r.stderr == ""
    r = vdfs(world, "query", q)                       # a table shows 50 by default
    assert len(table_lines(r.stdout)) == 51 and "--rows all" in r.stderr
    for bad in ("-1", "many"):
        r = vdfs(world, "query", q, "--rows", bad)
        assert r.returncode == 2 and "rows" in r.stderr and r.stdout == ""
        assert "Traceback" not in r.stderr


def test_formats_round_trip(world, tmp_path):
    q = 'entries where path ~ "**/many/*" order by name select name, size, modified, is_dir'
    as_json = json.loads(vdfs(world, "query", q, "-f", "json").stdout)
    assert len(as_json) == FILES and as_json[0]["name"].startswith("file-0000")
    assert isinstance(as_json[0]["size"], int) and as_json[0]["is_dir"] is False
    assert dt.datetime.fromisoformat(as_json[0]["modified"]).utcoffset() is not None
    nd = vdfs(world, "query", q, "-f", "ndjson").stdout
    assert [json.loads(line) for line in nd.splitlines()] == as_json
    raw = vdfs(world, "query", q, "-f", "csv").stdout
    assert "\r" not in raw
    rows = list(csv.DictReader(io.StringIO(raw)))
    assert [r["name"] for r in rows] == [r["name"] for r in as_json]
    assert [int(r["size"]) for r in rows] == [r["size"] for r in as_json]
    assert {r["is_dir"] for r in rows} == {"false"}
    piped = vdfs(world, "query", q, "-f", "parquet", text=False)
    assert piped.returncode == 0, piped.stderr
    table = pq.read_table(io.BytesIO(piped.stdout))
    assert table.column_names == ["name", "size", "modified", "is_dir"]
    assert table.column("name").to_pylist() == [r["name"] for r in as_json]
    out = tmp_path / "rows.parquet"
    r = vdfs(world, "query", q, "-f", "parquet", "-o", str(out), "--rows", "7")
    assert r.returncode == 0 and r.stdout == "" and pq.read_table(out).num_rows == 7


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_a_closed_pipe_ends_quietly(world, tmp_path, fmt):
    err = tmp_path / "err"
    cmd = (f"{sys.executable} -m core.cli -L {world['lib']} query 'entries' --rows all "
           f"-f {fmt} 2>{err} | head -1 >/dev/null; echo ${{PIPESTATUS[0]}}")
    env = dict(os.environ, PYTHONPATH=str(REPO), VDFS_HOME=str(world["home"]))
    r = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=env, timeout=60)
    assert err.read_text() == ""
    assert r.stdout.strip() == "0"


def test_version():
    r = subprocess.run([sys.executable, "-m", "core.cli", "--version"], capture_output=True,
                       text=True, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=60)
    assert r.returncode == 0
    assert r.stdout.startswith("vdfs ") and f"core API {core.__version__}" in r.stdout


def test_a_narrow_terminal_cuts_the_middle_of_a_path(world):
    """On a terminal narrower than the table, the path loses its middle; its file name stays."""
    import pty
    master, slave = pty.openpty()
    e = dict(os.environ, PYTHONPATH=str(REPO), VDFS_HOME=str(world["home"]), COLUMNS="70")
    p = subprocess.Popen([sys.executable, "-m", "core.cli", "-L", str(world["lib"]), "query",
                          'entries where name ~ "the-file-*" select path, size'],
                         stdout=slave, stderr=subprocess.PIPE, env=e)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert p.wait(timeout=60) == 0
    import re
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line)
             for line in b"".join(chunks).decode().splitlines()]
    row = next(line for line in lines if "…" in line)
    assert len(row) <= 70 and row.split()[0].endswith("-long-path.txt")
    assert row.split()[0].startswith(str(world["tree"])[:10])
    assert "(1 row)" in lines[-1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 200), min_size=1, max_size=8), st.integers(20, 300))
def test_fit_widths_fits_or_stops_at_the_minimum(widths, room):
    from core.cli.output import GAP, MIN_WIDTH, fit_widths, middle_ellipsis
    out = fit_widths(widths, room)
    assert all(min(w, MIN_WIDTH) <= o <= w for w, o in zip(widths, out))
    assert sum(out) + GAP * (len(out) - 1) <= room or all(
        o == min(w, MIN_WIDTH) or o <= MIN_WIDTH for w, o in zip(widths, out))
    text = "x" * widths[0]
    cut = middle_ellipsis(text + "END", out[0])
    assert len(cut) == min(out[0], len(text) + 3)


def bare(*args, cwd, env=None):
    """`vdfs ARGS` with no -L and no $VDFS_LIBRARY, run in `cwd`."""
    e = {k: v for k, v in os.environ.items() if k != "VDFS_LIBRARY"}
    e.update(PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.run([sys.executable, "-m", "core.cli", *args], capture_output=True,
                          text=True, env=e, cwd=cwd, timeout=60)


def test_the_library_is_found_without_dash_l(tmp_path, vdfs_home):
    work = tmp_path / "work"
    (work / "deep" / "er").mkdir(parents=True)
    r = bare("init", cwd=work)                                  # ./library.vdfs
    assert r.returncode == 0 and (work / "library.vdfs" / "library.json").is_file()
    tree = build_small_tree(tmp_path / "tree")
    r = bare("index", str(tree), "--no-progress", cwd=work / "deep" / "er")   # found above
    assert r.returncode == 0, r.stderr
    r = bare("query", "entries select name", "-f", "csv", cwd=work / "library.vdfs")
    assert sorted(r.stdout.split()) == ["a.txt", "b.txt", "name", "tree"]
    other = tmp_path / "other.vdfs"
    assert bare("init", str(other), cwd=tmp_path).returncode == 0
    r = bare("query", "entries select name", "-f", "csv", cwd=work,
             env={"VDFS_LIBRARY": str(other)})                  # the variable comes first
    assert r.returncode == 0 and r.stdout.split() == ["name"]
    assert bare("init", cwd=work / "deep").returncode == 0      # two side by side: ambiguous
    (work / "deep" / "second.vdfs").mkdir()
    (work / "deep" / "second.vdfs" / "library.json").write_text("{}")
    r = bare("query", "entries", cwd=work / "deep" / "er")
    assert r.returncode == 1 and "library.vdfs, second.vdfs" in r.stderr and "-L" in r.stderr


def test_the_per_user_default_library(tmp_path, vdfs_home):
    tree = build_small_tree(tmp_path / "tree")
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    from core.cli._libpath import nearest_library
    if nearest_library(nowhere) is not None:       # a library in /tmp or / would win
        pytest.skip(f"a library above {nowhere}: {nearest_library(nowhere)}")
    r = bare("index", str(tree), "--no-progress", cwd=nowhere)
    assert r.returncode == 0, r.stderr
    assert (vdfs_home / "libraries" / "default.vdfs" / "library.json").is_file()
    r = bare("locations", cwd=nowhere)
    assert r.returncode == 0 and str(tree) in r.stdout


def build_small_tree(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "b.txt").write_text("b")
    return root


def test_tag_and_untag_a_path(world, tmp_path):
    target = world["tree"] / DEEP / "the-file-at-the-end-of-a-long-path.txt"
    r = vdfs(world, "tag", str(target), "Trip")
    assert r.returncode == 0 and r.stdout == f"tagged {target} #trip\n", r.stderr
    assert vdfs(world, "tag", str(target), "#trip").stdout.endswith("already has #trip\n")
    tagged = vdfs(world, "query", 'entries tagged "#trip" select path', "-f", "csv")
    assert tagged.stdout.split() == ["path", str(target)]
    r = vdfs(world, "untag", str(target), "trip")
    assert r.returncode == 0 and r.stdout == f"untagged {target} #trip\n"
    tagged = vdfs(world, "query", 'entries tagged "#trip" select path', "-f", "csv")
    assert tagged.stdout.split() == ["path"]
    copies = sorted(str(p) for p in (world["tree"] / "many").glob("file-0001-*"))
    r = vdfs(world, "tag", "--content", copies[0], "one")      # the content: every copy
    assert r.returncode == 0 and "(its content) #one" in r.stdout
    assert vdfs(world, "query", 'entries tagged "#one" select path', "-f", "csv"
                ).stdout.split()[1:] == copies
    stray = tmp_path / "stray.txt"
    stray.write_text("not indexed")
    for cmd in ("tag", "untag"):
        r = vdfs(world, cmd, str(stray), "trip")
        assert r.returncode == 1 and r.stderr == (
            f"vdfs: {stray} is not in library {world['lib']}: index its folder first "
            "(vdfs index FOLDER)\n")
    r = vdfs(world, "tag", str(target), "#")
    assert r.returncode == 1 and "invalid tag name" in r.stderr and "Traceback" not in r.stderr


def test_sizes_line_up_on_the_right(world):
    r = vdfs(world, "query", 'entries where name ~ "exactly-*" or name ~ "the-file-*" '
                             'order by size select size, name')
    header, small, big = table_lines(r.stdout)
    assert small.startswith("   5 B  the-file") and big.startswith("1.5 kB  exactly-1500")
    assert header.startswith("  size  name")


def test_a_search_table_shows_ranks_as_short_numbers(world):
    """A table is for reading: a float shows with 6 significant digits (as the notebook
    shows it), while csv and json keep every digit."""
    table = vdfs(world, "search", "file", "--rows", "3")
    ranks = [line.split()[0] for line in table.stdout.splitlines()[1:4]]
    assert ranks and all(r == f"{float(r):.6g}" for r in ranks), table.stdout
    full = json.loads(vdfs(world, "search", "file", "--rows", "3", "-f", "json").stdout)
    assert any(len(repr(abs(row["rank"]))) > 8 for row in full)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_the_cli_the_notebook_and_a_results_repr_write_a_float_alike(x):
    from core.query.display import number_text
    from core.query.result import Result
    from kernel_ext.display import cell_text
    assert cell_text(x) == number_text(x)
    shown = Result.of_rows(["x"], ["float"], [(x,)], "", []).to_text().splitlines()[2]
    assert shown.strip() == number_text(x)


def test_row_counts_group_their_digits(capsys):
    """`(2 of 1,234 rows …)`, as the other counts vdfs prints (sizes, `vdfs index`)."""
    import argparse
    from core.cli.output import emit
    from core.query.result import Result
    rows = [(i,) for i in range(1234)]
    emit(Result.of_rows(["n"], ["int"], rows, "", []),
         argparse.Namespace(format="table", rows=2, uuids=False, output=None))
    captured = capsys.readouterr()
    assert "2 of 1,234 rows; --rows all for every row" in captured.out + captured.err

"""The newcomer check: every fenced block of README.md runs as written, on a fresh library.

Each block is found by the section it sits in and run the way a reader would run it:

- `sh` blocks line by line in a shell-like way: `vdfs …` and `.venv/bin/vdfs …` as
  `python -m core.cli …` (this interpreter, this checkout), `make demo` with this interpreter in
  a temporary folder. Commands that set up a machine (`python3 -m venv`, `pip install`,
  `jupyter lab`) or run this very suite (`make test`, `make bench`) are listed in NOT_RUN with the
  reason; any other command is a failure until this file learns how to run it.
- `python` blocks in one namespace per section, in order, as notebook cells would run.
- blocks of `%vdfs` lines (and `%%vdfs` cells) in a real IPython shell with `kernel_ext` loaded.
- the query-language block: every line is a query run on the sample library.
- the error block: the query on its second line fails with exactly the text shown.

What is substituted, and only this: `~/Pictures` becomes a small sample tree made here (photos
big and small, a duplicate, a `2024` folder, a file without extension); `photos.vdfs` a library
path in a temporary folder; `extensions/photos` the repository's reference extension. HOME and
JUPYTER_DATA_DIR point into the temporary folder, so `--user` installs touch nothing real.
"""
from __future__ import annotations

import io
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

NOT_RUN = {
    "make test": "runs this very test suite",
    "make bench": "benchmarks are never part of the tests",
    "python3 -m venv": "sets up a machine: the tests already run in one",
    ".venv/bin/pip install": "installs packages: the tests run with them installed",
    ".venv/bin/jupyter lab": "starts a server for a person; tests/test_browser.py drives one",
    "source .venv/bin/activate": "changes the reader's shell: the tests call this interpreter",
}


@dataclass(frozen=True)
class Block:
    section: str
    lang: str
    text: str
    line: int

    @property
    def kind(self) -> str:
        first = self.text.lstrip().split("\n", 1)[0]
        if self.lang in ("sh", "python"):
            return self.lang
        if first.startswith("%"):
            return "magics"
        if first.startswith("vdfs: "):
            return "error"
        if self.section == "The query language in one screen":
            return "queries"
        return "unknown"


def readme_blocks() -> list[Block]:
    blocks, section, lang, buf, start = [], "", None, [], 0
    for no, row in enumerate(README.read_text("utf-8").split("\n"), start=1):
        if lang is None and row.startswith("## "):
            section = row[3:].strip()
        elif row.startswith("```"):
            if lang is None:
                lang, buf, start = row[3:].strip(), [], no
            else:
                blocks.append(Block(section, lang, "\n".join(buf), start))
                lang = None
        elif lang is not None:
            buf.append(row)
    return blocks


def section(name: str) -> list[Block]:
    found = [b for b in readme_blocks() if b.section == name]
    assert found, f"README has no section {name!r} with code"
    return found


# ---- the sample world -----------------------------------------------------------------------

def _jpeg(colour: tuple[int, int, int], pad_to: int = 0) -> bytes:
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "JPEG")
    data = out.getvalue()
    return data + b"\0" * max(0, pad_to - len(data))    # a decoder stops at the end marker


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A temp HOME with a small ~/Pictures; returns the substitution map of the README text."""
    pics = tmp_path / "Pictures"
    (pics / "2024").mkdir(parents=True)
    (pics / "backup").mkdir()
    (pics / "2024" / "IMG_0001.jpg").write_bytes(_jpeg((200, 30, 30)))
    (pics / "2024" / "IMG_0002.jpg").write_bytes(_jpeg((30, 200, 30), pad_to=3_000_000))
    (pics / "backup" / "IMG_0001.jpg").write_bytes(_jpeg((200, 30, 30)))
    (pics / "notes.txt").write_text("a trip to the sea\n")
    (pics / "README").write_text("no extension\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    monkeypatch.setenv("VDFS_HOME", str(tmp_path / ".vdfs"))
    return {"~/Pictures": str(pics), "photos.vdfs": str(tmp_path / "photos.vdfs"),
            "extensions/photos": str(ROOT / "extensions" / "photos")}


def _subst(text: str, subs: dict[str, str]) -> str:
    for old, new in subs.items():
        text = text.replace(old, new)
    return text


# ---- sh ---------------------------------------------------------------------------------------

def _not_run(command: str) -> str | None:
    return next((why for start, why in NOT_RUN.items() if command.startswith(start)), None)


def _argv(command: str, cwd: Path) -> list[str] | None:
    """How this test runs one README command line, or None if it must be taught."""
    words = shlex.split(command, comments=True)
    if words[0] in ("vdfs", ".venv/bin/vdfs"):
        return [sys.executable, "-m", "core.cli", *words[1:]]
    if words == ["make", "demo"]:
        return ["make", "-f", str(ROOT / "Makefile"), "-C", str(cwd), "demo",
                f"PY={sys.executable}", "STAMP="]
    return None


def run_sh(block: Block, subs: dict[str, str], cwd: Path) -> list[tuple[str, str]]:
    """Run every command of an sh block; [(command, its stdout)]."""
    out = []
    for command in block.text.split("\n"):
        command = command.strip()
        if not command or command.startswith("#") or _not_run(command):
            continue
        argv = _argv(_subst(command, subs), cwd)
        assert argv is not None, f"README line {block.line}: teach test_readme.py to run {command!r}"
        target = None
        if ">" in argv:                       # `… > FILE`: stdout into FILE, as a shell would
            at = argv.index(">")
            argv, target = argv[:at], cwd / argv[at + 1]
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
        if target is not None:
            target.write_text(proc.stdout)
            out.append((command, ""))
            continue
        out.append((command, proc.stdout))
    return out


# ---- the tests --------------------------------------------------------------------------------

def test_every_block_is_one_the_check_knows_how_to_run():
    blocks = readme_blocks()
    assert len(blocks) >= 10
    unknown = [f"line {b.line} ({b.section})" for b in blocks if b.kind == "unknown"]
    assert unknown == [], "README blocks test_readme.py does not run: " + ", ".join(unknown)


def test_the_two_commands(world, tmp_path):
    (block,) = section("The two commands")
    ran = run_sh(block, world, tmp_path)
    assert [shlex.split(c, comments=True) for c, _ in ran] == [["make", "demo"]]
    out = ran[0][1]
    assert (tmp_path / "demo.vdfs" / "library.db").is_file()
    assert re.search(r"\bimage\b", out), out


def test_install_for_jupyterlab_users(world, tmp_path):
    (block,) = section("Install for JupyterLab users")
    ran = run_sh(block, world, tmp_path)
    assert [c.split()[1:3] for c, _ in ran] == [["kernel", "install"]]
    assert (tmp_path / "jupyter" / "kernels").is_dir() or any(tmp_path.rglob("kernel.json"))


def test_in_a_notebook(world, tmp_path):
    from kernel_ext import session
    from magics_support import shell
    ip = shell()
    before = set(ip.user_ns)
    shown = []
    try:
        for block in section("In a notebook"):
            if block.kind == "sh":
                run_sh(block, world, tmp_path)
                continue
            text = _subst(block.text, world)
            cells = [text] if block.kind == "python" or text.startswith("%%") else text.split("\n")
            for cell in cells:
                res = ip.run_cell(cell, store_history=False)
                assert res.success, f"README line {block.line}: {cell}\n{res.error_in_exec!r}"
                shown.append((cell, res.result))
        results = dict(shown)
        assert [r["name"] for r in ip.user_ns["big"].rows()] == ["IMG_0002.jpg"]
        images = results[_subst("%vdfs files of kind image where size > 2MB and modified > 7 days "
                                "ago order by size desc limit 50", world)]
        assert [r["name"] for r in images.rows()] == ["IMG_0002.jpg"]
        dupes = results["%vdfs content duplicates order by wasted desc limit 20"]
        assert len(dupes.rows()) == 1
        panel = results['%vdfs preview com.vdfs.photos.create_album name="Summer"']
        assert panel.state == "pending" and "Summer" in panel.preview.title
    finally:
        session.close_library()
        for name in set(ip.user_ns) - before:
            del ip.user_ns[name]


def test_from_python(world, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    for block in section("From Python"):
        exec(compile(_subst(block.text, world), f"README.md:{block.line}", "exec"), ns)
    lib = ns["lib"]
    tagged = lib.query('entries tagged "#vacation"').rows()
    assert {r["name"] for r in tagged} == {"IMG_0002.jpg"}
    people = lib.vdfs().query_models(ns["Person"]).collect()
    assert [p.name for p in people] == ["Alice"]


def _subcommand(line: str) -> str:
    """`vdfs query '…'` → query; `vdfs --version` → --version."""
    words = shlex.split(line, comments=True)[1:]
    return next((w for w in words if not w.startswith("-")), words[0] if words else "")


def test_on_the_command_line(world, tmp_path):
    """Run from inside ~/Pictures, as the README's comments say: `vdfs init photos.vdfs`, then
    every later command finds that library without -L. A command this build does not know yet
    is skipped by name."""
    (block,) = section("On the command line")
    known = subprocess.run([sys.executable, "-m", "core.cli", "--help"], capture_output=True,
                           text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    lines = [c for c in block.text.split("\n") if c.startswith("vdfs ")]
    missing = sorted({_subcommand(c) for c in lines if not _subcommand(c).startswith("-")
                      and not re.search(rf"^\s+{re.escape(_subcommand(c))}\s", known, re.M)})
    runnable = "\n".join(c for c in lines if _subcommand(c) not in missing)
    pics = Path(world["~/Pictures"])
    ran = dict(run_sh(Block(block.section, "sh", runnable, block.line), world, pics))
    by_command: dict[str, str] = {}
    for c, out in ran.items():                # a command's first run (later ones may redirect)
        by_command.setdefault(_subcommand(c), out)
    in_2024 = next(out for c, out in ran.items() if 'files in "2024"' in c)
    assert "IMG_0001.jpg" in in_2024 and "IMG_0002.jpg" in in_2024 and "backup" not in in_2024
    assert "jpg" in by_command["query"] and "SELECT" in by_command["explain"]
    assert by_command["--version"].startswith("vdfs ")
    header = (pics / "pdfs.csv").read_text().split("\n")[0]   # no pdf here: the header alone
    assert "path" in header.split(",")
    if missing:
        pytest.skip(f"README commands not in this build yet: {', '.join(missing)}")


def test_the_query_language_in_one_screen(world, tmp_path):
    import core
    from core.sdk import model
    from dataclasses import dataclass
    lib = core.Library.create(world["photos.vdfs"])
    lib.add_location(world["~/Pictures"])
    lib.index(world["~/Pictures"]).wait()

    @model(version="1.0.0", scope="standalone", extension_id="com.example.people")
    @dataclass
    class Person:
        name: str
        photo_count: int = 0
    lib.vdfs().create_model(Person(name="Alice", photo_count=3))
    (block,) = [b for b in section("The query language in one screen") if b.kind == "queries"]
    counts = {}
    for line in filter(None, (row.strip() for row in block.text.split("\n"))):
        counts[line.split("--")[0].strip()] = len(lib.query(line).rows())
    assert counts['files where ext in (jpg, png, heic) and name ~ "IMG_*"'] == 3
    assert counts["files where ext not in (tmp, part)"] == 5
    assert counts['models Person where name = "Alice" select name, photo_count'] == 1
    assert counts["content duplicates order by wasted desc limit 20"] == 1


def test_the_error_shown_is_the_error_given():
    (block,) = [b for b in readme_blocks() if b.kind == "error"]
    from vdfs_query import compile as compile_query
    from vdfs_query.errors import VdfsSyntaxError
    query = block.text.split("\n")[1].strip()
    with pytest.raises(VdfsSyntaxError) as info:
        compile_query(query)
    assert "vdfs: " + str(info.value) == block.text

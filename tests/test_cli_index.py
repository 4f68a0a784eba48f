"""The indexer's commands and the demo, run as real processes."""
from __future__ import annotations

import os
import subprocess
import sys

from core.cli.index import _bar
from indexer_tree import build_tree

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


def test_init_index_locations_summary(tmp_path):
    lib = tmp_path / "cli.vdfs"
    tree = build_tree(tmp_path / "tree", files=40)
    r = run("-m", "core.cli", "init", str(lib))
    assert r.returncode == 0 and "created library" in r.stdout
    r = run("-m", "core.cli", "init", str(lib))
    assert r.returncode == 1 and "already holds a library" in r.stderr
    r = run("-m", "core.cli", "-L", str(lib), "index", str(tree), "--progress")
    assert r.returncode == 0, r.stderr
    assert f"indexed {tree}:" in r.stdout and "created" in r.stdout
    assert "] done" in r.stderr and r.stderr.count("] ") >= 2   # the bar was drawn
    r = run("-m", "core.cli", "-L", str(lib), "index", str(tree), "--no-progress")
    assert "created 0, modified 0, moved 0, deleted 0; hashed 0 files" in r.stdout
    assert r.stderr == ""
    r = run("-m", "core.cli", "-L", str(lib), "locations")
    assert r.returncode == 0 and r.stdout.startswith(f"tree\t{tree}\t")
    r = run("-m", "core.cli", "-L", str(lib), "summary")
    assert r.returncode == 0
    assert "duplicate groups:" in r.stdout and "  text " in r.stdout


def test_bad_inputs_give_clear_errors(tmp_path):
    lib = tmp_path / "cli.vdfs"
    r = run("-m", "core.cli", "-L", str(lib), "locations")
    assert r.returncode == 1 and "is not a vdfs library" in r.stderr
    r = run("-m", "core.cli", "-L", str(lib), "index", str(tmp_path / "missing"))
    assert r.returncode == 1 and "no such folder" in r.stderr
    r = run("-m", "core.cli", "-L", str(lib), "index", str(tmp_path), "--batch-size", "0")
    assert r.returncode == 1 and "batch_size must be a positive int" in r.stderr
    assert "Traceback" not in r.stderr


def test_progress_bar_text():
    line = _bar({"progress_done": 5, "progress_total": 10, "phase": "content",
                 "message": "5/10 files"})
    assert line.startswith("\r[" + "#" * 15 + "-" * 15 + "] content")
    assert "5/10" in _bar({"progress_done": 5, "progress_total": None, "phase": "discovery",
                           "message": "5/10"})


def test_demo_is_deterministic_and_reruns(tmp_path):
    first = run("-m", "core.demo", "./demo.vdfs", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = run("-m", "core.demo", "./demo.vdfs", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert first.stdout == second.stdout
    out = first.stdout
    assert str(tmp_path) not in out and "20" + "26-" not in out
    assert "duplicate groups: 3" in out
    assert "Photos/2024/sunset.jpg: JPEG 300x300, camera Pocket 7" in out
    assert "Documents/scans/receipt.txt: PNG" in out          # found by magic bytes
    assert "  image             6" in out


def test_demo_answers_its_queries_from_the_library(tmp_path):
    """The demo's query section shows what the library holds, checked against the sample."""
    from core.demo import sample_files
    out = run("-m", "core.demo", "./demo.vdfs", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    section = out.stdout.split("queries (vdfs query '...'):", 1)[1]
    big_images = sorted((len(b), p.rsplit("/", 1)[1]) for p, b in sample_files().items()
                        if p.endswith(".jpg") and len(b) > 20_000)
    for size, name in big_images:
        assert any(line.split() == [name, str(size)] for line in section.splitlines()), name
    code = sorted(p.rsplit("/", 1)[1] for p in sample_files()
                  if p.endswith((".py", ".js", ".rs")))
    listed = [line.split()[0] for line in section.split("> entries where name", 1)[1]
              .splitlines()[3:3 + len(code)]]
    assert listed == code

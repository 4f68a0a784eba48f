"""The indexer's commands and the demo, run as real processes."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from indexer_tree import build_tree

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


def test_init_of_an_existing_library_says_where_it_is_found_only_when_it_is(tmp_path):
    """`vdfs init` of a library that exists: "commands run in … find it" only when the
    lookup would find it there (a *.vdfs name, alone in its folder); else only -L."""
    for name in ("found.vdfs", "plain"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        assert run("-m", "core.cli", "init", name, cwd=tmp_path).returncode == 0
    r = run("-m", "core.cli", "init", "found.vdfs", cwd=tmp_path)
    assert r.returncode == 1 and f"commands run in {tmp_path} or below find it" in r.stderr
    r = run("-m", "core.cli", "init", "plain", cwd=tmp_path)
    assert r.returncode == 1 and "find it" not in r.stderr and "-L plain" in r.stderr
    (tmp_path / "other.vdfs").mkdir()          # two libraries side by side: ambiguous
    assert run("-m", "core.cli", "init", "other.vdfs", cwd=tmp_path).returncode == 0
    r = run("-m", "core.cli", "init", "found.vdfs", cwd=tmp_path)
    assert r.returncode == 1 and "find it" not in r.stderr and "-L found.vdfs" in r.stderr


def test_init_index_locations_summary(tmp_path):
    lib = tmp_path / "cli.vdfs"
    tree = build_tree(tmp_path / "tree", files=40)
    r = run("-m", "core.cli", "init", str(lib))
    assert r.returncode == 0 and "created library" in r.stdout
    r = run("-m", "core.cli", "init", str(lib))
    assert r.returncode == 1 and "already holds a library" in r.stderr
    assert "Library.open" not in r.stderr         # a command-line user gets no Python advice
    assert f"-L {lib}" in r.stderr                # but how to use the library that is there
    r = run("-m", "core.cli", "-L", str(lib), "index", str(tree), "--progress")
    assert r.returncode == 0, r.stderr
    assert f"indexed {tree}:" in r.stdout and "created" in r.stdout
    lines = r.stderr.splitlines()     # in a pipe: one line per phase, as it ended
    assert "\r" not in r.stderr
    phases = [line.split()[0] for line in lines]
    assert phases == ["discovery", "processing", "content", "aggregation", "finalisation"]
    processing = next(line for line in lines if line.startswith("processing"))
    n = 40 + len([p for p in tree.rglob("*") if p.is_dir()]) + 1
    assert f"{n}/{n} changes" in processing, processing
    assert f"{n}/{n} entries" in lines[-1] and lines[-1].startswith("finalisation")
    r = run("-m", "core.cli", "-L", str(lib), "index", str(tree), "--no-progress")
    assert "created 0, modified 0, moved 0, deleted 0; hashed 0 files" in r.stdout
    assert r.stderr == ""
    r = run("-m", "core.cli", "-L", str(lib), "locations")
    assert r.returncode == 0 and r.stdout.splitlines()[1].split()[:2] == ["tree", str(tree)]
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


def test_a_first_command_before_any_library_says_how_to_make_one(tmp_path):
    """No -L, no $VDFS_LIBRARY, no *.vdfs here or above and no default library yet: the
    commands that read a library say how one comes to be, not only 'no such folder'."""
    here = tmp_path / "empty"
    here.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "VDFS_LIBRARY"}
    env.update(PYTHONPATH=REPO, VDFS_HOME=str(tmp_path / "home"))
    for command in (["query", "files"], ["summary"], ["duplicates"], ["search", "x"]):
        r = subprocess.run([sys.executable, "-m", "core.cli", *command], capture_output=True,
                           text=True, env=env, cwd=here, timeout=60)
        assert r.returncode == (2 if command[0] == "search" else 1), command   # search: as grep
        assert "vdfs index FOLDER" in r.stderr and "vdfs init" in r.stderr, (command, r.stderr)
        assert "Traceback" not in r.stderr
    assert not (tmp_path / "home" / "libraries").exists()     # and nothing was made


def test_the_index_report_counts_in_the_singular_too(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "a.txt").write_text("a")
    r = run("-m", "core.cli", "-L", str(tmp_path / "x.vdfs"), "index", str(tmp_path / "one"))
    assert r.returncode == 0, r.stderr
    assert ": 1 file, 1 folder, 1 B" in r.stdout and "hashed 1 file (1 B)" in r.stdout


def test_demo_is_deterministic_and_reruns(tmp_path):
    first = run("-m", "core.cli.demo", "./demo.vdfs", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = run("-m", "core.cli.demo", "./demo.vdfs", cwd=tmp_path)
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
    from core.cli.demo import sample_files
    out = run("-m", "core.cli.demo", "./demo.vdfs", cwd=tmp_path)
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


def _job_row(lib_path):
    import sqlite3
    if not (lib_path / "jobs.db").exists():
        return None
    conn = sqlite3.connect(f"file:{lib_path / 'jobs.db'}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute("SELECT id, status, phase, progress_done, error FROM jobs "
                            "WHERE name = 'core.index'").fetchall()
    except sqlite3.Error:
        return None
    finally:
        conn.close()


@pytest.mark.parametrize("target,phase", [("group", "processing"), ("group", "content"),
                                          ("main", "content")])
def test_ctrl_c_stops_cleanly_and_the_next_index_resumes_the_job(tmp_path, target, phase):
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) or SIGINT to the main
    process only: one line, exit 130, no worker traceback, the job left resumable (not failed
    with BrokenPipeError), and the next `vdfs index` carries on with the same job."""
    import signal
    import time
    tree = build_tree(tmp_path / "tree", files=400)
    lib = tmp_path / "lib.vdfs"
    env = dict(os.environ, PYTHONPATH=REPO, VDFS_INDEX_PARALLEL_MIN="1")
    cmd = [sys.executable, "-m", "core.cli", "-L", str(lib), "index", str(tree),
           "--batch-size", "1", "--workers", "2", "--progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rows = _job_row(lib)
            if rows and rows[0][2] == phase and (rows[0][3] or 0) >= 1:
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.01)
        else:
            pytest.fail(f"never reached {phase}")
        if target == "group":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    said = [line for line in err.splitlines() if line.startswith("vdfs:")]
    assert len(said) == 1 and "interrupted" in said[0] and "vdfs index" in said[0], err
    assert "" not in err.splitlines(), err        # no blank line from an empty progress
    [(job_id, status, _, _, error)] = _job_row(lib)
    assert status in ("queued", "paused") and error is None, (status, error)
    time.sleep(0.2)                       # the workers the run started are gone
    r = run("-m", "core.cli", "-L", str(lib), "index", str(tree), "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "resumed an interrupted index" in r.stdout
    assert [(row[0], row[1]) for row in _job_row(lib)] == [(job_id, "completed")]


def test_phase_progress_draws_one_line_per_phase_with_rate_and_eta(capsys):
    """Each phase keeps its own line and total (the old bar reused one line whose total
    jumped from entries to files), with a rate and, while it runs, the time left."""
    import time
    from core.cli.progress import PhaseProgress
    from core.indexer import PHASES
    bar = PhaseProgress(True, PHASES, {"processing": "changes", "content": "files hashed"},
                        uncounted=("discovery",))
    with bar:
        bar.update({"phase": "discovery", "progress_done": 500, "progress_total": None})
        for done in range(0, 1001, 100):
            bar.update({"phase": "processing", "progress_done": done, "progress_total": 1000})
            time.sleep(0.02)
        for done in (0, 20, 40, 60):                 # the stale total of the phase before
            bar.update({"phase": "content", "progress_done": done,
                        "progress_total": 1000 if done == 0 else 200})
            time.sleep(0.05)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split()[0] for line in lines] == ["discovery", "processing", "content"]
    assert " 500/500 " in lines[0]                   # counted, then complete as it ended
    words = [line.split() for line in lines]
    assert words[1][2:4] == ["1,000/1,000", "changes"] and words[1][4].endswith("/s")
    assert "eta" not in words[1]                     # it ended: no time left to show
    assert words[2][2:5] == ["60/200", "files", "hashed"] and words[2][5].endswith("/s")
    assert words[2][-2] == "eta" and words[2][-1].startswith("0:00:0")


def test_the_demo_ends_with_next_steps_that_work(tmp_path):
    """The demo said nothing of what to do next, and `vdfs` was not on PATH after it."""
    import shlex
    bindir = os.path.dirname(sys.executable)
    env = dict(os.environ, PYTHONPATH=REPO, PATH="/usr/bin:/bin")
    out = subprocess.run([sys.executable, "-m", "core.cli.demo", "./demo.vdfs"], capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=120).stdout
    steps = out.split("next steps:\n", 1)[1].splitlines()
    assert steps[0].startswith(f"  source {os.path.relpath(bindir, tmp_path)}/activate")
    commands = [shlex.split(line.split("   #", 1)[0]) for line in steps[1:]]
    assert [c[0] for c in commands] == ["vdfs"] * len(commands)
    for cmd in commands:
        if cmd[1] == "index":
            continue                       # the user's own folder
        r = subprocess.run([sys.executable, "-m", "core.cli", *cmd[1:]], capture_output=True,
                           text=True, env=env, cwd=tmp_path, timeout=60)
        assert r.returncode == 0, (cmd, r.stderr)
        if cmd[1:3] == ["query", 'entries tagged "#vacation"']:
            assert "/Photos/2024/sunset.jpg," in r.stdout.splitlines()[1]
    on_path = dict(env, PATH=bindir + ":/usr/bin:/bin")
    out = subprocess.run([sys.executable, "-m", "core.cli.demo", "./demo.vdfs"], capture_output=True,
                         text=True, env=on_path, cwd=tmp_path, timeout=120).stdout
    if os.path.exists(os.path.join(bindir, "vdfs")):
        assert "activate" not in out.split("next steps:\n", 1)[1]


def test_an_index_with_hash_workers_prints_only_its_report(tmp_path):
    """The hashing helper processes say nothing on the terminal: `python -m` of a module the
    package had already imported printed runpy's RuntimeWarning on every `vdfs index`."""
    tree = build_tree(tmp_path / "t", files=40)
    env = dict(os.environ, VDFS_INDEX_BULK_MIN="1", VDFS_INDEX_PARALLEL_MIN="1")
    r = subprocess.run([sys.executable, "-m", "core.cli", "-L", str(tmp_path / "l.vdfs"), "index",
                        str(tree), "--no-progress", "--workers", "2"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [f"created library {tmp_path / 'l.vdfs'}"]
    assert "hashed" in r.stdout


def test_summary_groups_the_digits_of_every_count():
    """`110,000 files`, as `vdfs index` and sizes print them (a newcomer read `110000`)."""
    from core.indexer.summary import format_summary
    text = format_summary({"locations": 1, "files": 110000, "folders": 1228, "bytes": 10**9,
                           "kinds": [{"kind": "text", "files": 104000, "bytes": 5 * 10**8}],
                           "duplicate_groups": 1500, "redundant_copies": 2300,
                           "redundant_bytes": 10**6, "duplicates": []})
    assert "110,000 files in 1,228 folders" in text
    assert "104,000" in text and "duplicate groups: 1,500 (2,300 redundant copies" in text

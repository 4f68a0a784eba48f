"""Opening a library costs the same at any size: no whole-file check on open.

A damaged header, an empty or truncated file is still refused at open (cheap checks); damage
deep inside the file is found by `vdfs check`, and after an unclean shutdown by a check that
runs in the background.
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import core
from core.store import db, integrity

N_TAGS = 2000


def _library_with_tags(path):
    lib = core.Library.create(path)
    lib.conn.executemany("INSERT INTO tags (uuid, name, created_at) VALUES (?, ?, 'n')",
                         [(i.to_bytes(16, "big"), f"t{i:05d}" * 20) for i in range(N_TAGS)])
    lib.close()
    return path


def _damage_a_tags_page(path) -> None:
    """Scribble over one leaf page of the tags table, leaving the header and schema intact."""
    dbfile = path / "library.db"
    conn = sqlite3.connect(dbfile)
    # The row in the middle of the table lives on a leaf page well past page 1.
    rowid = conn.execute("SELECT rowid FROM tags ORDER BY rowid LIMIT 1 OFFSET ?",
                         (N_TAGS // 2,)).fetchone()[0]
    conn.close()
    data = bytearray(dbfile.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    needle = f"t{N_TAGS // 2:05d}".encode() * 20
    at = data.find(needle)
    assert at > page_size and rowid
    page = at // page_size * page_size
    data[page:page + page_size] = b"\xa5" * page_size
    dbfile.write_bytes(bytes(data))


def _vdfs(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core.cli", *args], capture_output=True,
                          text=True, timeout=60, env=os.environ.copy())


def test_open_never_runs_a_whole_file_check(tmp_path):
    """Damage in the body of the file does not stop an open (no quick_check), and the parts
    that are intact answer; `vdfs check` finds and names the damage."""
    path = _library_with_tags(tmp_path / "d.vdfs")
    _damage_a_tags_page(path)
    with core.Library.open(path) as lib:
        assert lib.conn.execute("SELECT count(*) FROM devices").fetchone()[0] == 1
    done = _vdfs("-L", str(path), "check")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "library.db" in done.stdout and "ok" not in done.stdout.split("library.db")[1][:6]
    assert "jobs.db: ok" in done.stdout


def test_vdfs_check_reports_a_healthy_library(tmp_path):
    path = _library_with_tags(tmp_path / "h.vdfs")
    done = _vdfs("-L", str(path), "check", "--full")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "library.db: ok" in done.stdout and "jobs.db: ok" in done.stdout


def test_vdfs_check_reports_a_file_that_cannot_open(tmp_path):
    path = _library_with_tags(tmp_path / "g.vdfs")
    (path / "library.db").write_bytes(b"this is not sqlite" * 100)
    done = _vdfs("-L", str(path), "check")
    assert done.returncode == 1
    assert "library.db" in done.stdout and "not a readable SQLite database" in done.stdout


def _statements_of_an_open(path) -> list[str]:
    """Every statement the connections of one open (and close) of `path` run, traced."""
    seen: list[str] = []
    real_connect = sqlite3.connect

    def tracing_connect(*args, **kwargs):
        conn = real_connect(*args, **kwargs)
        conn.set_trace_callback(seen.append)
        return conn

    sqlite3.connect = tracing_connect
    try:
        core.Library.open(path).close()
    finally:
        sqlite3.connect = real_connect
    assert any("user_version" in s for s in seen)       # the trace did see the open's checks
    return seen


def test_open_runs_no_integrity_pragma(tmp_path):
    """Every statement the open's connections run is traced: none scans the whole file."""
    seen = _statements_of_an_open(_library_with_tags(tmp_path / "t.vdfs"))
    assert not [s for s in seen if "quick_check" in s or "integrity_check" in s]


def test_opening_a_current_library_runs_no_migration_step(tmp_path):
    """On a library whose schema is current there is no migration pass (it would open a
    writing connection to each file just to learn there is nothing to do), and an open soon
    after the last one writes nothing."""
    path = _library_with_tags(tmp_path / "m.vdfs")
    core.Library.open(path).close()
    seen = _statements_of_an_open(path)
    writes = [s for s in seen if s.split(None, 1)[0].upper() in
              ("INSERT", "UPDATE", "DELETE", "BEGIN", "CREATE", "ALTER", "DROP")]
    assert writes == []
    assert not [s for s in seen if "foreign_keys = OFF" in s]


def test_a_truncated_header_size_is_refused_cheaply(tmp_path):
    path = _library_with_tags(tmp_path / "x.vdfs")
    data = (path / "library.db").read_bytes()
    (path / "library.db").write_bytes(data[: len(data) - 4096])
    with pytest.raises(core.CorruptLibraryError, match="library.db.*(truncated|damaged)"):
        core.Library.open(path)


_WRITER = """
import os, sys, core
lib = core.Library.open(sys.argv[1])
lib.conn.execute("INSERT INTO tags (uuid, name, created_at) VALUES (randomblob(16), 'x', 'n')")
print("written", flush=True)
sys.stdin.read()
"""


def test_after_an_unclean_shutdown_a_check_runs_in_the_background(tmp_path):
    path = _library_with_tags(tmp_path / "k.vdfs")
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        assert writer.stdout.readline().strip() == "written"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    assert os.path.getsize(path / "library.db-wal") > 0      # the crash left its WAL
    with core.Library.open(path) as lib:
        check = lib.background_check
        assert check is not None
        check.join(timeout=30)
        assert check.result == {"library.db": [], "jobs.db": []}
    record = json.loads((path / "logs" / integrity.CHECK_LOG).read_text())
    assert record["ok"] is True and record["reason"] == "unclean shutdown"


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="who holds a file open: Linux")
def test_a_library_another_process_holds_open_is_not_an_unclean_shutdown(tmp_path):
    """A live process with the library open (a notebook) has a WAL with frames too: a `vdfs
    query` meanwhile must not take it for a crash and check the whole file behind its lookup."""
    path = _library_with_tags(tmp_path / "o.vdfs")
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        assert writer.stdout.readline().strip() == "written"
        assert os.path.getsize(path / "library.db-wal") > 0
        with core.Library.open(path) as lib:
            assert lib.background_check is None
            assert lib.conn.execute("SELECT count(*) FROM tags WHERE name = 'x'").fetchone()[0] == 1
    finally:
        writer.stdin.close()
        writer.wait(timeout=30)
    assert not (path / "logs" / integrity.CHECK_LOG).exists()


def test_a_clean_shutdown_starts_no_background_check(tmp_path):
    path = _library_with_tags(tmp_path / "c.vdfs")
    assert not (path / "library.db-wal").exists()
    with core.Library.open(path) as lib:
        assert lib.background_check is None


def test_check_finds_what_quick_check_finds(tmp_path):
    path = _library_with_tags(tmp_path / "q.vdfs")
    _damage_a_tags_page(path)
    problems = integrity.check_file(path / "library.db")
    assert problems and all(isinstance(p, str) for p in problems)
    assert integrity.check_file(path / "jobs.db") == []
    assert db.check_readable(path / "library.db") == db.latest_library_version()


def test_opening_a_current_library_reads_no_schema_file(tmp_path):
    """The latest versions come from the schema files' names; their SQL is read only to
    migrate (every file opened during the open is seen by an audit hook)."""
    path = _library_with_tags(tmp_path / "s.vdfs")
    opened: list[str] = []
    listening = [True]

    def hook(event: str, args: tuple) -> None:
        if listening[0] and event == "open" and str(args[0]).endswith(".sql"):
            opened.append(str(args[0]))

    sys.addaudithook(hook)           # hooks cannot be removed: this one goes quiet after
    try:
        core.Library.open(path).close()
    finally:
        listening[0] = False
    assert opened == []

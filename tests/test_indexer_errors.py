"""Bad inputs never stop an index: non-UTF-8 names are stored losslessly, symlinks (loops
included) are recorded and never followed, unreadable folders and vanishing files are listed
in the job's result, and what could not be read is not deleted."""
from __future__ import annotations

import os
import shutil

import pytest

from core.indexer.walk import discover
from indexer_tree import snapshot


def test_non_utf8_names_are_stored_losslessly(lib, tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    broot = os.fsencode(root)
    os.mkdir(os.path.join(broot, b"dir\xfe"))
    for name, data in ((b"bad\xff.txt", b"first"), (b"dir\xfe/in\xe9side.bin", b"x" * 200_000)):
        with open(os.path.join(broot, name), "wb") as f:
            f.write(data)
    (root / "caf\u00e9.txt").write_text("valid UTF-8 is not escaped")
    result = lib.index(root).wait()
    assert result["errors"] == [] and result["skipped"] == []
    rows = {r[0]: r[1:] for r in lib.conn.execute(
        "SELECT name, path, raw_path, content_id FROM entries")}
    path, raw, cid = rows["bad\\xff.txt"]
    assert raw == os.path.join(broot, b"bad\xff.txt") and path == str(root) + "/bad\\xff.txt"
    assert cid is not None
    path, raw, cid = rows["in\\xe9side.bin"]
    assert raw == os.path.join(broot, b"dir\xfe/in\xe9side.bin") and cid is not None
    assert rows["dir\\xfe"][1] == os.path.join(broot, b"dir\xfe")
    assert rows["caf\u00e9.txt"][1] is None
    # raw_path opens the very file
    with open(rows["bad\\xff.txt"][1], "rb") as f:
        assert f.read() == b"first"
    again = lib.index(root).wait()
    assert (again["created"], again["modified"], again["deleted"]) == (0, 0, 0)
    os.rename(os.path.join(broot, b"bad\xff.txt"), os.path.join(broot, b"good.txt"))
    moved = lib.index(root).wait()
    assert moved["moved"] == 1 and moved["created"] == 0


def test_symlinks_are_recorded_not_followed(lib, tmp_path):
    root = tmp_path / "t"
    (root / "d").mkdir(parents=True)
    (root / "d" / "f.txt").write_text("target")
    os.symlink(".", root / "d" / "loop")           # a loop
    os.symlink("../d", root / "d" / "up")           # points back up
    os.symlink("f.txt", root / "d" / "to_file")
    os.symlink("/nonexistent/target", root / "dangling")
    result = lib.index(root).wait()
    assert result["errors"] == []
    rows = {r[0]: r[1:] for r in lib.conn.execute(
        "SELECT name, kind, is_dir, size, content_id FROM entries")}
    for name in ("loop", "up", "to_file", "dangling"):
        assert rows[name] == ("symlink", 0, 0, None), name
    assert lib.conn.execute("SELECT count(*) FROM entries").fetchone()[0] == 7
    (root / "d" / "to_file").unlink()
    os.symlink("elsewhere", root / "d" / "to_file")   # retargeted: a new link inode
    assert lib.index(root).wait()["modified"] == 2    # the link and its folder
    assert lib.conn.execute("SELECT inode FROM entries WHERE name = 'to_file'").fetchone() == \
        (os.lstat(root / "d" / "to_file").st_ino,)


def _deep(root: str, levels: int) -> str:
    """A folder nested past PATH_MAX (4096): the walker cannot list it by path."""
    fd = os.open(root, os.O_RDONLY)
    name = "n" * 200
    try:
        for _ in range(levels):
            os.mkdir(name, dir_fd=fd)
            nfd = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        with open(os.open("leaf.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as f:
            f.write("deep")
    finally:
        os.close(fd)
    return name


def test_unlistable_folders_are_reported_and_kept(lib, tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    (root / "ok.txt").write_text("fine")
    name = _deep(str(root), 22)
    result = lib.index(root).wait()
    assert result["errors_total"] >= 1
    assert any("File name too long" in e["reason"] for e in result["errors"])
    assert lib.conn.execute("SELECT count(*) FROM entries WHERE name = 'ok.txt'").fetchone() == (1,)
    before = lib.conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    assert before > 10
    again = lib.index(root).wait()
    assert again["deleted"] == 0     # unknown is not gone
    assert lib.conn.execute("SELECT count(*) FROM entries").fetchone()[0] == before
    shutil.rmtree(root / name, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_permission_denied_folder(lib, tmp_path):
    root = tmp_path / "t"
    (root / "locked").mkdir(parents=True)
    (root / "locked" / "secret.txt").write_text("s")
    lib.index(root).wait()
    os.chmod(root / "locked", 0)
    try:
        result = lib.index(root).wait()
        assert any(e["path"] == str(root / "locked") for e in result["errors"])
        assert result["deleted"] == 0
    finally:
        os.chmod(root / "locked", 0o755)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv to drop the capability to read any folder")
def test_permission_denied_folder_as_root_without_dac_override(lib, tmp_path):
    """As root (CI), a real `vdfs index` runs without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH,
    so a mode-0 folder is unreadable to it: reported, never fatal, its entries kept."""
    import json
    import sqlite3
    import subprocess
    import sys
    root = tmp_path / "t"
    (root / "locked").mkdir(parents=True)
    (root / "locked" / "secret.txt").write_text("s")
    (root / "open.txt").write_text("o")
    lib.index(root).wait()
    lib.close()
    (root / "later.txt").write_text("new")
    os.chmod(root / "locked", 0)
    try:
        proc = subprocess.run(
            ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", sys.executable,
             "-m", "core.cli", "-L", str(lib.path), "index", str(root), "--no-progress"],
            capture_output=True, text=True, timeout=120)
    finally:
        os.chmod(root / "locked", 0o755)
    assert proc.returncode == 0, proc.stderr
    conn = sqlite3.connect(lib.path / "library.db")
    names = {r[0] for r in conn.execute("SELECT name FROM entries")}
    assert {"secret.txt", "open.txt", "later.txt"} <= names      # unknown is not gone
    jobs = sqlite3.connect(lib.path / "jobs.db")
    (result,) = jobs.execute("SELECT result FROM jobs WHERE name = 'core.index' "
                             "ORDER BY created_at DESC LIMIT 1").fetchone()
    result = json.loads(result)
    assert any(e["path"] == str(root / "locked") for e in result["errors"]), result["errors"]
    assert result["deleted"] == 0


def test_folder_vanishing_mid_walk_is_skipped(tmp_path):
    root = tmp_path / "t"
    for d in ("a", "b", "c"):
        (root / d / "sub").mkdir(parents=True)
        (root / d / "sub" / "f.txt").write_text(d)

    calls = []

    def remove_others(n):   # once the root is listed, its folders disappear
        calls.append(n)
        if len(calls) == 1:
            for d in ("a", "b", "c"):
                shutil.rmtree(root / d, ignore_errors=True)
    disc = discover(str(root), {}, after_dir=remove_others)
    assert {s["reason"] for s in disc.skipped} == {"vanished during the walk"}
    assert len(disc.skipped) == 3


def test_file_vanishing_before_hashing_is_skipped(lib, tmp_path):
    root = tmp_path / "t"
    (root / "d").mkdir(parents=True)
    (root / "d" / "gone.txt").write_text("soon gone")
    (root / "stays.txt").write_text("here")

    def vanish(event):   # entry.created of the folder lands before the content phase
        if event.payload.get("path") == str(root / "d"):
            os.unlink(root / "d" / "gone.txt")
    lib.events.subscribe(vanish, kinds=["entry.created"])
    result = lib.index(root).wait()
    assert result["skipped"] == [{"path": str(root / "d" / "gone.txt"),
                                  "reason": "vanished before it was hashed"}]
    assert result["hashed"] == 1
    again = lib.index(root).wait()         # the next index removes it
    assert again["deleted"] == 1 and again["skipped"] == []
    snap = snapshot(lib, root)
    assert "d/gone.txt" not in snap["entries"]


def test_special_files_are_skipped(lib, tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    os.mkfifo(root / "pipe")
    (root / "f.txt").write_text("x")
    result = lib.index(root).wait()
    assert result["skipped"] == [{"path": str(root / "pipe"),
                                  "reason": "not a regular file, folder or symlink"}]
    assert lib.conn.execute("SELECT count(*) FROM entries").fetchone() == (2,)


def test_missing_location_root_fails_clearly_and_keeps_entries(lib, tmp_path):
    from core.jobs import JobFailed
    root = tmp_path / "t"
    root.mkdir()
    (root / "f.txt").write_text("x")
    loc = lib.add_location(root)
    lib.index(loc).wait()
    shutil.rmtree(root)
    with pytest.raises(JobFailed, match="the folder no longer exists"):
        lib.index(loc).wait()
    assert lib.conn.execute("SELECT count(*) FROM entries").fetchone() == (2,)

"""The first answer of a fresh process: `vdfs query` opens a library and looks one entry up,
and every module it imports on the way is paid for by every CLI call.

No timings here (benchmarks/open_bench.py measures them): these tests hold what makes the
first answer cheap, namely what the open and the lookup must not import.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import core

REPO = Path(__file__).resolve().parent.parent

# Heavy modules a point lookup never needs: the scan engine and its arrays, the job runner's
# event loop (only jobs that were registered in this process run on open), the extensions'
# access checks and what reading a file's EXIF takes (rows of a user's query read no file).
NOT_ON_THE_POINT_PATH = ("numpy", "duckdb", "pyarrow", "asyncio", "core.jobs", "core.access",
                         "PIL")

_FRESH = """
import json, sys, uuid, core
lib = core.Library.open(sys.argv[1])
opened = set(sys.modules)
rows = len(lib.query("entries where uuid = :u", u=uuid.UUID(sys.argv[2])))
lib.close()
print(json.dumps({"rows": rows, "open": sorted(opened), "point": sorted(sys.modules)}))
"""


def _fresh(path: Path, entry_uuid: str) -> dict:
    """Open and look up in a fresh process of this device (the test's VDFS_HOME)."""
    out = subprocess.run([sys.executable, "-c", _FRESH, str(path), entry_uuid],
                         capture_output=True, text=True, cwd=REPO, timeout=120,
                         env=os.environ.copy())
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _library_with_one_entry(path: Path) -> str:
    lib = core.Library.create(path)
    lib.conn.execute("INSERT INTO locations (uuid, device_id, path, name, created_at) "
                     "VALUES (randomblob(16), ?, '/data', 'data', 'n')", (lib.device_id,))
    lib.conn.execute("INSERT INTO entries (uuid, location_id, path, name, kind, indexed_at) "
                     "VALUES (?, 1, '/data/a.txt', 'a.txt', 'text', 'n')", (bytes(range(16)),))
    lib.close()
    return "00010203-0405-0607-0809-0a0b0c0d0e0f"


def _loaded(modules: list[str], name: str) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


def test_open_and_a_point_lookup_import_no_heavy_module(tmp_path):
    """The lookup finds its row, and neither the open nor the lookup loaded numpy, DuckDB,
    pyarrow, asyncio, the job runner, access checks or PIL."""
    entry = _library_with_one_entry(tmp_path / "lib.vdfs")
    seen = _fresh(tmp_path / "lib.vdfs", entry)
    assert seen["rows"] == 1
    for phase in ("open", "point"):
        loaded = [name for name in NOT_ON_THE_POINT_PATH if _loaded(seen[phase], name)]
        assert loaded == [], f"{phase} loaded {loaded}"


def _file_state(path: Path) -> tuple:
    conn = sqlite3.connect(path / "library.db")
    try:
        return (conn.execute("SELECT count(*) FROM change_log").fetchone()[0],
                conn.execute("SELECT id, last_seen_at FROM devices").fetchall())
    finally:
        conn.close()


def test_a_lookup_soon_after_the_last_open_writes_nothing(tmp_path):
    """Reading is all a `vdfs query` does: an open shortly after the last one leaves library.db
    as it was (no device refresh, no change-log row), so no write or checkpoint is paid."""
    path = tmp_path / "lib.vdfs"
    entry = _library_with_one_entry(path)
    core.Library.open(path).close()
    before, data = _file_state(path), (path / "library.db").read_bytes()
    seen = _fresh(path, entry)
    assert seen["rows"] == 1
    assert _file_state(path) == before
    assert (path / "library.db").read_bytes() == data


def test_an_open_long_after_the_last_one_records_the_device_as_seen(tmp_path):
    path = tmp_path / "lib.vdfs"
    _library_with_one_entry(path)
    long_ago = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")
    conn = sqlite3.connect(path / "library.db")
    conn.execute("UPDATE devices SET last_seen_at = ?", (long_ago,))
    conn.commit()
    conn.close()
    with core.Library.open(path) as lib:
        seen = lib.conn.execute("SELECT last_seen_at FROM devices WHERE id = ?",
                                (lib.device_id,)).fetchone()[0]
    assert seen > long_ago
    assert dt.datetime.fromisoformat(seen) > dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)


def test_an_open_by_a_new_device_registers_it(tmp_path, monkeypatch):
    path = tmp_path / "lib.vdfs"
    _library_with_one_entry(path)
    monkeypatch.setenv("VDFS_HOME", str(tmp_path / "another-home"))     # another device
    with core.Library.open(path) as lib:
        rows = lib.conn.execute("SELECT id, uuid FROM devices ORDER BY id").fetchall()
        assert len(rows) == 2 and rows[1] == (lib.device_id, lib.device_uuid.bytes)


def test_a_cli_query_does_not_read_package_metadata(tmp_path):
    """`vdfs query` answers without the version text that only `vdfs --version` prints (reading
    the installed package's metadata imports importlib.metadata and the email package)."""
    path = tmp_path / "lib.vdfs"
    entry = _library_with_one_entry(path)
    code = ("import sys, core.cli; rc = core.cli.main(sys.argv[1:]); "
            "print('importlib.metadata' in sys.modules, 'email' in sys.modules, rc)")
    out = subprocess.run([sys.executable, "-c", code, "-L", str(path), "query",
                          "entries where uuid = :u select name", "-p", f"u={entry}", "-f", "json"],
                         capture_output=True, text=True, cwd=REPO, timeout=120, env=os.environ.copy())
    assert out.returncode == 0, out.stderr
    assert '"a.txt"' in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "False False 0"


def test_a_repeated_lookup_text_needs_no_parser(tmp_path, monkeypatch):
    """The second process asking the same text (new parameter values, as `vdfs query -p` is
    run again) answers without importing Lark: the tree comes from the cache of parsed texts."""
    monkeypatch.setenv("VDFS_CACHE_DIR", str(tmp_path / "cache"))     # no text parsed yet
    path = tmp_path / "lib.vdfs"
    entry = _library_with_one_entry(path)
    first = _fresh(path, entry)
    again = _fresh(path, "00000000-0000-0000-0000-000000000000")
    assert (first["rows"], again["rows"]) == (1, 0)
    assert _loaded(first["point"], "lark")
    assert not _loaded(again["point"], "lark")

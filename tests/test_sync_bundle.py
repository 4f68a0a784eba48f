"""Bundles: the CLI round trip, and every kind of bad bundle refused with nothing changed."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import uuid

import blake3
import pytest

import core
from core.sync import bundle as bundles
from core.sync.errors import (BundleCorruptError, BundleOutOfOrderError, BundleReplayedError,
                              ForeignLibraryError, ForeignWriteError, SyncError)
from core.sync.hlc import format_stamp, wall_ms
from core.sync.records import Record
from tests.sync_support import content_uuid_of, device_library, exchange, indexed_folder


@pytest.fixture
def two(tmp_path, monkeypatch):
    a = device_library(tmp_path, "desk", monkeypatch)
    b = device_library(tmp_path, "laptop", monkeypatch)
    indexed_folder(a, tmp_path / "desk-files", {"a.txt": b"alpha", "b.txt": b"beta"})
    exchange(a, b, tmp_path, join=True)
    yield a, b
    a.close()
    b.close()


def _snapshot(lib: core.Library) -> tuple:
    conn = lib.conn
    return (lib.sync.digest(), conn.execute("SELECT count(*), max(seq) FROM sync_records").fetchone(),
            conn.execute("SELECT * FROM sync_peers ORDER BY device_uuid").fetchall(),
            conn.execute("SELECT * FROM sync_meta ORDER BY key").fetchall())


def _fresh_bundle(a: core.Library, b: core.Library, tmp_path, tag: str) -> os.PathLike:
    a.vdfs().add_tag_to_content(content_uuid_of(a, "a.txt"), tag)
    path = tmp_path / f"{tag[1:]}.vdfsbundle"
    a.sync.export(path, peer=str(b.device_uuid))
    return path


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "empty", "count"])
def test_a_damaged_bundle_is_refused_and_changes_nothing(two, tmp_path, damage):
    a, b = two
    path = _fresh_bundle(a, b, tmp_path, "#new")
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
    elif damage == "truncate":
        data = data[: len(data) - 7]
    elif damage == "garbage":
        data = bytearray(os.urandom(300))
    elif damage == "empty":
        data = bytearray()
    else:       # a well-formed file whose header lies about its records, checksum recomputed
        body = re.sub(rb'"count": \d+', b'"count": 99', bundles.encode(bundles.read(path))[:-32])
        data = bytearray(body + blake3.blake3(body).digest())
    path.write_bytes(bytes(data))
    before = _snapshot(b)
    with pytest.raises(BundleCorruptError):
        b.sync.import_(path)
    assert _snapshot(b)[0] == before[0] and b.vdfs().get_tag("#new") is None


def test_a_replayed_bundle_is_refused_and_changes_nothing(two, tmp_path):
    a, b = two
    path = _fresh_bundle(a, b, tmp_path, "#once")
    b.sync.import_(path)
    assert b.vdfs().get_tag("#once") is not None
    before = _snapshot(b)
    with pytest.raises(BundleReplayedError, match="already imported"):
        b.sync.import_(path)
    assert _snapshot(b) == before


def test_an_out_of_order_bundle_is_refused_then_a_new_export_fills_the_gap(two, tmp_path):
    """b restored from a backup taken before it imported bundle 1: bundle 2 starts after
    changes b no longer has, so it is refused; a fresh export from a covers both."""
    a, b = two
    backup = tmp_path / "laptop-backup.vdfs"
    b_path = b.path
    b.close()
    shutil.copytree(b_path, backup)
    b = core.Library.open(b_path)
    exchange(a, b, tmp_path)                       # b acknowledges a's changes so far
    one = _fresh_bundle(a, b, tmp_path, "#one")
    b.sync.import_(one)
    exchange(b, a, tmp_path)                       # a learns that b has #one
    two_ = _fresh_bundle(a, b, tmp_path, "#two")
    b.close()
    old = core.Library.open(backup)                # the backup: same device, older state
    try:
        before = _snapshot(old)
        with pytest.raises(BundleOutOfOrderError, match="earlier bundle"):
            old.sync.import_(two_)
        assert _snapshot(old) == before
        full = tmp_path / "full.vdfsbundle"
        a.sync.export(full)                        # no peer: everything, from the start
        old.sync.import_(full)
        assert {t.name for t in old.vdfs().list_tags()} >= {"#one", "#two"}
        assert old.sync.digest() == a.sync.digest()
    finally:
        old.close()


def test_a_bundle_of_another_library_is_refused(two, tmp_path, monkeypatch):
    a, b = two
    other = device_library(tmp_path, "stranger", monkeypatch)
    try:
        path = tmp_path / "stranger.vdfsbundle"
        other.sync.export(path)
        before = _snapshot(b)
        with pytest.raises(ForeignLibraryError, match="belongs to library"):
            b.sync.import_(path)
        with pytest.raises(ForeignLibraryError):
            b.sync.import_(path, join=True)        # b has synced already: it cannot switch
        assert _snapshot(b) == before
    finally:
        other.close()


def test_a_write_to_rows_another_device_owns_is_refused_and_logged(two, tmp_path):
    a, b = two
    entry = a.query('files where name = "a.txt"').rows()[0]
    key = f"entry/{entry['uuid']}"
    value = json.loads(a.conn.execute("SELECT value FROM sync_records WHERE key = ?",
                                      (key,)).fetchone()[0])
    value["name"] = "hijacked.txt"
    b.sync.scan()
    forged = bundles.Bundle(
        library_id=b.sync.library_id(), sender=str(b.device_uuid), sender_name="laptop",
        to=str(a.device_uuid), from_seq=0, to_seq=10**6, ack=0,
        records=[Record(key, format_stamp(wall_ms() + 1000, 0, b.device_uuid),
                        json.dumps(value))])
    path = tmp_path / "forged.vdfsbundle"
    bundles.write(path, forged)
    before = _snapshot(a)
    with pytest.raises(ForeignWriteError, match="owns"):
        a.sync.import_(path)
    assert _snapshot(a) == before
    assert a.query('files where name = "hijacked.txt"').rows() == []
    (reason,) = a.conn.execute("SELECT reason FROM sync_refusals").fetchone()
    assert key in reason


def test_a_bundle_from_this_device_itself_is_refused(two, tmp_path):
    a, _ = two
    path = tmp_path / "self.vdfsbundle"
    a.sync.export(path)
    with pytest.raises(SyncError, match="this device itself"):
        a.sync.import_(path)


def test_cli_export_import_round_trip(tmp_path, monkeypatch):
    a = device_library(tmp_path, "desk", monkeypatch)
    indexed_folder(a, tmp_path / "files", {"x.txt": b"x"})
    a.vdfs().add_tag_to_content(content_uuid_of(a, "x.txt"), "#cli")
    a.close()
    b = device_library(tmp_path, "laptop", monkeypatch)
    b.close()
    bundle = tmp_path / "out.vdfsbundle"

    def vdfs(lib: str, home: str, *args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "VDFS_HOME": str(tmp_path / f"{home}-home"),
               "VDFS_DEVICE_NAME": home}
        return subprocess.run([sys.executable, "-m", "core.cli", "-L", lib, *args], env=env,
                              capture_output=True, text=True, timeout=60)

    out = vdfs(str(tmp_path / "desk.vdfs"), "desk", "sync", "export", "--to", str(bundle))
    assert out.returncode == 0 and "wrote" in out.stdout, out.stderr
    refused = vdfs(str(tmp_path / "laptop.vdfs"), "laptop", "sync", "import", str(bundle))
    assert refused.returncode == 1 and "belongs to library" in refused.stderr
    done = vdfs(str(tmp_path / "laptop.vdfs"), "laptop", "sync", "import", str(bundle), "--join")
    assert done.returncode == 0 and "applied" in done.stdout, done.stderr
    again = vdfs(str(tmp_path / "laptop.vdfs"), "laptop", "sync", "import", str(bundle))
    assert again.returncode == 1 and "already imported" in again.stderr
    status = vdfs(str(tmp_path / "laptop.vdfs"), "laptop", "sync", "status")
    assert "desk" in status.stdout and "this device" in status.stdout
    with core.Library.open(tmp_path / "laptop.vdfs") as lib:
        assert [r["name"] for r in lib.query('files tagged "#cli"').rows()] == ["x.txt"]


KILLER = textwrap.dedent("""
    import os, signal, sys
    import core
    from core.sync import apply
    real, count = apply.materialize, [0]
    def dying(*a, **k):
        count[0] += 1
        if count[0] == int(sys.argv[3]):
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*a, **k)
    apply.materialize = dying
    lib = core.Library.open(sys.argv[1])
    lib.sync.import_(sys.argv[2], join=True)
""")


def test_kill_9_mid_import_leaves_the_library_as_it_was_and_the_next_import_completes(
        tmp_path, monkeypatch):
    a = device_library(tmp_path, "desk", monkeypatch)
    indexed_folder(a, tmp_path / "files", {f"f{i}.txt": f"file {i}".encode() for i in range(20)})
    for i in range(5):
        a.vdfs().add_tag_to_content(content_uuid_of(a, f"f{i}.txt"), f"#t{i}")
    bundle = tmp_path / "big.vdfsbundle"
    a.sync.export(bundle)
    b = device_library(tmp_path, "laptop", monkeypatch)
    before = b.sync.digest()
    b.close()
    env = {**os.environ, "VDFS_HOME": str(tmp_path / "laptop-home"), "VDFS_DEVICE_NAME": "laptop"}
    proc = subprocess.run([sys.executable, "-c", KILLER, str(tmp_path / "laptop.vdfs"),
                           str(bundle), "15"], env=env, timeout=60)
    assert proc.returncode == -9
    monkeypatch.setenv("VDFS_HOME", env["VDFS_HOME"])
    b = core.Library.open(tmp_path / "laptop.vdfs")
    try:
        assert b.sync.digest() == before
        assert b.conn.execute("SELECT count(*) FROM sync_records").fetchone()[0] == 0
        b.sync.import_(bundle, join=True)
        back = tmp_path / "back.vdfsbundle"
        b.sync.export(back, peer="desk")
        a.sync.import_(back)
        assert b.sync.digest() == a.sync.digest()
    finally:
        b.close()
        a.close()

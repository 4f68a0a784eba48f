"""Live sync over real sockets on 127.0.0.1: pairing, authenticated push + pull, refusals."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

import core
from core.sync import bundle as bundles
from core.sync.errors import PairingError, UnauthorizedError
from core.sync.http import sign
from tests.sync_support import content_uuid_of, device_library, indexed_folder


@pytest.fixture
def served(tmp_path, monkeypatch):
    a = device_library(tmp_path, "desk", monkeypatch)
    indexed_folder(a, tmp_path / "desk-files", {"a.txt": b"alpha", "same.txt": b"same bytes"})
    b = device_library(tmp_path, "laptop", monkeypatch)
    indexed_folder(b, tmp_path / "laptop-files", {"b.txt": b"beta", "copy.txt": b"same bytes"})
    server = a.sync.serve(port=0)
    yield a, b, server.url
    server.stop()
    a.close()
    b.close()


def test_pair_then_both_sides_converge_over_http(served):
    a, b, url = served
    b.sync.with_peer(url, code=a.sync.pair())
    b.sync.with_peer(url)        # a pushed only what b lacked; b now has a's entries too
    for lib in (a, b):
        assert {r["name"] for r in lib.query("files where duplicates").rows()} == \
            {"same.txt", "copy.txt"}
    cu_a, cu_same = content_uuid_of(a, "a.txt"), content_uuid_of(a, "same.txt")
    va, vb = a.vdfs(), b.vdfs()
    va.add_tag_to_content(cu_same, "#both")
    vb.add_tag_to_content(cu_a, "#from-laptop")
    vb.create_collection("Picks")
    vb.add_to_collection("Picks", cu_a, kind="content")
    va.set_note(cu_same, "desk note", scope="content")
    a.sync.scan()
    time.sleep(0.005)     # a later millisecond: b has not seen a's stamp, only the clock orders
    vb.set_note(cu_same, "laptop note, later", scope="content")
    b.sync.with_peer(url)
    assert a.sync.digest() == b.sync.digest()
    assert va.get_metadata(cu_same, scope="content").notes == "laptop note, later"
    assert [i.uuid.hex for i in va.collection_items("Picks")] == [cu_a.replace("-", "")]
    # removals on both sides; a delete is not undone by the other side's older state
    va.remove_tag_from_content(cu_a, "#from-laptop")
    vb.remove_from_collection("Picks", cu_a, kind="content")
    b.sync.with_peer(url)
    b.sync.with_peer(url)
    for lib in (a, b):
        assert [t.name for t in lib.vdfs().tags_of_content(cu_a)] == []
        assert lib.vdfs().collection_items("Picks") == []
        assert {r["name"] for r in lib.query('files tagged "#both"').rows()} == \
            {"same.txt", "copy.txt"}
    assert a.sync.digest() == b.sync.digest()


def test_a_wrong_or_used_code_is_refused(served):
    a, b, url = served
    with pytest.raises(PairingError, match="refused the pairing code"):
        b.sync.with_peer(url, code="AAAAA-AAAAA")
    code = a.sync.pair()
    b.sync.with_peer(url, code=code)
    with pytest.raises(PairingError):
        b.sync.with_peer(url, code=code)


def test_an_unpaired_device_gets_401_and_nothing(served, tmp_path, monkeypatch):
    a, b, url = served
    with pytest.raises(PairingError, match="not paired"):
        b.sync.with_peer(url)
    before = a.sync.digest()
    body = bundles.encode(b.sync.make_bundle())
    headers = sign("00" * 32, b.device_uuid, "POST", "/sync", body)
    resp = httpx.post(f"{url}/sync", content=body, headers=headers)
    assert resp.status_code == 401 and resp.content == b""
    assert a.sync.digest() == before
    assert not a.query('files where name = "b.txt"').rows()


def test_tampered_replayed_and_revoked_requests_get_401(served):
    a, b, url = served
    b.sync.with_peer(url, code=a.sync.pair())
    secret = b.conn.execute("SELECT secret FROM sync_peers").fetchone()[0]
    body = bundles.encode(b.sync.make_bundle("desk"))
    headers = sign(secret, b.device_uuid, "POST", "/sync", body)
    assert httpx.post(f"{url}/sync", content=body + b"x", headers=headers).status_code == 401
    assert httpx.post(f"{url}/sync", content=body, headers=headers).status_code == 200
    assert httpx.post(f"{url}/sync", content=body, headers=headers).status_code == 401  # replay
    assert a.sync.revoke("laptop")
    with pytest.raises(UnauthorizedError, match="401"):
        b.sync.with_peer(url)


def test_cli_serve_pair_and_sync_with(tmp_path, monkeypatch):
    a = device_library(tmp_path, "desk", monkeypatch)
    indexed_folder(a, tmp_path / "files", {"x.txt": b"x bytes"})
    a.close()
    b = device_library(tmp_path, "laptop", monkeypatch)
    b.close()

    def env(name: str) -> dict[str, str]:
        return {**os.environ, "VDFS_HOME": str(tmp_path / f"{name}-home"), "VDFS_DEVICE_NAME": name}

    cli = [sys.executable, "-m", "core.cli", "-L"]
    server = subprocess.Popen([*cli, str(tmp_path / "desk.vdfs"), "sync", "serve", "--port", "0"],
                              env=env("desk"), stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()                      # "serving … at URL (Ctrl-C …)"
        url = line.split(" at ")[1].split()[0]
        pair = subprocess.run([*cli, str(tmp_path / "desk.vdfs"), "pair"], env=env("desk"),
                              capture_output=True, text=True, timeout=60)
        code = pair.stdout.split()[0]
        done = subprocess.run([*cli, str(tmp_path / "laptop.vdfs"), "sync", "with", url,
                               "--code", code], env=env("laptop"), capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0 and "synced with" in done.stdout, done.stderr
    finally:
        server.terminate()
        server.wait(10)
    monkeypatch.setenv("VDFS_HOME", env("laptop")["VDFS_HOME"])
    with core.Library.open(tmp_path / "laptop.vdfs") as lib:
        assert [r["name"] for r in lib.query('files on device "desk"').rows()] == ["x.txt"]


def test_devices_that_exchanged_bundles_first_then_sync_live(served, tmp_path):
    """Acknowledgements travel with bundles, so after a bundle each way the laptop still
    pushes records the desk has: over HTTP that is normal, applied idempotently, not refused."""
    from tests.sync_support import exchange
    a, b, url = served
    exchange(a, b, tmp_path, join=True)
    b.sync.with_peer(url, code=a.sync.pair())
    b.vdfs().add_tag_to_content(content_uuid_of(b, "b.txt"), "#live")
    b.sync.with_peer(url)
    assert [r["name"] for r in a.query('files tagged "#live"').rows()] == ["b.txt"]
    assert a.sync.digest() == b.sync.digest()


def test_guessing_pairing_codes_withdraws_every_open_code(served):
    a, b, url = served
    code = a.sync.pair()
    for _ in range(10):
        resp = httpx.post(f"{url}/pair", json={"code": "WRONG-GUESS", "device": str(b.device_uuid)})
        assert resp.status_code == 401 and resp.content == b""
    with pytest.raises(PairingError):
        b.sync.with_peer(url, code=code)               # the real code is gone too


def test_a_paired_peer_writing_another_devices_rows_is_refused_over_http(served):
    import json

    from core.sync.hlc import format_stamp, wall_ms
    from core.sync.records import Record
    a, b, url = served
    b.sync.with_peer(url, code=a.sync.pair())
    entry = a.query('files where name = "a.txt"').rows()[0]["uuid"]
    key = f"entry/{entry}"
    value = json.loads(a.conn.execute("SELECT value FROM sync_records WHERE key = ?",
                                      (key,)).fetchone()[0])
    value["name"] = "hijacked.txt"
    forged = b.sync.make_bundle("desk")
    forged.records.append(Record(key, format_stamp(wall_ms() + 1000, 0, b.device_uuid),
                                 json.dumps(value)))
    body = bundles.encode(forged)
    secret = b.conn.execute("SELECT secret FROM sync_peers").fetchone()[0]
    before = a.sync.digest()
    resp = httpx.post(f"{url}/sync", content=body,
                      headers=sign(secret, b.device_uuid, "POST", "/sync", body))
    assert resp.status_code == 409 and resp.json()["error"] == "ForeignWriteError"
    assert a.sync.digest() == before
    assert a.conn.execute("SELECT count(*) FROM sync_refusals").fetchone()[0] == 1


def test_a_sync_job_syncs_with_every_paired_peer(served):
    a, b, url = served
    b.sync.with_peer(url, code=a.sync.pair())
    a.vdfs().add_tag_to_content(content_uuid_of(a, "a.txt"), "#by-job")
    result = b.sync.start().wait(30)
    assert result["peers"] == 1 and result["applied"] >= 1 and result["failed"] == {}
    assert [r["name"] for r in b.query('files tagged "#by-job"').rows()] == ["a.txt"]


@pytest.mark.parametrize("restored", ["server", "client"])
def test_a_device_restored_from_a_backup_catches_up_over_http(tmp_path, monkeypatch, restored):
    """A restored backup is behind what its peer saw: over a live link the peer's cursors are
    taken as they are, a push refused as out of order is sent again in full, once, and what
    came from the victim is sent back to it until it has caught up."""
    import shutil
    desk = device_library(tmp_path, "desk", monkeypatch)
    indexed_folder(desk, tmp_path / "desk-files", {"a.txt": b"alpha"})
    laptop = device_library(tmp_path, "laptop", monkeypatch)
    indexed_folder(laptop, tmp_path / "laptop-files", {"b.txt": b"beta"})
    server = desk.sync.serve(port=0)
    try:
        laptop.sync.with_peer(server.url, code=desk.sync.pair())
        victim = desk if restored == "server" else laptop
        backup = tmp_path / "backup.vdfs"
        backup.mkdir()
        victim.conn.execute(f"VACUUM INTO '{backup / 'library.db'}'")      # a consistent copy
        laptop.vdfs().add_tag_to_content(content_uuid_of(laptop, "b.txt"), "#after-backup")
        desk.vdfs().add_tag_to_content(content_uuid_of(desk, "a.txt"), "#desk-after")
        laptop.sync.with_peer(server.url)
        # the victim loses everything since the backup
        server.stop()
        path = victim.path
        home = tmp_path / f"{victim.device_name}-home"
        victim.close()
        shutil.copy(backup / "library.db", path / "library.db")
        for suffix in ("-wal", "-shm"):
            (path / f"library.db{suffix}").unlink(missing_ok=True)
        monkeypatch.setenv("VDFS_HOME", str(home))
        victim = core.Library.open(path)
        desk, laptop = (victim, laptop) if restored == "server" else (desk, victim)
        server = desk.sync.serve(port=0)
        laptop.conn.execute("UPDATE sync_peers SET url = ?", (server.url,))
        laptop.sync.with_peer(server.url)
        laptop.sync.with_peer(server.url)
        assert desk.sync.digest() == laptop.sync.digest()
        for lib in (desk, laptop):      # what the victim lost, its peer handed back
            assert {"#after-backup", "#desk-after"} <= {t.name for t in lib.vdfs().list_tags()}
    finally:
        server.stop()
        desk.close()
        laptop.close()


def test_bad_addresses_and_ports_are_clear_sync_errors(served, tmp_path):
    from core.sync.errors import PeerUnreachableError, SyncError
    a, b, url = served
    with pytest.raises(PeerUnreachableError):
        b.sync.with_peer("http://", code="AAAAA-AAAAA")
    with pytest.raises(PeerUnreachableError):
        b.sync.with_peer("ftp://example.invalid", code="AAAAA-AAAAA")
    port = int(url.rsplit(":", 1)[1])
    with pytest.raises(SyncError, match="cannot listen"):
        b.sync.serve(port=port)                     # a's server holds it
    with pytest.raises(SyncError, match="cannot write"):
        a.sync.export(tmp_path / "no-such-folder" / "x.vdfsbundle")


def test_tls_is_optional_and_checked(tmp_path, monkeypatch):
    """With a certificate the server speaks https; a client trusts it only when told to."""
    import shutil
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    from core.sync.errors import PeerUnreachableError
    a = device_library(tmp_path, "desk", monkeypatch)
    indexed_folder(a, tmp_path / "files", {"a.txt": b"alpha"})
    b = device_library(tmp_path, "laptop", monkeypatch)
    server = a.sync.serve(port=0, certfile=str(cert), keyfile=str(key))
    try:
        assert server.url.startswith("https://")
        with pytest.raises(PeerUnreachableError):
            b.sync.with_peer(server.url, code=a.sync.pair())     # an unknown certificate
        b.sync.with_peer(server.url, code=a.sync.pair(), cafile=str(cert))
        assert [r["name"] for r in b.query('files on device "desk"').rows()] == ["a.txt"]
    finally:
        server.stop()
        a.close()
        b.close()

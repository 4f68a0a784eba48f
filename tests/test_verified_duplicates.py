"""Sampled identity is not proof of equality.

Two large sparse files that differ only outside the sampled windows share one content identity
(Spacedrive's scheme, kept); verification computes full BLAKE3 hashes and says they are not
verified copies, and trashing one as a duplicate is refused — both files survive intact.
"""
from __future__ import annotations

import os
import uuid

import pytest


from core.actions.dedupe import trash_duplicates
from core.content.identity import HEADER, SAMPLE_COUNT, FOOTER, full_hash_path, sample_plan
from core.content.verify import NotIdenticalError, require_identical, verify_duplicates

BIG = 64 * 1024 * 1024          # sparse: no disk used; past 100 KiB only the windows matter


def _outside_samples(size: int) -> int:
    """An offset no sampled window covers."""
    step = (size - HEADER - FOOTER) // SAMPLE_COUNT
    off = HEADER + step // 2
    assert all(not (o <= off < o + n) for o, n in sample_plan(size))
    return off


def _sparse(path, size: int, poke: int | None = None) -> None:
    with open(path, "wb") as f:
        f.truncate(size)
        f.seek(0)
        f.write(b"same header")
        if poke is not None:
            f.seek(poke)
            f.write(b"\x01")


@pytest.fixture
def world(lib, tmp_path):
    root = tmp_path / "w"
    root.mkdir()
    _sparse(root / "big_a.bin", BIG)
    _sparse(root / "big_b.bin", BIG, poke=_outside_samples(BIG))
    same = os.urandom(200_000)
    (root / "same_1.dat").write_bytes(same)
    (root / "same_2.dat").write_bytes(same)
    lib.index(root).wait()
    return lib, root


def _content(lib, name):
    cu, digest = lib.conn.execute(
        "SELECT c.uuid, c.content_hash FROM entries e JOIN content_identities c "
        "ON c.id = e.content_id WHERE e.name = ?", (name,)).fetchone()
    return uuid.UUID(bytes=cu), digest


def _verified(lib, route):
    rows = lib.engine.run("content duplicates select content_hash, verified, "
                               "integrity_hash order by content_hash", route=route).rows()
    return {r["content_hash"]: (r["verified"], r["integrity_hash"]) for r in rows}


def _entry_uuid(lib, name):
    return uuid.UUID(bytes=lib.conn.execute("SELECT uuid FROM entries WHERE name = ?",
                                            (name,)).fetchone()[0])


def test_differing_files_share_an_identity_but_are_never_verified(world):
    lib, root = world
    big, same = _content(lib, "big_a.bin"), _content(lib, "same_1.dat")
    assert _content(lib, "big_b.bin") == big       # the sampled scheme cannot tell them apart
    for route in ("sqlite", "duckdb"):
        assert _verified(lib, route) == {big[1]: (False, None), same[1]: (False, None)}
    report = verify_duplicates(lib)
    assert (report.groups, report.verified, report.hashed) == (2, 1, 4)
    assert report.mismatched == [big[1]]
    full = full_hash_path(root / "same_1.dat")
    for route in ("sqlite", "duckdb"):
        assert _verified(lib, route) == {big[1]: (False, None), same[1]: (True, full)}
    hashes = dict(lib.conn.execute("SELECT name, full_hash FROM entries WHERE is_dir = 0"))
    assert hashes["big_a.bin"] != hashes["big_b.bin"]
    # computed once: a second run reads nothing and says the same
    again = verify_duplicates(lib)
    assert (again.hashed, again.verified, again.mismatched) == (0, 1, [big[1]])


def test_a_new_or_changed_copy_unverifies_the_group(world):
    lib, root = world
    verify_duplicates(lib)
    same = _content(lib, "same_1.dat")
    assert _verified(lib, "sqlite")[same[1]][0] is True
    (root / "same_3.dat").write_bytes((root / "same_1.dat").read_bytes())
    lib.index(root).wait()
    assert _verified(lib, "sqlite")[same[1]][0] is False      # a copy nobody read in full
    verify_duplicates(lib)
    assert _verified(lib, "duckdb")[same[1]][0] is True
    os.utime(root / "same_3.dat", ns=(1, 1))                   # changed on disk: re-indexed
    lib.index(root).wait()
    assert lib.conn.execute("SELECT full_hash FROM entries WHERE name = 'same_3.dat'"
                            ).fetchone() == (None,)
    assert _verified(lib, "sqlite")[same[1]][0] is False


def test_trashing_a_duplicate_that_differs_is_refused_and_nothing_is_lost(world):
    lib, root = world
    before = {n: full_hash_path(root / n) for n in ("big_a.bin", "big_b.bin")}
    big = _content(lib, "big_a.bin")
    with pytest.raises(NotIdenticalError, match="differ in full BLAKE3"):
        lib.actions.preview(trash_duplicates, content=big[0])
    with pytest.raises(NotIdenticalError):
        require_identical(lib, [_entry_uuid(lib, "big_a.bin"), _entry_uuid(lib, "big_b.bin")])
    assert {n: full_hash_path(root / n) for n in before} == before
    assert lib.conn.execute("SELECT count(*) FROM entries WHERE name LIKE 'big_%'"
                            ).fetchone() == (2,)
    assert not (lib.path / "trash").exists() or not any((lib.path / "trash").rglob("big_*"))


def test_the_commit_reads_the_files_again(world):
    """A copy that changed between preview and commit (here the kept one, outside the sampled
    windows, with its mtime put back) makes the commit refuse."""
    lib, root = world
    same = _content(lib, "same_1.dat")
    p = lib.actions.preview(trash_duplicates, content=same[0])
    assert [c.before for c in p.changes] == [str(root / "same_2.dat")]
    kept = root / "same_1.dat"
    st = os.stat(kept)
    with open(kept, "r+b") as f:
        f.seek(150_000)
        f.write(b"\xff\xfe")
    os.utime(kept, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(NotIdenticalError):
        lib.actions.commit(p)
    assert (root / "same_2.dat").exists() and kept.exists()
    assert lib.conn.execute("SELECT count(*) FROM entries WHERE name LIKE 'same_%'"
                            ).fetchone() == (2,)


def test_true_duplicates_are_trashed_and_undone(world):
    lib, root = world
    same = _content(lib, "same_1.dat")
    data = (root / "same_2.dat").read_bytes()
    result = lib.actions.commit(lib.actions.preview(trash_duplicates, content=same[0]))
    assert not (root / "same_2.dat").exists() and (root / "same_1.dat").exists()
    assert lib.conn.execute("SELECT entry_count FROM content_identities WHERE uuid = ?",
                            (same[0].bytes,)).fetchone() == (1,)
    lib.actions.undo(result.audit_id)
    assert (root / "same_2.dat").read_bytes() == data


def test_bad_requests_are_vdfs_errors(world):
    from core.errors import VdfsError
    lib, _ = world
    for bad in (["not-a-uuid"], [uuid.uuid4()]):
        with pytest.raises(VdfsError):
            verify_duplicates(lib, bad)
    with pytest.raises(VdfsError):
        lib.actions.preview(trash_duplicates, content=str(uuid.uuid4()))


def test_cli_verifies_and_lists(world):
    import subprocess
    import sys
    lib, _ = world
    big, same = _content(lib, "big_a.bin")[1], _content(lib, "same_1.dat")[1]

    def run(*args):
        return subprocess.run([sys.executable, "-m", "core.cli", "-L", str(lib.path),
                               "duplicates", *args], capture_output=True, text=True, timeout=60)

    listed = run()
    assert listed.returncode == 0, listed.stderr
    verified = run("--verify")
    assert verified.returncode == 1
    assert f"copies of {big} differ" in verified.stderr
    assert f"{2 * BIG + 400_000:,} bytes" in verified.stderr     # grouped, as `vdfs summary`
    lines = {line.split()[0]: line.split()[-1] for line in verified.stdout.splitlines()[1:]}
    assert lines == {big: "no", same: "yes"}


def test_a_copy_that_became_a_fifo_is_unverifiable_not_a_hang(world):
    from fifo_support import run_beside_fifo
    lib, root = world
    cu, _ = _content(lib, "same_1.dat")
    (root / "same_2.dat").unlink()
    os.mkfifo(root / "same_2.dat")   # no writer: opening it to read would wait forever
    report = run_beside_fifo(lambda: verify_duplicates(lib, [cu]), root / "same_2.dat")
    assert report.verified == 0
    assert [u["path"].endswith("same_2.dat") for u in report.unverifiable] == [True]

"""The sync HLC: format, persistence, and clock skew between devices."""
from __future__ import annotations

import re
import uuid

import pytest

import core
from core.sync.errors import SyncError
from core.sync.hlc import format_stamp, parse_stamp, wall_ms
from tests.sync_support import content_uuid_of, device_library, exchange, indexed_folder

HOUR = 3_600_000


def test_stamp_format_sorts_as_the_clock_and_round_trips():
    d = uuid.UUID(int=7)
    stamps = [format_stamp(ms, c, d) for ms, c in [(1, 0), (1, 1), (1, 16), (2, 0), (2**40, 3)]]
    assert stamps == sorted(stamps)
    assert re.fullmatch(r"[0-9a-f]{16}-[0-9a-f]{16}-" + str(d), stamps[0])
    assert parse_stamp(stamps[2]) == (1, 16, d)
    with pytest.raises(SyncError):
        parse_stamp("0000-1-x")


def test_clock_is_persisted_and_advanced_by_received_stamps(lib):
    conn = lib.conn
    conn.execute("BEGIN")
    first, second = lib.sync.clock.tick(conn, 2)
    future = format_stamp(wall_ms() + 10 * HOUR, 5, uuid.UUID(int=1))
    lib.sync.clock.observe(conn, future)
    conn.execute("COMMIT")
    path = lib.path
    lib.close()
    again = core.Library.open(path)
    try:
        conn = again.conn
        conn.execute("BEGIN")
        (after,) = again.sync.clock.tick(conn)
        conn.execute("COMMIT")
    finally:
        again.close()
    assert first < second < future < after
    assert parse_stamp(after)[:2] == (parse_stamp(future)[0], 6)


@pytest.fixture
def skewed(tmp_path, monkeypatch):
    a = device_library(tmp_path, "fast", monkeypatch)
    b = device_library(tmp_path, "slow", monkeypatch)
    indexed_folder(a, tmp_path / "files", {"x.txt": b"x bytes"})
    exchange(a, b, tmp_path, join=True)
    yield a, b, content_uuid_of(a, "x.txt")
    a.close()
    b.close()


@pytest.mark.parametrize("skew", [HOUR, -HOUR])
def test_a_write_made_after_seeing_another_wins_whatever_the_wall_clocks(skewed, tmp_path, skew):
    a, b, cu = skewed
    a.sync.clock.wall = lambda: wall_ms() + skew        # a's clock an hour ahead / behind
    a.vdfs().set_note(cu, "a first", scope="content")
    exchange(a, b, tmp_path)                             # b sees a's stamp …
    b.vdfs().set_note(cu, "b after seeing a", scope="content")
    exchange(a, b, tmp_path)                             # … so b's later edit wins everywhere
    a.vdfs().set_note(cu, "a after seeing b", scope="content")
    exchange(a, b, tmp_path)                             # and a, an hour off, still wins after
    for lib in (a, b):
        assert lib.vdfs().get_metadata(cu, scope="content").notes == "a after seeing b"


def test_truly_concurrent_writes_follow_the_hlc_rule(skewed, tmp_path):
    """Neither saw the other: the greater stamp wins, so a fast clock wins, on both sides."""
    a, b, cu = skewed
    a.sync.clock.wall = lambda: wall_ms() + HOUR
    a.vdfs().set_note(cu, "fast, earlier", scope="content")
    a.sync.scan()
    b.vdfs().set_note(cu, "slow, later", scope="content")
    b.sync.scan()
    exchange(a, b, tmp_path)
    for lib in (a, b):
        assert lib.vdfs().get_metadata(cu, scope="content").notes == "fast, earlier"


def test_stamps_a_day_ahead_are_refused_and_change_nothing(skewed, tmp_path):
    from core.sync.errors import ClockSkewError
    a, b, cu = skewed
    a.sync.clock.wall = lambda: wall_ms() + 25 * HOUR
    a.vdfs().set_note(cu, "from the future", scope="content")
    path = tmp_path / "future.vdfsbundle"
    a.sync.export(path, peer="slow")
    before = b.sync.digest()
    with pytest.raises(ClockSkewError, match="hours ahead"):
        b.sync.import_(path)
    assert b.sync.digest() == before
    (stamp,) = b.conn.execute("SELECT value FROM sync_meta WHERE key = 'hlc'").fetchone()
    assert parse_stamp(stamp)[0] < wall_ms() + HOUR


def test_a_bundle_naming_no_device_is_corrupt(tmp_path, lib):
    from core.sync import bundle as bundles
    from core.sync.errors import BundleCorruptError
    b = lib.sync.make_bundle()
    b.sender = "not-a-uuid"
    (tmp_path / "x.vdfsbundle").write_bytes(bundles.encode(b))
    with pytest.raises(BundleCorruptError):
        lib.sync.import_(tmp_path / "x.vdfsbundle")

"""The hybrid logical clock: stamps sort as text, never go backwards, and pass remote ones."""
from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.store.changelog import HybridClock, format_hlc, parse_hlc


def test_stamps_increase_even_when_the_wall_clock_goes_back(monkeypatch):
    dev = uuid.uuid4()
    now = [5_000_000_000_000_000]
    monkeypatch.setattr("core.store.changelog.time.time_ns", lambda: now[0])
    clock = HybridClock(dev)
    a = clock.now()
    now[0] -= 3_000_000_000            # the wall clock jumps back 3 s
    b, c = clock.now(), clock.now()
    assert a < b < c and parse_hlc(b)[0] == parse_hlc(a)[0] and parse_hlc(c)[1] == 2
    assert a.endswith(dev.hex)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**13 - 1), st.integers(0, 999_999)), max_size=20))
def test_observed_remote_stamps_are_passed(remotes):
    clock = HybridClock(uuid.UUID(int=1))
    last = clock.now()
    for ms, counter in remotes:
        remote = format_hlc(ms, counter, uuid.UUID(int=2))
        mine = clock.observe(remote)
        assert parse_hlc(mine)[:2] > parse_hlc(remote)[:2]
        assert mine > last and parse_hlc(mine)[:2] > parse_hlc(last)[:2]
        last = mine


def test_clock_resumes_after_reopen(lib):
    api = lib.vdfs()
    api.create_collection("c")
    first = lib.conn.execute("SELECT max(hlc) FROM sync_log").fetchone()[0]
    resumed = HybridClock(lib.device_uuid, first)
    assert resumed.now() > first
    with pytest.raises(ValueError, match="HLC"):
        parse_hlc("yesterday")

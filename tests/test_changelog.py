"""The hybrid logical clock: stamps sort as text, never go backwards, and pass remote ones."""
from __future__ import annotations

import time
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.store.changelog import MAX_AHEAD_MS, HybridClock, format_hlc, parse_hlc


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
def test_observed_remote_stamps_are_passed_or_refused_when_too_far_ahead(remotes):
    """A stamp up to a day ahead is passed; one further ahead (up to the 13 digits' last one,
    which no stamp could pass) is refused and leaves the clock as it was."""
    clock = HybridClock(uuid.UUID(int=1))
    last = clock.now()
    for ms, counter in remotes:
        remote = format_hlc(ms, counter, uuid.UUID(int=2))
        if ms - time.time_ns() // 1_000_000 > MAX_AHEAD_MS + 60_000:
            with pytest.raises(ValueError, match="ahead of this device's clock"):
                clock.observe(remote)
            continue
        mine = clock.observe(remote)
        assert parse_hlc(mine)[:2] > parse_hlc(remote)[:2]
        assert mine > last and parse_hlc(mine)[:2] > parse_hlc(last)[:2]
        last = mine


@settings(max_examples=50, deadline=None)
@given(st.integers(0, MAX_AHEAD_MS - 60_000), st.integers(0, 999_999))
def test_a_stamp_within_a_day_ahead_is_passed(ahead, counter):
    clock = HybridClock(uuid.UUID(int=1))
    remote = format_hlc(time.time_ns() // 1_000_000 + ahead, counter, uuid.UUID(int=2))
    assert clock.observe(remote) > remote


def test_the_last_stamp_of_the_range_is_refused_not_passed_out_of_order():
    """Passing the last 13-digit stamp would take a 14-digit one, which sorts before every
    other as text (found by the property test above on the old clock)."""
    clock = HybridClock(uuid.UUID(int=1))
    last = clock.now()
    with pytest.raises(ValueError, match="ahead of this device's clock"):
        clock.observe(format_hlc(10**13 - 1, 999_999, uuid.UUID(int=2)))
    assert clock.now() > last


def test_clock_resumes_after_reopen(lib):
    api = lib.vdfs()
    api.create_collection("c")
    first = lib.conn.execute("SELECT max(hlc) FROM sync_log").fetchone()[0]
    resumed = HybridClock(lib.device_uuid, first)
    assert resumed.now() > first
    with pytest.raises(ValueError, match="HLC"):
        parse_hlc("yesterday")

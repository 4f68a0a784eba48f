"""The event bus: any number of listeners, kinds filter, unsubscribe, thread safety."""
from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings, strategies as st

from core.store.events import Event, EventBus


def test_listeners_get_matching_events_in_order():
    bus = EventBus()
    everything, entries = [], []
    bus.subscribe(everything.append)
    bus.subscribe(entries.append, kinds=["entry.created", "entry.deleted"])
    bus.publish(Event("entry.created", {"path": "/a"}))
    bus.publish(Event("job.progress", {"done": 1}))
    bus.emit("entry.deleted", path="/a")
    assert [e.kind for e in everything] == ["entry.created", "job.progress", "entry.deleted"]
    assert [e.payload["path"] for e in entries] == ["/a", "/a"]


def test_unsubscribe_and_a_broken_listener():
    bus = EventBus()
    got = []

    def broken(event):
        raise RuntimeError("listener bug")

    bus.subscribe(broken)
    stop = bus.subscribe(got.append, kinds="tag.added")
    bus.emit("tag.added", tag="#x")          # the broken listener does not stop delivery
    stop()
    stop()                                   # twice is harmless
    bus.emit("tag.added", tag="#y")
    assert [e.payload["tag"] for e in got] == ["#x"]
    assert bus.listener_count() == 1


def test_bad_input_is_named():
    bus = EventBus()
    with pytest.raises(TypeError, match="callable"):
        bus.subscribe("not a function")
    with pytest.raises(TypeError, match="Event"):
        bus.publish({"kind": "x"})
    with pytest.raises(ValueError, match="kind"):
        Event("", {})
    with pytest.raises(TypeError, match="payload"):
        Event("x", [1])


def test_concurrent_publish_and_subscribe_loses_nothing():
    bus = EventBus()
    counts = [0] * 4
    lock = threading.Lock()

    def listener(i):
        def on(event):
            with lock:
                counts[i] += 1
        return on

    for i in range(4):
        bus.subscribe(listener(i), kinds=["entry.created"])
    churn_stop = threading.Event()

    def churn():   # subscribe/unsubscribe while others publish
        while not churn_stop.is_set():
            bus.subscribe(lambda e: None)()

    threads = [threading.Thread(target=lambda: [bus.emit("entry.created", n=n)
                                                for n in range(500)]) for _ in range(4)]
    churner = threading.Thread(target=churn)
    churner.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    churn_stop.set()
    churner.join()
    assert counts == [2000] * 4


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(["entry.created", "entry.modified", "job.status", "x.y"]),
                max_size=30),
       st.sets(st.sampled_from(["entry.created", "entry.modified", "job.status", "x.y"])))
def test_kinds_filter_delivers_exactly_the_wanted_kinds(kinds, wanted):
    bus = EventBus()
    got = []
    bus.subscribe(got.append, kinds=wanted)
    for k in kinds:
        bus.emit(k)
    assert [e.kind for e in got] == [k for k in kinds if k in wanted]

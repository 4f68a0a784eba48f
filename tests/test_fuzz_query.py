"""Hostile input never escapes the error family, never hangs, never runs as SQL.

Against one small real library (files, a tag, models with JSON fields) and on both executors:
(a) query texts built from grammar fragments and junk, (b) a corpus of inputs that once leaked
raw Python or database errors, (c) parameters of every Python type against fields of every
type, (d) the fluent builder of the extension host API. Each call must return or raise a
VdfsError within 2 s, and injected SQL must leave the library as it was.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import fractions
import os
import signal
import sqlite3
import time
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import core
from core.models import model
from core.query_service import engine_for
from vdfs_query.errors import VdfsError, VdfsSyntaxError

NOW = dt.datetime(2026, 5, 15, 12, 0, tzinfo=dt.timezone.utc)
MODEL = "com.test.fuzz.Gadget"
ROUTES = ("sqlite", "duckdb")
LIMIT_S = 2.0
INJECTIONS = ['"; DROP TABLE entries; --', "'; DROP TABLE entries; --", "x') OR 1=1 --",
              "1; DELETE FROM entries", "' OR '1'='1", "\"); DETACH DATABASE main; --",
              "%' OR name LIKE '%", "*/ DROP TABLE tags /*"]


@model(version="1.0.0", scope="standalone", extension_id="com.test.fuzz")
@dataclasses.dataclass
class Gadget:
    label: str = ""
    count: int = 0
    ratio: float = 0.0
    on: bool = False
    tags: list = dataclasses.field(default_factory=list)


class Hang(Exception):
    """Raised by the watchdog when one call runs past LIMIT_S."""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("fuzzlib")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VDFS_HOME", str(base / "home"))
        mp.setenv("VDFS_DEVICE_NAME", "fuzz-device")
        lib = core.Library.create(base / "fuzz.vdfs")
        root = base / "tree"
        for i, name in enumerate(["a.jpg", "b.txt", "sub/c.png", "sub/d", ".hidden.md"]):
            p = root / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(f"{name} {i}".encode() * (i + 1))
        lib.index(str(root)).wait(timeout=60)
        api = lib.vdfs()
        first = api.query_entries().where("name", "=", "a.jpg").first()
        api.add_tag_to_content(first["content_uuid"], "#vacation")
        api.create_model(Gadget(label="alpha", count=3, ratio=0.5, on=True, tags=["x"]))
        api.create_model(Gadget(label="beta", count=-1, ratio=2.5))
        engine = engine_for(lib)
        engine.mirror                      # built once, so each DuckDB call is bounded
        yield lib
        lib.close()


def _shape(lib) -> tuple:
    """What injected SQL would change: the tables and their row counts, in SQLite and DuckDB."""
    conn = sqlite3.connect(f"file:{lib.db_path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                             "ORDER BY name")]
        counts = tuple(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                       for t in ("entries", "tags", "models", "content_identities"))
    finally:
        conn.close()
    duck = engine_for(lib).run("entries select count() as n", route="duckdb").rows()[0]["n"]
    return tuple(tables), counts, duck


def _alarm(signum, frame):
    raise Hang(f"a call ran past {LIMIT_S} s")


def attempt(fn, *args, **kw):
    """fn(*args) → its value, or the VdfsError it raised; anything else, or > LIMIT_S, fails."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, LIMIT_S + 1)
    start = time.monotonic()
    try:
        return fn(*args, **kw)
    except VdfsError as exc:
        assert str(exc).strip(), "an error without a message"
        return exc
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        elapsed = time.monotonic() - start
        assert elapsed < LIMIT_S, f"{fn.__name__}{args!r} took {elapsed:.2f} s"


def run_everywhere(lib, text, params=None, now=NOW):
    """The query on both routes; each outcome (rows or error) is returned."""
    engine = engine_for(lib)
    return [attempt(engine.run, text, params, now=now, route=r) for r in ROUTES]


# ---- (b) the corpus ----------------------------------------------------------------------------
CORPUS = [
    ("entries limit 99999999999999999999", {}),
    ("entries offset 99999999999999999999", {}),
    ("entries where modified = 9999-12-31", {}),
    ("entries where modified < 0001-01-01", {}),
    ("entries where modified > 99999999999 days ago", {}),
    ("entries where modified > 99999999999999999999999 years ago", {}),
    ('entries where modified > "99999999999 days ago"', {}),
    ("entries where size > 1e999", {}),
    ("entries where size > -1e999", {}),
    ("entries where size > 1e308", {}),
    ("entries where size > 99999999999999999999TB", {}),
    ("entries where size > :p", {"p": float("nan")}),
    ("entries where size > :p", {"p": float("inf")}),
    ("entries where size > :p", {"p": 10 ** 30}),
    ("entries where modified = 2024-02-30", {}),
    ('entries where modified = "2024-02-30"', {}),
    ("entries where " + "not " * 10000 + "size > 1", {}),
    ("entries where " + "(" * 5000 + "size > 1" + ")" * 5000, {}),
    ("entries where " + " or ".join(["size > 1"] * 3000), {}),
    ("entries where size > " + "9" * 100_000, {}),
    ("entries where size > 9" + "0" * 30, {}),
    ("entries where name = :p", {"p": "\udcff"}),
    ('entries where name = "\udcff"', {}),
    ("entries where name ~ :p", {"p": None}),
    ("entries where name =~ :p", {"p": None}),
    ("entries in :p", {"p": None}),
    ("entries tagged :p", {"p": None}),
    ("entries limit :p", {"p": None}),
    ("entries limit :p", {"p": 10 ** 30}),
    ("entries where modified > :p", {"p": 10 ** 30}),
    ("entries where modified > :p", {"p": float("nan")}),
    ("entries where modified > :p", {"p": dt.datetime.max}),
    (f"models {MODEL} where label = :p", {"p": [1, 2]}),
    (f"models {MODEL} where label = :p", {"p": b"ab"}),
    (f"models {MODEL} where label = :p", {"p": {"a": 1}}),
    (f"models {MODEL} where count > :p", {"p": {"a": 1}}),
    (f"models {MODEL} where tags = :p", {"p": ("x",)}),
]


@pytest.mark.parametrize("text,params", CORPUS, ids=[f"{i}" for i in range(len(CORPUS))])
def test_corpus_gives_a_clear_vdfs_error_or_an_answer(world, text, params):
    for outcome in run_everywhere(world, text, params):
        if isinstance(outcome, VdfsSyntaxError) and outcome.pos is not None:
            assert outcome.snippet.endswith("^")        # a caret under the offending token


@pytest.mark.parametrize("text,literal", [
    ("entries limit 99999999999999999999", "9999"),
    ("entries where modified = 9999-12-31", "9999"),
    ("entries where modified > 99999999999 days ago", "9999"),
    ("entries where size > 1e999", "1e999"),
    ("entries where size > 99999999999999999999TB", "9999"),
    ("entries where modified = 2024-02-30", "2024"),
    ("entries where size > " + "9" * 100_000, "9999")])
def test_bad_literals_are_syntax_errors_with_a_caret_at_the_literal(world, text, literal):
    for outcome in run_everywhere(world, text):
        assert isinstance(outcome, VdfsSyntaxError), outcome
        assert outcome.pos == text.index(literal), (text[:60], outcome)
        assert "range" in outcome.message or "not a date" in outcome.message
        assert len(str(outcome)) < 500                  # a huge literal is not echoed whole


def test_nesting_too_deep_is_a_syntax_error(world):
    for outcome in run_everywhere(world, "entries where " + "not " * 10000 + "size > 1"):
        assert isinstance(outcome, VdfsSyntaxError) and "deep" in outcome.message


@pytest.mark.parametrize("now", [12345, "yesterday", dt.date(2024, 1, 1)])
def test_now_must_be_a_datetime(world, now):
    for outcome in run_everywhere(world, "entries where modified > 1 day ago", now=now):
        assert isinstance(outcome, VdfsSyntaxError) and "now" in outcome.message


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 10 ** 30, "\udcff", None,
                                   [1], b"x", {"a": 1}])
def test_bad_parameters_are_named(world, value):
    for outcome in run_everywhere(world, "entries where size > :min_size",
                                  {"min_size": value}):
        if value is None:
            assert not isinstance(outcome, Exception)   # `size > NULL` holds for no row
            assert outcome.rows() == []
            continue
        assert isinstance(outcome, VdfsSyntaxError) and ":min_size" in outcome.message

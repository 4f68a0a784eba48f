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
from core.domain.models import model
from vdfs_query.errors import LocatedError, ParameterError, QueryError, VdfsError, VdfsSyntaxError

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
        engine = lib.engine
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
    duck = lib.engine.run("entries select count() as n", route="duckdb").rows()[0]["n"]
    return tuple(tables), counts, duck


def _alarm(signum, frame):
    raise Hang(f"a call ran past {LIMIT_S} s")


def attempt(fn, *args, **kw):
    """fn(*args) → its value, or the error it raised: a VdfsSyntaxError (text), a ParameterError
    (values) or a QueryError (could not run). Anything else, or more than LIMIT_S, fails the test."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, LIMIT_S + 1)
    start = time.monotonic()
    try:
        return fn(*args, **kw)
    except VdfsError as exc:
        assert str(exc).strip(), "an error without a message"
        assert isinstance(exc, (VdfsSyntaxError, QueryError)), f"{type(exc).__name__}: {exc}"
        return exc
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        elapsed = time.monotonic() - start
        assert elapsed < LIMIT_S, f"{fn.__name__}{args!r} took {elapsed:.2f} s"


def run_everywhere(lib, text, params=None, now=NOW):
    """The query on both routes; each outcome (rows or error) is returned. Its explanation is
    held to the same rules."""
    engine = lib.engine
    attempt(engine.explain, text, params, now=now)
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
        if isinstance(outcome, LocatedError) and outcome.pos is not None:
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
        assert isinstance(outcome, ParameterError) and ":min_size" in outcome.message


# ---- (a) query texts from grammar fragments and junk -------------------------------------------
FIELDS = ["name", "path", "ext", "kind", "size", "modified", "changed", "indexed_at", "hidden",
          "is_dir", "uuid", "content_uuid", "id", "child_count", "wasted", "copies", "label",
          "count", "ratio", "on", "tags", "data.label", "nosuch"]
OPS = ["=", "==", "!=", "<>", "<", "<=", ">", ">=", "~", "!~", "=~", "in (", "not in (",
       "is null", "is not null", ""]
VALUES = ["1", "-1", "0", "1.5", "1e999", "-1e999", "99999999999999999999", "9223372036854775808",
          "2MB", "1.5GiB", "99999999999999999999TB", "2024-05-01", "2024-02-30", "9999-12-31",
          "0001-01-01", "2024-05", "2024-05-01T10:00:00Z", "7 days ago", "99999999999 years ago",
          "today", "yesterday", "now", "true", "false", "image", "jpg", '"IMG_*"', '"**/*.jpg"',
          '"(a+)+$"', '"["', '"\\"', "'x'", ":p", ":q", ":now", '"\udcff"', '"#vacation"',
          '"' + "a" * 300 + '"', "null"]
CLAUSES = ["where", "select", "group by", "order by", "limit", "offset", "in", "of kind",
           "tagged", "has", "on this device", "on device", "duplicates", "and", "or", "not",
           "(", ")", ",", "asc", "desc", "as", "count()", "sum(size)", "avg(name)", "*", "--"]
SOURCES = ["entries", "content", "tags", "collections", "locations", "devices", "jobs",
           f"models {MODEL}", "models Nope", "models"]
junk = st.text(alphabet=st.characters(blacklist_categories=("Cc",)) | st.sampled_from("\"'():,*~=<>!-\n\t\\"),
               max_size=12)
fragment = st.one_of(st.sampled_from(FIELDS), st.sampled_from(OPS), st.sampled_from(VALUES),
                     st.sampled_from(CLAUSES), junk)
query_text = st.builds(lambda src, parts: " ".join([src, *parts]), st.sampled_from(SOURCES),
                       st.lists(fragment, max_size=12))
comparison = st.builds(lambda f, o, v: f"{f} {o} {v}" + (")" if o.endswith("(") else ""),
                       st.sampled_from(FIELDS), st.sampled_from(OPS), st.sampled_from(VALUES))
well_formed = st.builds(
    lambda src, conds, tail: f"{src} where {' and '.join(conds)} {tail}",
    st.sampled_from(["entries", "content", f"models {MODEL}"]),
    st.lists(comparison, min_size=1, max_size=3),
    st.sampled_from(["", "limit 3", "order by size desc", "group by ext", "limit :p",
                     "offset 99999999999999999999", "select count() as n"]))
SCALAR_PARAMS = {"p": 1, "q": "x"}
TYPED = {   # source -> field -> (operators, values that fit it): queries that mostly run
    "entries": {
        "name": (["=", "!=", "~", "!~", "=~", "<"], ['"a.jpg"', '"*.md"', "jpg", ":q", '"(?i)^A"']),
        "ext": (["=", "!=", "in (", "not in (", "is null"], ["jpg", "PNG", '"md"', ":q"]),
        "size": (["=", "<", ">=", "!=", "in ("], ["1", "2MB", "0", ":p", "1.5KiB",
                                                   "9223372036854775807"]),
        "modified": (["<", ">", "=", "!="], ["2024-05-01", "7 days ago", "today", "now", "2024-05"]),
        "hidden": (["=", "!="], ["true", "false"])},
    f"models {MODEL}": {
        "label": (["=", "!=", "~", "<", ">"], ['"alpha"', "3", ":q", ":p", "1.5", "true"]),
        "count": (["=", ">", "<=", "is not null"], ["3", "-1", ":p", '"3"']),
        "on": (["=", "!=", "is null"], ["true", "false", "1"]),
        "updated_at": (["<", ">="], ["today", "2024-05-01", "1 year ago"])},
}
TAILS = {"entries": ["", "limit 2", "order by name desc", "offset 1 limit 1", "limit :p",
                     "select count() as n", "group by ext", "order by size", "tagged vacation"],
         f"models {MODEL}": ["", "limit 1", "order by label", "select label, count",
                             "group by label", "order by updated_at desc limit :p"]}


def _condition(fields: dict) -> st.SearchStrategy:
    return st.sampled_from(sorted(fields)).flatmap(lambda f: st.builds(
        lambda o, v: f"{f} {o}" if o.startswith("is") else
        f"{f} {o} {v}" + (")" if o.endswith("(") else ""),
        st.sampled_from(fields[f][0]), st.sampled_from(fields[f][1])))


runnable = st.sampled_from(sorted(TYPED)).flatmap(lambda src: st.builds(
    lambda conds, joiner, neg, tail: (
        f"{src} where {'not ' if neg else ''}(" + f" {joiner} ".join(conds) + f") {tail}"),
    st.lists(_condition(TYPED[src]), min_size=1, max_size=4), st.sampled_from(["and", "or"]),
    st.booleans(), st.sampled_from(TAILS[src])))


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=st.one_of(query_text, well_formed, runnable, runnable))
def test_random_query_texts_stay_in_the_error_family(world, text):
    for outcome in run_everywhere(world, text, SCALAR_PARAMS):
        if isinstance(outcome, LocatedError) and outcome.pos is not None:
            assert 0 <= outcome.pos <= len(text)


# ---- (c) parameters of every Python type -------------------------------------------------------
class Opaque:
    def __repr__(self) -> str:
        return "<opaque>"


SPECIAL = [None, True, False, 0, -1, 2 ** 63, -2 ** 63 - 1, 10 ** 30, -(10 ** 30), 10 ** 5000,
           0.5, float("nan"), float("inf"), float("-inf"), -0.0, 1e308, "", "x", "\udcff",
           "a\x00b", "é" * 5, "7 days ago", "2024-02-30", "9999-12-31", "2MB", "nan", "1e999",
           "9" * 5000, b"", b"\x00" * 16, bytearray(b"ab"), [], [1, "a"], (1,), {1, 2},
           frozenset(), {"a": 1}, {}, dt.datetime(2024, 5, 1), dt.datetime.max, dt.datetime.min,
           dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc),
           dt.datetime.max.replace(tzinfo=dt.timezone.utc), dt.date(2024, 5, 1), dt.date.max,
           dt.time(12), dt.timedelta(days=1), uuid.UUID(int=0), uuid.uuid4(), Path("/tmp"),
           Path("~/x"), decimal.Decimal("1.5"), decimal.Decimal("NaN"), fractions.Fraction(1, 3),
           complex(1, 2), Opaque(), object, print, range(3), *INJECTIONS]
any_value = st.one_of(
    st.sampled_from(SPECIAL), st.none(), st.booleans(), st.integers(),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20), st.binary(max_size=20),
    st.datetimes(), st.datetimes(timezones=st.timezones()), st.dates(), st.uuids(),
    st.lists(st.one_of(st.integers(), st.text(max_size=5)), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
PARAM_QUERIES = [
    "entries where name = :p", "entries where name != :p", "entries where name ~ :p",
    "entries where name !~ :p", "entries where name =~ :p", "entries where ext in (:p)",
    "entries where ext not in (:p, jpg)", "entries where kind = :p", "entries where size > :p",
    "entries where size = :p", "entries where child_count < :p", "entries where hidden = :p",
    "entries where modified > :p", "entries where modified = :p", "entries where indexed_at < :p",
    "entries where uuid = :p", "entries where content_uuid in (:p)", "entries in :p",
    "entries tagged :p", "entries of kind :p", "entries on device :p", "entries limit :p",
    "entries offset :p", "content where wasted >= :p", "tags where name = :p",
    f"models {MODEL} where label = :p", f"models {MODEL} where count > :p",
    f"models {MODEL} where ratio <= :p", f"models {MODEL} where on = :p",
    f"models {MODEL} where tags = :p", f"models {MODEL} where data.label ~ :p",
    f"models {MODEL} where label in (:p)", f"models {MODEL} limit :p",
]


@settings(max_examples=250, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=st.sampled_from(PARAM_QUERIES), value=any_value)
def test_parameters_of_every_python_type(world, text, value):
    run_everywhere(world, text, {"p": value})


@pytest.mark.parametrize("text", PARAM_QUERIES)
@pytest.mark.parametrize("value", SPECIAL, ids=lambda v: type(v).__name__)
def test_each_special_value_against_each_field(world, text, value):
    run_everywhere(world, text, {"p": value})


def test_now_of_every_type(world):
    for now in SPECIAL:
        for outcome in run_everywhere(world, "entries where modified > 2 days ago", now=now):
            if isinstance(outcome, Exception):
                assert "now" in str(outcome)


# ---- injected SQL never takes effect -----------------------------------------------------------
@pytest.mark.parametrize("value", INJECTIONS)
def test_injected_sql_is_only_ever_a_value(world, value):
    before = _shape(world)
    texts = ["entries where name = :p", "entries where name ~ :p", "entries in :p",
             "entries tagged :p", "entries where ext in (:p, jpg)", f"models {MODEL} where label = :p",
             f"models {MODEL} where data.label != :p", "tags where name = :p"]
    for text in texts:
        for outcome in run_everywhere(world, text, {"p": value}):
            if not isinstance(outcome, Exception) and "name =" in text:
                assert all(r["name"] == value for r in outcome.rows())
    literal = value.replace("\\", "\\\\").replace('"', '\\"')
    for text in [f'entries where name = "{literal}"', f'entries where path ~ "{literal}"',
                 f"entries where name = {value}", f"entries {value}", f"tags where {value}"]:
        run_everywhere(world, text)
    assert _shape(world) == before
    assert len(world.engine.run(POINT_ALL, route="sqlite").rows()) == before[1][0]


POINT_ALL = "entries limit 1000"


# ---- (d) the extension host API's query builders -----------------------------------------------
BUILDER_OPS = ["=", "!=", "<", ">=", "~", "=~", "in", "not in", "is null", "glob", "nope", None, 3]


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(field=st.one_of(st.sampled_from(FIELDS), junk, st.none(), st.integers()),
       op=st.sampled_from(BUILDER_OPS), value=any_value,
       limit=st.one_of(st.none(), st.sampled_from([0, 3, -1, 10 ** 30, 2.5, "3", True])),
       order=st.one_of(st.none(), st.sampled_from(FIELDS), junk),
       models=st.booleans())
def test_host_api_builders(world, field, op, value, limit, order, models):
    api = world.vdfs()

    def build_and_run():
        b = api.query_models(Gadget) if models else api.query_entries()
        b = b.where(field, op, value)
        if limit is not None:
            b = b.limit(limit)
        if order is not None:
            b = b.order_by(order)
        return b.collect()
    attempt(build_and_run)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(tag=any_value, kind=any_value, path=any_value)
def test_host_api_builder_predicates(world, tag, kind, path):
    api = world.vdfs()
    attempt(lambda: api.query_entries().tagged(tag).collect())
    attempt(lambda: api.query_entries().of_type(kind).collect())
    attempt(lambda: api.query_entries().in_location(path).collect())


BUILDER_CASES = [(False, "name", "="), (False, "name", "~"), (False, "size", ">"),
                 (False, "modified", "<"), (False, "hidden", "="), (False, "uuid", "="),
                 (False, "ext", "in"), (True, "label", "="), (True, "count", ">="),
                 (True, "tags", "!="), (True, "data.label", "in")]


@pytest.mark.parametrize("value", SPECIAL, ids=lambda v: type(v).__name__)
def test_each_special_value_through_the_builders(world, value):
    api = world.vdfs()
    for models, field, op in BUILDER_CASES:
        b = api.query_models(Gadget) if models else api.query_entries()
        attempt(lambda: b.where(field, op, [value] if op == "in" else value).collect())
    attempt(lambda: api.query_entries().limit(value).collect())
    attempt(lambda: api.query_entries().offset(value).collect())
    attempt(lambda: api.query_entries().tagged(value).collect())
    attempt(lambda: api.query_entries().of_type(value).collect())
    attempt(lambda: api.query_entries().in_location(value).collect())


def test_a_bad_now_is_refused_on_the_repeat_path_too(world):
    engine = world.engine
    text = "entries where path = :p"                    # indexed: answered by SQLite
    for _ in range(3):                                   # the second run takes the fast path
        assert engine.run(text, {"p": "/a.jpg"}).route == "sqlite"
    with pytest.raises(VdfsSyntaxError, match="now must be a datetime"):
        engine.run(text, {"p": "/a.jpg"}, now=12345)

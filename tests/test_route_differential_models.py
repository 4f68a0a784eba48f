"""A model's inline JSON fields mean one thing on every route: generated queries over models that
hold awkward values (numbers in text, big and negative numbers, booleans, nulls, lists) run on
SQLite, the DuckDB mirror and the DuckDB scan; the rows must be identical and equal a
plain-Python reading of the documented semantics (docs/query-language.md, `models`): a value
compares only with a value of its own JSON type, numbers as 64-bit floats, and two-valued logic.
"""
from __future__ import annotations

import json
import math
import operator
import random
import re
from dataclasses import dataclass
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import core
from core.domain.models import model
from core.query import Result
from vdfs_query import compile, query_models
from core.query.scan import connect_scan

ROUTES = ("sqlite", "duckdb", "scan")
SETTINGS = dict(deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
MODEL = "com.test.routes.Gadget"


@model(version="1.0.0", scope="standalone", extension_id="com.test.routes")
@dataclass
class Gadget:
    k: int
    label: str = ""
    qty: int = 0
    ratio: float = 0.0
    flag: bool = False
    note: str | None = None
    mixed: Any = None


NUMS = [0, 1, 3, -3, 3.0, 0.5, -0.0, 2.5, -1.25, 10**16, 1e16, 2**53, 2**53 + 1, 2**63 - 1, -2**63,
        1e-07, 123456789.125, 3.000000000000001]
# only in the data: past what a query can write, or awkward for a float (denormal, the largest)
DATA_NUMS = [2**63, 10**20, 2**64 - 1, 0.1, 0.1 + 0.2, 1 / 3, 5e-324, 1.7976931348623157e308, -1e-300]
TEXTS = ["3", "03", "3.0", "", " 3", "-3", "1e16", "é", "É", "abc", "Abc", "true", "null", "1", "0",
         "日本語", "😀", "a*b", "Straße", "z"]
BOOLS = [True, False]
FIELDS = ["label", "qty", "ratio", "flag", "note", "mixed"]


def make_rows() -> list[dict]:
    """~80 gadgets: every awkward value in every field that can hold it, in a fixed shuffle."""
    rnd = random.Random(20261201)
    anything = NUMS + DATA_NUMS + TEXTS + BOOLS + [None, None, [1, 2], {"a": 1}, []]
    rows = []
    for k in range(90):
        rows.append(dict(
            k=k,
            label=rnd.choice(TEXTS),
            qty=rnd.choice([n for n in NUMS if isinstance(n, int)]),
            ratio=rnd.choice(NUMS + DATA_NUMS),
            flag=rnd.choice(BOOLS),
            note=rnd.choice(TEXTS + [None] * 6),
            mixed=anything[k] if k < len(anything) else rnd.choice(anything),
        ))
    return rows


ROWS = make_rows()
GONE = [5, 16, 27, 38]      # rows whose `note` key is absent (data written by an older version)
for _k in GONE:
    ROWS[_k]["note"] = None     # the semantics: a missing key is a missing value, like null


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    base = tmp_path_factory.mktemp("modelroutes")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VDFS_HOME", str(base / "home"))
        library = core.Library.create(base / "lib.vdfs")
        try:
            api = library.vdfs()
            with api.batch():
                for row in ROWS:
                    api.create_model(Gadget(**row))
            library.conn.execute(f"UPDATE models SET data = json_remove(data, '$.note') WHERE "
                                 f"json_extract(data, '$.k') IN ({', '.join(map(str, GONE))})")
            library.conn.commit()
            assert library.conn.execute("SELECT count(*) FROM models WHERE json_type(data, '$.note') "
                                        "IS NULL").fetchone()[0] == len(GONE)
            library.engine.mirror          # built once, after every row is in
            scan = connect_scan(library.db_path)
            try:
                yield World(library, scan)
            finally:
                scan.close()
        finally:
            library.close()


@dataclass
class World:
    lib: Any
    scan: Any

    def run(self, text: str, params: dict, route: str) -> Result:
        """`route` forced on the library's engine; the scan route reuses one snapshot (the engine
        takes a new one per query, ~130 ms, and nothing changes here)."""
        if route != "scan":
            return self.lib.engine.run(text, params, route=route)
        c = compile(text, "duckdb", params=params, device_uuid=self.lib.device_uuid.bytes)
        table = self.scan.execute(c.sql, c.params).to_arrow_table()
        return Result(c.columns, c.types, table=table, route="scan", sql=c.sql, params=c.params)


# ---- the semantics, in plain Python -----------------------------------------------------------
def kind(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "num"
    if isinstance(v, str):
        return "text"
    return "compound"


RANK = {"num": 1, "text": 2, "bool": 3, "compound": 4}
OPS: dict[str, Callable] = {"=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt,
                            ">=": operator.ge}


def read(v: Any) -> Any:
    return float(v) if kind(v) == "num" else v


def compares(field: Any, op: str, lit: Any) -> bool:
    if op == "!=":
        return not compares(field, "=", lit)
    return kind(field) == kind(lit) not in (None, "compound") and OPS[op](read(field), read(lit))


def sort_key(v: Any) -> tuple:
    k = kind(v)
    return (RANK[k], read(v) if k != "compound" else 0)


# ---- generated queries ----------------------------------------------------------------------
@dataclass(frozen=True)
class Pred:
    text: str
    params: tuple
    test: Callable[[dict], bool]
    twin: Callable[[Any], Any] | None = None     # the same filter through the fluent builder


_counter = iter(range(10**9))


def lit_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


literals = st.sampled_from(NUMS + TEXTS + BOOLS + [4, "4", 2.0, -0.5])


def _glob_rx(pattern: str) -> re.Pattern:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern),
                      re.S | re.I)


@st.composite
def atom(draw) -> Pred:
    f = draw(st.sampled_from(FIELDS))
    shape = draw(st.sampled_from(["cmp", "cmp", "cmp", "param", "in", "inparam", "glob", "regex",
                                  "null", "truthy"]))
    if shape in ("cmp", "param"):
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        v = draw(literals)
        if shape == "param":            # a bound None is a value that matches nothing
            v = draw(st.sampled_from([v, None]))
            name = f"p{next(_counter)}"
            return Pred(f"{f} {op} :{name}", ((name, v),), lambda r: compares(r[f], op, v))
        return Pred(f"{f} {op} {lit_text(v)}", (), lambda r: compares(r[f], op, v),
                    lambda b: b.where(f, op, v))
    if shape in ("in", "inparam"):
        values = draw(st.lists(literals, min_size=1, max_size=4))
        neg = draw(st.booleans())
        word = "not in" if neg else "in"
        test = lambda r: any(compares(r[f], "=", x) for x in values) != neg  # noqa: E731
        if shape == "inparam":
            name = f"p{next(_counter)}"
            padded = values + draw(st.sampled_from([[], [None]])) + [
                f"pad{i}" for i in range(draw(st.sampled_from([0, 70])))]
            return Pred(f"{f} {word} (:{name})", ((name, padded),), test)
        return Pred(f"{f} {word} ({', '.join(map(lit_text, values))})", (), test,
                    lambda b: b.where(f, word, values))
    if shape == "glob":
        pattern = draw(st.sampled_from(["3*", "*3", "?", "", "*", "a*", "*É*", "0?", "*.*", "1*"]))
        rx = _glob_rx(pattern)
        neg = draw(st.booleans())
        return Pred(f'{f} {"!~" if neg else "~"} {lit_text(pattern)}', (),
                    lambda r: (kind(r[f]) == "text" and rx.fullmatch(r[f]) is not None) != neg,
                    lambda b: b.where(f, "!~" if neg else "~", pattern))
    if shape == "regex":
        pattern = draw(st.sampled_from(["^3", "3$", "^$", "^.$", "é", "(?i)abc", "[0-9]", "^0", "e"]))
        rx = re.compile(pattern)
        return Pred(f"{f} =~ {lit_text(pattern)}", (),
                    lambda r: kind(r[f]) == "text" and rx.search(r[f]) is not None,
                    lambda b: b.where(f, "=~", pattern))
    if shape == "null":
        want = draw(st.booleans())
        return Pred(f"{f} is {'' if want else 'not '}null", (), lambda r: (r[f] is None) == want,
                    lambda b: b.where(f, f"is {'' if want else 'not '}null"))
    return Pred(f, (), lambda r: r[f] is True or (kind(r[f]) == "num" and r[f] != 0),
                lambda b: b.where_true(f))


def combine(children: st.SearchStrategy) -> st.SearchStrategy:
    def both(op: str) -> Callable:
        def make(pair: tuple) -> Pred:
            a, b = pair
            test = ((lambda r: a.test(r) and b.test(r)) if op == "and"
                    else (lambda r: a.test(r) or b.test(r)))
            twin = None
            if op == "and" and a.twin and b.twin:
                twin = lambda bld: b.twin(a.twin(bld))                      # noqa: E731
            return Pred(f"({a.text} {op} {b.text})", a.params + b.params, test, twin)
        return make
    negate = children.map(lambda a: Pred(f"not ({a.text})", a.params, lambda r: not a.test(r)))
    return st.one_of(negate, st.tuples(children, children).map(both("and")),
                     st.tuples(children, children).map(both("or")))


preds = st.recursive(atom(), combine, max_leaves=3)


def cell(v: Any) -> Any:
    """A cell with its JSON type, so True and 1 (equal in Python) stay apart."""
    return (kind(v), v)


def same_everywhere(lib, text: str, params: dict) -> list[tuple]:
    answers = {}
    for route in ROUTES:
        r = lib.run(text, params, route)
        assert r.route == route
        answers[route] = [tuple(cell(v) for v in row) for row in r.tuples()]
    for route, rows in answers.items():
        assert rows == answers["sqlite"], f"{route} differs from sqlite for {text!r} {params!r}"
    return answers["sqlite"]


# ---- the properties -------------------------------------------------------------------------
@settings(max_examples=300, **SETTINGS)
@given(pred=preds)
def test_model_filters_agree_on_every_route_and_with_the_semantics(lib, pred):
    text = f"models {MODEL} where {pred.text} select k"
    rows = same_everywhere(lib, text, dict(pred.params))
    assert sorted(r[0][1] for r in rows) == [r["k"] for r in ROWS if pred.test(r)], text
    if pred.twin is not None:
        twin = pred.twin(query_models(MODEL)).select("k")
        assert sorted(lib.run(twin, {}, "sqlite").tuples()) == sorted((r[0][1],) for r in rows), text


@settings(max_examples=100, **SETTINGS)
@given(pred=preds, key=st.sampled_from(FIELDS), desc=st.booleans(), limit=st.integers(0, 40))
def test_model_order_and_limit_agree(lib, pred, key, desc, limit):
    text = (f"models {MODEL} where {pred.text} select k order by {key}{' desc' if desc else ''} "
            f"limit {limit}")
    rows = same_everywhere(lib, text, dict(pred.params))
    kept = [r for r in ROWS if pred.test(r)]                    # in id (creation) order
    present = sorted((r for r in kept if r[key] is not None), key=lambda r: sort_key(r[key]),
                     reverse=desc)                               # stable: ties stay by id
    want = present + [r for r in kept if r[key] is None]         # missing last either way
    assert [r[0][1] for r in rows] == [r["k"] for r in want][:limit], text


@settings(max_examples=60, **SETTINGS)
@given(pred=preds, key=st.sampled_from(FIELDS), of=st.sampled_from(FIELDS))
def test_model_group_by_agrees(lib, pred, key, of):
    text = (f"models {MODEL} where {pred.text} group by {key} "
            f"select {key}, count() as n, count({of}) as present, sum({of}) as total, "
            f"min({of}) as low, max({of}) as high, avg({of}) as mean")
    rows = same_everywhere(lib, text, dict(pred.params))
    groups: dict = {}
    for r in ROWS:
        if pred.test(r):
            v = r[key]
            gk = None if v is None else (RANK[kind(v)], json.dumps(v) if kind(v) == "compound" else read(v))
            groups.setdefault(gk, []).append(r)
    want = []
    for gk in sorted(groups, key=lambda g: (g is None, g)):
        members = groups[gk]
        nums = [float(m[of]) for m in members if kind(m[of]) == "num"]
        shown = min((m[key] for m in members), key=json.dumps)   # the smallest JSON text
        want.append((shown, len(members), sum(m[of] is not None for m in members),
                     sum(nums) if nums else None, min(nums) if nums else None,
                     max(nums) if nums else None, sum(nums) / len(nums) if nums else None))
    got = [tuple(c[1] for c in row) for row in rows]
    assert [cell(w[0]) for w in want] == [row[0] for row in rows], text
    for g, w in zip(got, want):
        assert g[1:3] == w[1:3] and g[4:6] == w[4:6], text
        for i in (3, 6):        # sum and avg: floating point, the order of addition aside
            assert (g[i] is None) == (w[i] is None), text
            assert w[i] is None or g[i] == w[i] or math.isclose(g[i], w[i], rel_tol=1e-12), text

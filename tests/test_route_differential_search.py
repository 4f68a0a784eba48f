"""Search on every route: queries with `matches` mixed with generated filters give the same rows
whatever route is asked for, because the engine never lets one leave SQLite (the mirror has no
full-text index); and the rows are what a plain-Python reading of the tree says (a name or path
holding the text, ignoring case)."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from test_route_differential import (FOLDER_NAMES, IS, ODD_NAMES, SETTINGS, Pred, filtered, q,
                                     rows_of, world)  # noqa: F401  (world is a fixture)

ROUTES = ("sqlite", "duckdb", "scan")
TERMS = sorted({t for n in ODD_NAMES + FOLDER_NAMES for t in (n[:3], n[1:4], n[-4:])
                if len(t) == 3 and t == t.strip() and t.isprintable() and not set(t) & set('"()*^')
                and t.upper() not in ("AND", "NOT")} | {"IMG", "img_0", "ÉTÉ", "straße", "d5/d6"})


@st.composite
def matches_pred(draw) -> Pred:
    term = draw(st.sampled_from(TERMS))
    low = term.lower()
    quoted = '"' + term.replace('"', '""') + '"' if " " in term else term
    return Pred(f"matches {q(quoted)}", (),
                lambda i, w: low in i.name.lower() or low in i.path.lower())


def answers(world, text: str, ordered: bool) -> list:
    out = {}
    for route in ROUTES:
        r = world.lib.engine.run(text, {}, now=world.now, route=route)
        assert r.route == "sqlite", f"a search left SQLite for {route}: {text}"
        rows = rows_of(r)
        out[route] = rows if ordered else sorted(rows, key=repr)
    assert out["duckdb"] == out["sqlite"] == out["scan"], text
    assert world.lib.explain(text).route == "sqlite"
    return out["sqlite"]


@settings(max_examples=60, **SETTINGS)
@given(data=st.data())
def test_matches_with_any_filter_agrees_on_every_route_and_with_the_truth(world, data):
    source, pred = data.draw(filtered(str(world.root)))
    m = data.draw(matches_pred())
    how = data.draw(st.sampled_from(["and", "or", "and not"]))
    text = f"{source} where {m.text} {how} ({pred.text}) select path"
    params = dict(pred.params)
    rows = sorted(rows_of(world.lib.engine.run(text, params, now=world.now)), key=repr)
    for route in ROUTES:
        r = world.lib.engine.run(text, params, now=world.now, route=route)
        assert r.route == "sqlite" and sorted(rows_of(r), key=repr) == rows, (route, text)

    def test(i):
        a, b = m.test(i, world), pred.test(i, world)
        return a and b if how == "and" else a or b if how == "or" else a and not b
    want = sorted(((i.path,) for i in world.items if IS[source](i) and test(i)), key=repr)
    assert rows == want, text


@settings(max_examples=25, **SETTINGS)
@given(m=matches_pred(), key=st.sampled_from(["rank", "size desc", "name"]),
       limit=st.integers(0, 20))
def test_search_orders_limits_and_groups_agree(world, m, key, limit):
    answers(world, f"files where {m.text} order by {key}, path limit {limit}", ordered=True)
    grouped = answers(world, f"files where {m.text} group by ext select ext, count() as n "
                             f"order by n desc", ordered=True)
    want: dict = {}
    for i in world.items:
        if not i.is_dir and m.test(i, world):
            want[i.ext] = want.get(i.ext, 0) + 1
    assert sorted(grouped, key=repr) == sorted(want.items(), key=repr)

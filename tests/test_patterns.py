"""Text matching: one glob implementation and one regex flavour (RE2) on every route.

Globs are checked against an independent reference matcher, the two RE2s (google-re2 for the
SQLite route, DuckDB's own) are compared directly on tricky strings, and every reported problem
(slow patterns, case by route, regex by route, lost backslashes, braces, ext case, leaking
engine errors) is run on a real library through both routes.
"""
from __future__ import annotations

import functools
import time

import duckdb
import pytest
from hypothesis import given, settings, strategies as st

import vdfs_query
from vdfs_query import patterns
from vdfs_query.errors import ParameterError, VdfsError, VdfsSyntaxError

ROUTES = ("sqlite", "duckdb")


# ---- a reference glob matcher, written independently of patterns.py -------------------------
def _expand(p: str) -> list[str]:
    """Brace alternatives expanded (escapes kept), like a shell does."""
    depth, start, i = 0, None, 0
    while i < len(p):
        c = p[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":                       # skip a class: braces inside are members
            j = i + 1 + (p[i + 1:i + 2] in ("!", "^"))
            j += 1                          # a leading ] is a member
            while p[j] != "]":
                j += 2 if p[j] == "\\" else 1
            i = j + 1
            continue
        if c == "{":
            if depth == 0:
                start = i
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                inner, alts, d, k, last = p[start + 1:i], [], 0, 0, 0
                while k < len(inner):
                    ch = inner[k]
                    if ch == "\\":
                        k += 2
                        continue
                    d += ch == "{"
                    d -= ch == "}"
                    if ch == "," and d == 0:
                        alts.append(inner[last:k])
                        last = k + 1
                    k += 1
                alts.append(inner[last:])
                return [x for a in alts for x in _expand(p[:start] + a + p[i + 1:])]
        i += 1
    return [p]


def _same(a: str, b: str) -> bool:
    return a == b or a.lower() == b.lower() or a.upper() == b.upper()


def _ref_match(p: str, s: str) -> bool:
    @functools.lru_cache(maxsize=None)
    def m(i: int, j: int) -> bool:
        if i == len(p):
            return j == len(s)
        c = p[i]
        if c == "*":
            e = i
            while e < len(p) and p[e] == "*":
                e += 1
            if e - i > 1 and p[e:e + 1] == "/":     # nothing, or anything ending in '/'
                return m(e + 1, j) or any(m(e + 1, k) for k in range(j + 1, len(s) + 1)
                                          if s[k - 1] == "/")
            if e - i > 1:
                return any(m(e, k) for k in range(j, len(s) + 1))
            k = j
            while True:
                if m(i + 1, k):
                    return True
                if k == len(s) or s[k] == "/":
                    return False
                k += 1
        if j == len(s):
            return False
        if c == "?":
            return s[j] != "/" and m(i + 1, j + 1)
        if c == "[":
            k, neg = i + 1, p[i + 1] in "!^"
            k += neg
            members, first = [], True
            while first or p[k] != "]":
                first = False
                lo = p[k + 1] if p[k] == "\\" else p[k]
                k += 2 if p[k] == "\\" else 1
                if p[k] == "-" and p[k + 1] != "]":
                    hi = p[k + 2] if p[k + 1] == "\\" else p[k + 1]
                    k += 3 if p[k + 1] == "\\" else 2
                    members.append((lo, hi))
                else:
                    members.append((lo, lo))
            ch = s[j]
            hit = any(lo <= x <= hi for lo, hi in members for x in {ch, ch.lower(), ch.upper()})
            return ch != "/" and hit != neg and m(k + 1, j + 1)
        if c == "\\":
            return _same(p[i + 1], s[j]) and m(i + 2, j + 1)
        return _same(c, s[j]) and m(i + 1, j + 1)
    return m(0, 0)


def reference(glob: str, s: str) -> bool:
    return any(_ref_match(p, s) for p in _expand(glob))


def re2_match(glob: str, s: str) -> bool:
    return patterns.regexp(patterns.glob_regex(glob), s)


_duck = duckdb.connect()


def duck_match(rx: str, s: str) -> bool:
    return _duck.execute("SELECT regexp_matches(?, ?)", [s, rx]).fetchone()[0]


CHARS = "aAbB/._-é É\n*?[]{},!\\ÿŸ"
GLOB_ATOMS = ["a", "b", "A", "é", "É", ".", "/", "*", "**", "**/", "?", "[ab]", "[!a]", "[a-c]",
              "[é]", "{a,b}", "{a,{b,é}}", "{,a}", "\\*", "\\[", "\\{", "-", " ", "\n", "ÿ"]
globs = st.lists(st.sampled_from(GLOB_ATOMS), min_size=1, max_size=6).map("".join)
texts = st.text(alphabet="aAbB/.é É\n*[{ÿŸ-", max_size=8)


@settings(max_examples=300, deadline=None)
@given(globs, texts)
def test_glob_translation_matches_the_reference_semantics(glob, s):
    assert re2_match(glob, s) == reference(glob, s), (glob, s, patterns.glob_regex(glob))


@settings(max_examples=150, deadline=None)
@given(globs, texts)
def test_duckdb_runs_a_glob_exactly_as_the_sqlite_route(glob, s):
    rx = patterns.glob_regex(glob)
    assert duck_match(rx, s) == patterns.regexp(rx, s), (glob, s, rx)


REGEXES = [r"^\w+\.png$", r"(?i)^été", r"(?i)ÉTÉ", r"a.b", r"^b", r"a$", r"(?m)^b", r"(?s)a.b",
           r"\bé", r"\pL+", r"[[:upper:]]", r"(?i)ǆ", r"(?i)ſ", r"\d", r"\s", r"^.$", r"(?i)k",
           r"(?i)[a-z]+$", r"\x{e9}", r"(?P<x>a)b", r"\z", r"[^a]", r"(?U)a+", r"\W"]
TRICKY = st.text(alphabet="aAbBkK\u212aſsSéÉǅǆ\n\t _.png0١٣ÿŸß\u00a0\u2028", max_size=8)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(REGEXES), TRICKY)
def test_the_two_re2s_agree_on_tricky_strings(rx, s):
    assert patterns.regexp(rx, s) == duck_match(rx, s), (rx, s)


def test_regex_flavour_facts_both_routes_share():
    for rx, s, want in [(r"^\w+$", "Été", False), (r"a.b", "a\nb", False), (r"a$", "a\n", False),
                        (r"(?i)^été$", "ÉTÉ", True), (r"(?s)a.b", "a\nb", True)]:
        assert patterns.regexp(rx, s) is want and duck_match(rx, s) is want, rx


@pytest.mark.parametrize("glob,hits,misses", [
    ("*.{jpg,png}", ["a.jpg", "B.PNG"], ["a.gif", "x/a.jpg"]),
    ("**/*.jpg", ["a.jpg", "x/y/a.JPG"], ["a.jpgx"]),
    ("a/**/b", ["a/b", "a/x/y/b"], ["ab", "a/xb"]),
    ("**", ["", "a/b/c"], []),
    ("?.txt", ["a.txt", "é.txt"], ["/.txt", "ab.txt"]),
    ("[!a]*", ["b", "Ü"], ["a", "A", "/x"]),
    ("[]]", ["]"], ["a"]),
    ("[a-c]x", ["bx", "Bx"], ["dx", "/x"]),
    ("[!-0]", ["!"], ["/", "-", "0"]),
    ("\\*\\?\\[\\{", ["*?[{"], ["a?[{"]),
    ("{a,b{c,d}}", ["a", "bc", "BD"], ["b", "ad"]),
    ("{,x}y", ["y", "xy"], ["x"]),
    ("100%_*", ["100%_done"], ["100x_done"]),
    ("a\nb*", ["a\nbc"], ["ab"]),
    ("été*", ["Été.png", "ÉTÉ"], ["ete"]),
])
def test_glob_examples(glob, hits, misses):
    for s in hits:
        assert re2_match(glob, s) and reference(glob, s), (glob, s)
    for s in misses:
        assert not re2_match(glob, s) and not reference(glob, s), (glob, s)


def test_exact_case_globs_for_callers_that_ask():
    rx = patterns.glob_regex("*.jpg", ignore_case=False)
    assert patterns.regexp(rx, "a.jpg") and not patterns.regexp(rx, "a.JPG")


@pytest.mark.parametrize("glob,offset,words", [
    ("[z-a]", 1, "backwards"), ("[!]x", 0, r"unclosed '\['"), ("a[b", 1, r"unclosed '\['"),
    ("{a,b", 0, r"unclosed '\{'"), ("a}", 1, "without '{'"), ("ab\\", 2, "lone backslash"),
])
def test_bad_globs_are_pattern_errors_with_an_offset(glob, offset, words):
    with pytest.raises(patterns.PatternError, match=words) as exc:
        patterns.glob_regex(glob)
    assert exc.value.offset == offset and isinstance(exc.value, VdfsSyntaxError)


@pytest.mark.parametrize("rx,words", [
    ("^(?!IMG).*jpg$", "look-around"), ("(?<=a)b", "look-around"), (r"(a)\1", "backreference"),
    ("(?<n>a)", r"\(\?P<name>"), (r"\C", "one byte"), (r"a\Z", r"\\z"), ("(a", "missing"),
    ("[z-a]", "range"),
])
def test_regexes_no_route_can_run_are_refused(rx, words):
    with pytest.raises(patterns.PatternError, match=words):
        patterns.check_regex(rx)
    try:                                    # and DuckDB indeed refuses or differs on the first ones
        duck_match(rx, "")
    except duckdb.Error:
        pass


# ---- the reported problems, on a real library, through both routes --------------------------
def make_files(root, names):
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        (root / name).write_bytes(b"x")
    return root


@pytest.fixture
def world(lib, tmp_path):
    names = ["a" * 40 + "!", "Été.png", "ete.txt", "IMG_1.jpg", "notes.jpg", "libfoo.so",
             "libfooXso", "x.PNG", "y.{jpg,png}", "b.jpg", "c.png"]
    root = make_files(tmp_path / "dir", names)
    lib.index(str(root)).wait(timeout=60)
    return lib, root


def names(lib, text, route, **params):
    r = lib.engine.run(text, params, route=route)
    assert r.route == route
    return sorted(row["name"] for row in r.rows())


@pytest.mark.parametrize("route", ROUTES)
def test_catastrophic_patterns_answer_at_once(world, route):
    lib, root = world
    lib.engine.run('entries where name ~ "warm"', route=route)   # parser, mirror: not timed
    for text in ['entries where name =~ "(a+)+$"',
                 'entries where name ~ "*a*a*a*a*a*a*a*a*a*a*a*[b]"',
                 f'entries in "{root}/*a*a*a*a*a*a*a*a*a*a*a*[b]"']:
        t0 = time.perf_counter()
        got = names(lib, text, route)
        # backtracking would need ~2**40 steps on the 41-character name: 5 s still catches it,
        # and a busy machine cannot push a linear-time answer past it
        assert time.perf_counter() - t0 < 5.0, text
        assert got == [], text


@pytest.mark.parametrize("route", ROUTES)
def test_globs_fold_unicode_case_on_every_route(world, route):
    lib, _ = world
    assert names(lib, 'entries where name ~ "été*"', route) == ["Été.png"]
    assert names(lib, 'entries where name ~ "ÉTÉ.PNG"', route) == ["Été.png"]


@pytest.mark.parametrize("route", ROUTES)
def test_regexes_mean_the_same_on_every_route(world, route):
    lib, _ = world
    assert names(lib, r'entries where name =~ r"^\w+\.png$"', route) == ["c.png"]
    assert names(lib, r'entries where name =~ "^\\w+\\.png$"', route) == ["c.png"]
    assert names(lib, r'entries where name =~ r"(?i)^été"', route) == ["Été.png"]
    with pytest.raises(VdfsSyntaxError, match="look-around") as exc:
        names(lib, 'entries where name =~ "^(?!IMG).*jpg$"', route)
    assert exc.value.column == len('entries where name =~ "^') + 1
    with pytest.raises(ParameterError, match="look-around"):
        names(lib, "entries where name =~ :rx", route, rx="^(?!IMG).*jpg$")


@pytest.mark.parametrize("route", ROUTES)
def test_backslashes_never_vanish(world, route):
    lib, _ = world
    text = r'entries where name =~ "^lib.*\.so"'
    with pytest.raises(VdfsSyntaxError, match=r'raw string: r"\^lib\.\*\\\.so"') as exc:
        names(lib, text, route)
    assert exc.value.column == text.index("\\") + 1
    assert names(lib, r'entries where name =~ r"^lib.*\.so"', route) == ["libfoo.so"]
    assert names(lib, r'entries where name =~ "^lib.*\\.so"', route) == ["libfoo.so"]
    assert names(lib, r"entries where name =~ r'^lib.*\.so$'", route) == ["libfoo.so"]


@pytest.mark.parametrize("route", ROUTES)
def test_braces_are_alternatives_in_query_globs_too(world, route):
    lib, root = world
    assert names(lib, 'entries where name ~ "*.{jpg,png}"', route) == sorted([
        "Été.png", "IMG_1.jpg", "b.jpg", "c.png", "notes.jpg", "x.PNG"])
    assert names(lib, f'entries in "{root}/**/*.{{jpg,png}}"', route) == names(
        lib, 'entries where name ~ "*.{jpg,png}"', route)
    assert names(lib, r'entries where name ~ r"*.\{jpg,png\}"', route) == ["y.{jpg,png}"]


@pytest.mark.parametrize("route", ROUTES)
def test_ext_values_are_compared_lower_cased(world, route):
    lib, _ = world
    want = sorted(["Été.png", "c.png", "x.PNG"])
    assert names(lib, 'entries where ext = "PNG"', route) == want
    assert names(lib, "entries where ext in (PNG, Png)", route) == want
    assert names(lib, "entries where ext = :e", route, e="PNG") == want
    assert names(lib, "entries where ext in (:e)", route, e=["PNG"]) == want
    assert names(lib, 'entries where name ~ "*.PNG"', route) == want
    assert names(lib, "entries where kind = :k and ext = png", route, k="IMAGE") == want


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("text,column", [('entries where name ~ "[z-a]"', 24),
                                         ('entries where name ~ "[!]x"', 23),
                                         ('entries where name ~ "a}"', 24),
                                         ('entries in "/x/{a,b"', 16)])
def test_bad_globs_are_syntax_errors_not_engine_errors(world, route, text, column):
    lib, _ = world
    with pytest.raises(VdfsSyntaxError) as exc:
        names(lib, text, route)
    assert exc.value.column == column and "^" in str(exc.value)
    with pytest.raises(ParameterError, match="parameter :g"):
        names(lib, "entries where name ~ :g", route, g=text.split('"')[1])


def test_pattern_errors_survive_pickling():
    import pickle
    with pytest.raises(patterns.PatternError) as exc:
        vdfs_query.compile('entries where name =~ "(?!x)"')
    again = pickle.loads(pickle.dumps(exc.value))
    assert str(again) == str(exc.value) and again.column == exc.value.column == 24


def test_errors_are_found_when_compiling_without_a_library():
    with pytest.raises(VdfsSyntaxError):
        vdfs_query.compile('entries where name =~ "(?<n>a)"')
    with pytest.raises(VdfsError):
        vdfs_query.query_entries().where("name", "=~", "(a)\\1").to_ir()


# ---- string literals: defined escapes, raw strings, no silently dropped backslash -----------
def lit(text: str) -> str:
    """The value of the one string in `entries where name = <text>`."""
    return vdfs_query.compile(f"entries where name = {text}", "sqlite").params[0]


def test_defined_escapes_and_raw_strings():
    assert lit(r'"a\"b\\c\nd\te\rf\u00e9"') == 'a"b\\c\nd\te\rfé'
    assert lit(r"'it\'s'") == "it's"
    assert lit(r'r"^\d+\.jpg$"') == r"^\d+\.jpg$"
    assert lit(r"R'\w\\'") == r"\w\\"
    assert lit(r"""r'say "hi"\n'""") == r'say "hi"\n'


@pytest.mark.parametrize("text,at", [(r'"C:\Users"', 2), (r'"ok\\ then \q"', 10),
                                     (r'"\ud800"', 0), (r'"x\u12"', 1)])
def test_undefined_escapes_are_errors_with_a_caret(text, at):
    query = f"entries where name = {text}"
    with pytest.raises(VdfsSyntaxError, match=r'unknown escape.*raw string:? r"') as exc:
        vdfs_query.compile(query)
    assert exc.value.column == len("entries where name = \"") + at + 1


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=12))
def test_strings_round_trip(value):
    quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    assert lit(quoted) == value
    if '"' not in value:
        assert lit(f'r"{value}"') == value


def test_a_bare_r_is_still_a_name():
    with pytest.raises(VdfsSyntaxError, match="unknown field 'r'"):
        vdfs_query.compile("entries where r = 1")


@pytest.mark.parametrize("route", ROUTES)
def test_in_takes_escaped_folder_names_literally(lib, tmp_path, route):
    root = tmp_path / "lib"
    make_files(root / "[old]", ["a.txt"])
    make_files(root / "o", ["b.txt"])
    lib.index(str(root)).wait(timeout=60)
    assert names(lib, f'entries in r"{root}/\\[old\\]"', route) == ["a.txt"]
    assert names(lib, f'entries in "{root}/\\\\[old\\\\]"', route) == ["a.txt"]
    assert names(lib, f'entries in "{root}/[old]/*"', route) == ["b.txt"]    # a class: o, l or d

"""What to tell someone whose query did not parse: what would have fitted, in groups, and a hint
for the phrasings newcomers type first (SQL habits, plain English).

The parser reports terminal names (CMP_OP, NAME, $END); a user needs words, sorted into the
roles they play: the fields of the source being asked, operators, values, clauses, sources.
Every group is shown whole; see docs/query-language.md for the reference behind the hints.
"""
from __future__ import annotations

import re
from typing import Iterable

from .catalog import SOURCES

# Terminal names as a notebook user would say them (keyword terminals say themselves).
WORDS = {
    "STRING": 'a quoted text like "IMG_*"', "RAW_STRING": 'a raw text like r"\\d+"',
    "INT": "a whole number", "SIGNED_NUMBER": "a number", "SIZE": "a size like 2MB",
    "DATE": "a date like 2024-05-01", "PARAM": "a :parameter",
    "CMP_OP": "a comparison (= != < <= > >=)", "GLOB_OP": "~ (glob)", "NOT_GLOB_OP": "!~",
    "REGEX_OP": "=~ (regex)", "IN_LIST": "in (a, b)", "STAR": "'*'",
    "TIME_UNIT": "a time unit (seconds, minutes, hours, days, weeks, months, years)",
    "LPAR": "'('", "RPAR": "')'", "COMMA": "','", "$END": "the end of the query",
}

# The role of each terminal; a terminal not named here is in "other".
_ROLES = {
    "operators": ("CMP_OP", "GLOB_OP", "NOT_GLOB_OP", "REGEX_OP", "IN_LIST", "IS", "NOT", "AND",
                  "OR"),
    "values": ("STRING", "RAW_STRING", "INT", "SIGNED_NUMBER", "SIZE", "DATE", "PARAM", "TODAY",
               "YESTERDAY", "NOW", "TRUE", "FALSE", "TIME_UNIT", "AGO", "NULL"),
    "clauses": ("WHERE", "SELECT", "GROUP", "ORDER", "LIMIT", "OFFSET", "IN", "OF", "TAGGED",
                "HAS", "ON", "DUPLICATES", "MATCHES", "$END"),
    "sources": tuple(name.upper() for name in SOURCES),
}
_CLAUSE = re.compile(r"\b(where|select|by|limit|offset|in|of|tagged|has|on)\b", re.I)
_ORDER = ("fields", "operators", "values", "clauses", "sources", "other")


def word(term: str) -> str:
    """A terminal as a user would say it."""
    return WORDS.get(term, term.lower())


def expected_groups(terms: Iterable[str], text: str, pos: int) -> list[tuple[str, list[str]]]:
    """[(label, words)] for the terminals that would have fitted at `pos`, every word shown.

    A NAME where no value fits is a field: it expands to the fields of the query's source, so
    the user sees `size`, `name`, `path`, `modified`, … rather than "a name"."""
    terms = set(terms)
    before = text[max(0, pos - 4000):pos]
    if before.count("(") <= before.count(")"):
        terms.discard("RPAR")             # the LALR tables offer ")" even with nothing open
        clauses = _CLAUSE.findall(before)
        if not clauses or clauses[-1].lower() not in ("select", "by"):
            terms.discard("COMMA")        # nor a list to continue
    groups: dict[str, set[str]] = {}
    if "NAME" in terms:
        terms.discard("NAME")
        label, names = _name_role(terms, text, pos)
        groups.setdefault(label, set()).update(names)
    for term in terms:
        role = next((r for r, members in _ROLES.items() if term in members), "other")
        groups.setdefault(role, set()).add(word(term))
    return [(label, sorted(groups[label])) for label in _sorted_labels(groups)]


def _sorted_labels(groups: dict[str, set[str]]) -> list[str]:
    def rank(label: str) -> int:
        base = label.split(" ")[0]
        return _ORDER.index(base) if base in _ORDER else len(_ORDER)
    return sorted(groups, key=rank)


def _name_role(terms: set[str], text: str, pos: int) -> tuple[str, list[str]]:
    before = text[:pos].split()
    prev = before[-1].lower() if before else ""
    if "STRING" in terms:
        return "values", ["a bare word like image"]
    if prev in ("models", "has"):
        return "other", ["a model type like Person"]
    if prev == "as":
        return "other", ["a name for the column"]
    source = before[0].lower() if before else ""
    if source in SOURCES:
        src = SOURCES[source]
        return f"fields of {source}", sorted(set(src.fields) | set(src.synonyms))
    return "other", ["a name"]


_SELECT_FROM = re.compile(r"^\s*select\s+(?P<cols>.+?)\s+from\s+(?P<src>\w+)(?P<rest>.*)$",
                          re.I | re.S)
_LIKE = re.compile(r"(?P<field>\w+)\s+(?P<not>not\s+)?like\s+(?P<q>[\"'])(?P<pat>.*?)(?P=q)", re.I)
_IN_LAST = re.compile(r"(?P<field>\w+)\s+(?:in|within)\s+(?:the\s+)?(?:last|past)\s+"
                      r"(?P<n>\d+)\s+(?P<unit>[a-z]+)", re.I)
_BETWEEN = re.compile(r"(?P<field>\w+)\s+between\s+(?P<lo>\S+)\s+and\s+(?P<hi>\S+)", re.I)
_COUNT_STAR = re.compile(r"count\s*\(\s*\*\s*\)", re.I)
_BARE_UNIT = re.compile(r"[0-9.]+\s*$")
_UNIT_LETTERS = re.compile(r"(?:[kmgtp]i?|bytes?|kilo|mega|giga|tera)$", re.I)


_WINDOW = 200     # a phrase worth a hint sits next to where parsing stopped


def hint(text: str, pos: int, got: str) -> str | None:
    """A sentence on what to write instead, for the phrasings that habit brings, or None."""
    m = _SELECT_FROM.match(text) if len(text) <= 2000 else None      # a hand-typed query
    if m:
        cols = _COUNT_STAR.sub("count()", m["cols"].strip())
        return (f"write: {m['src']} select {cols}{m['rest'].rstrip()} (a query starts with its "
                "source; its clauses follow in any order)")
    lo = max(0, pos - _WINDOW)
    near, at = text[lo:pos + _WINDOW], pos - lo          # only look around the error
    m = _near(_LIKE, near, at)
    if m:
        glob = m["pat"].replace("%", "*")
        op = "!~" if m["not"] else "~"
        return f'use a glob: {m["field"]} {op} "{glob}" (* any run of characters, ? one)'
    m = _near(_IN_LAST, near, at)
    if m:
        return f"write {m['field']} > {m['n']} {m['unit'].lower()} ago"
    m = _near(_BETWEEN, near, at)
    if m:
        f = m["field"]
        return f"write {f} >= {m['lo']} and {f} <= {m['hi']} (there is no between)"
    if got == "*" and _COUNT_STAR.search(text[max(0, pos - 12):pos + 4]):
        return "write count() to count rows (count(field) counts the rows where it is set)"
    if got.isalpha() and _UNIT_LETTERS.fullmatch(got) and _BARE_UNIT.search(text[lo:pos]):
        return "sizes need a unit like 2MB or 2MiB (kb, MB, GB powers of 1000; KiB, MiB, GiB of 1024)"
    return None


def _near(pattern: re.Pattern, text: str, pos: int) -> re.Match | None:
    """The phrase of `pattern` that spans `pos`, where parsing stopped (not one elsewhere)."""
    return next((m for m in pattern.finditer(text) if m.start() <= pos <= m.end()), None)

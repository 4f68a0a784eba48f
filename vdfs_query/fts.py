"""Search text (`search "…"`, `matches "…"`) → an SQLite FTS5 query, checked here.

The language is FTS5's, made forgiving and safe: every word is quoted before FTS5 sees it, so a
name such as `invoice.pdf` or `2024-05` is a plain word, and only what is written as syntax is
syntax. A mistake (an unclosed quote, a bare `AND`) is a PatternError (a VdfsSyntaxError) whose
caret points at the character, never an SQLite error.

  word          a substring of a name or path (3+ characters), a word of content text
  word*         a prefix: names containing it, content words starting with it
  ^word         a name or path that starts with it
  "two words"   a phrase: these words, in this order, side by side
  a b           both (AND is implied); `a AND b`, `a OR b`, `a NOT b`, parentheses
Operators are upper-case, as in FTS5: a lower-case `and` is a word.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .patterns import PatternError

_OPS = ("AND", "OR", "NOT")
_TOKEN = re.compile(r'\s+|"[^"]*"?|\(|\)|[^\s"()]+')
SHORT = 3          # the trigram index finds substrings of at least this many characters
OPEN, CLOSE = "\u00ab", "\u00bb"     # « » around the matched part of a snippet


@dataclass(frozen=True)
class FtsQuery:
    """A checked search: `fts` for FTS5 MATCH; `short` the single term of fewer than SHORT
    characters (names are then scanned, as trigrams cannot find it), else None."""
    fts: str
    short: str | None
    anchored: bool = False


def _fail(message: str, text: str, offset: int) -> PatternError:
    return PatternError(message, text, offset)


def parse_search(text: str) -> FtsQuery:
    """Check `text` and translate it (raises PatternError with the offending offset)."""
    if not isinstance(text, str):
        raise _fail(f"search text must be text, not {type(text).__name__}", str(text), 0)
    out: list[str] = []
    terms: list[tuple[str, bool]] = []
    depth = 0
    prev = "start"            # start | term | op | open | close
    for m in _TOKEN.finditer(text):
        tok, at = m.group(), m.start()
        if tok.isspace():
            continue
        if tok == "(":
            if prev in ("term", "close"):
                out.append("AND")
            out.append("(")
            depth += 1
            prev = "open"
            continue
        if tok == ")":
            if depth == 0:
                raise _fail("')' closes nothing", text, at)
            if prev in ("op", "open"):
                raise _fail("nothing to search before ')'", text, at)
            out.append(")")
            depth -= 1
            prev = "close"
            continue
        if tok in _OPS:
            if prev in ("start", "op", "open"):
                raise _fail(f"{tok} needs a word before it (write: tax {tok} invoice; to find the "
                            f"word itself, quote it: \"{tok}\")", text, at)
            out.append(tok)
            prev = "op"
            continue
        anchored = tok.startswith("^")
        body = tok[1:] if anchored else tok
        prefix = body.endswith("*") and not (body.startswith('"') and not body.endswith('"*'))
        if prefix:
            body = body[:-1]
        if body.startswith('"'):
            if len(body) < 2 or not body.endswith('"'):
                raise _fail("this quote is never closed", text, at + (1 if anchored else 0))
            body = body[1:-1]
        if not body.strip():
            raise _fail("an empty word or phrase", text, at)
        if prev in ("term", "close"):
            out.append("AND")
        out.append(("^" if anchored else "") + '"' + body.replace('"', '""') + '"'
                   + ("*" if prefix else ""))
        terms.append((body, anchored))
        prev = "term"
    if depth:
        raise _fail("'(' is never closed", text, text.rfind("("))
    if prev == "op":
        raise _fail(f"{out[-1]} needs a word after it", text, len(text.rstrip()) - 1)
    if not terms:
        raise _fail("nothing to search for", text, 0)
    short = None
    if len(terms) == 1 and len(terms[0][0]) < SHORT:
        short = terms[0][0]
    return FtsQuery(" ".join(out), short, terms[0][1] if len(terms) == 1 else False)


def name_scan_regex(text: str) -> str | None:
    """The RE2 pattern that scans names for a short single-term search (None: the index
    answers). Case-insensitive, as the trigram index is."""
    q = parse_search(text)
    if q.short is None:
        return None
    return "(?i)" + ("^" if q.anchored else "") + re.escape(q.short)


def names_query(text: str) -> str | None:
    """The MATCH text for the name/path index (None: too short for trigrams; names are scanned)."""
    q = parse_search(text)
    return None if q.short is not None else q.fts


def text_query(text: str) -> str:
    """The MATCH text for the content-text index (words: short ones are fine)."""
    return parse_search(text).fts


def hits_sql(names: Callable[[], str], short: Callable[[], str], words: Callable[[], str],
             *, ranked: bool = True) -> str:
    """SQLite: the entries matching a search. `names`, `short`, `words` make a `?` of
    names_query, name_scan_regex and text_query (called in the order of the text, as slots
    must be). Ranked: a subquery of (id, rank, snippet), one row per entry: a name or path hit
    is ranked by bm25 with the name weighing 10 times the path; a content hit (an entry's or its
    content's notes, tags, extracted text, opted-in model fields) by bm25 of its document; an
    entry keeps its best rank and that hit's snippet. Not ranked: the ids alone, for
    `id IN (…)` — no score or highlight computed for hits a LIMIT never shows."""
    mark = f"'{OPEN}', '{CLOSE}'"
    if ranked:
        # the column with the most matches, the name on a tie (64 trigrams: a whole name)
        name_cols = ("entries_fts.rowid AS id, bm25(entries_fts, 10.0, 1.0) AS rank, "
                     f"snippet(entries_fts, -1, {mark}, '\u2026', 64) AS snippet")
        scan_cols = "n.id, 0.0, n.name"
        meta_cols = f"e2.id AS id, bm25(meta_fts) AS rank, snippet(meta_fts, -1, {mark}, '\u2026', 12)"
    else:
        name_cols, scan_cols, meta_cols = "entries_fts.rowid", "n.id", "e2.id"
    meta = f"SELECT {meta_cols} FROM meta_fts "
    match = f"WHERE meta_fts MATCH {{}}"
    arms = [f"SELECT {name_cols} FROM entries_fts "
            f"WHERE {names()} IS NOT NULL AND entries_fts MATCH {names()}",
            f"SELECT {scan_cols} FROM entries n WHERE {short()} IS NOT NULL "
            f"AND vdfs_regexp({short()}, n.name)"]
    # a document is an entry's or a content's metadata, or a model's (found by its metadata_id)
    for holder in ("user_metadata um2 ON um2.id", "models um2 ON um2.metadata_id"):
        arms.append(f"{meta}JOIN {holder} = meta_fts.rowid JOIN entries e2 "
                    f"ON e2.uuid = um2.entry_uuid " + match.format(words()))
        arms.append(f"{meta}JOIN {holder} = meta_fts.rowid JOIN content_identities c2 "
                    f"ON c2.uuid = um2.content_identity_uuid JOIN entries e2 "
                    f"ON e2.content_id = c2.id " + match.format(words()))
    union = " UNION ALL ".join(arms)
    if not ranked:
        return f"({union})"
    return f"(SELECT h.id AS id, min(h.rank) AS rank, h.snippet AS snippet FROM ({union}) AS h GROUP BY h.id)"


def split_marks(snippet: str | None) -> list[tuple[str, bool]]:
    """A snippet as (text, matched) pieces, the « » marks removed: what a terminal or a notebook
    highlights. Text without marks is one unmatched piece."""
    if not snippet:
        return []
    out: list[tuple[str, bool]] = []
    for i, part in enumerate(re.split(f"[{OPEN}{CLOSE}]", snippet)):
        if part:
            out.append((part, i % 2 == 1))
    return out

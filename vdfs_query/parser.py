"""Text → AST with Lark's LALR parser (built once per process, its analysis kept between
processes by parser_cache), errors made readable.

The parser runs `to_ast.Clauses` as its transformer, so nodes are built during the parse.
A text parsed before, by this process or an earlier one (parsed_cache), is not parsed again:
Lark is imported only when a text needs it.

`parse(text)` returns an `ast.Query` or raises `VdfsSyntaxError` with line, column, a caret,
what was expected in words, and a "did you mean" for a misspelt keyword.
"""
from __future__ import annotations

import hashlib
import re
import sys
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from . import ast, parsed_cache, parser_cache
from .errors import VdfsSyntaxError, closest
from .hints import expected_groups, hint, word
from .values import CoercionError, text_value

if TYPE_CHECKING:  # pragma: no cover
    from lark import Lark, Token
    from lark.exceptions import UnexpectedInput

_lock = threading.Lock()
_parser: Lark | None = None
_HERE = Path(__file__).resolve().parent
# an installed package carries a copy (setup.py); a checkout reads the repository's grammar/
GRAMMAR_PATHS = (_HERE / "grammar" / "vdfs.lark", _HERE.parent / "grammar" / "vdfs.lark")


def grammar_text() -> str:
    """The grammar of the language: grammar/vdfs.lark, its one source."""
    for path in GRAMMAR_PATHS:
        if path.is_file():
            return path.read_text("utf-8")
    looked = ", ".join(map(str, GRAMMAR_PATHS))
    raise FileNotFoundError(f"the vdfs grammar is missing (looked in {looked})")


# Lark's options for the language (the transformer apart): LALR with a contextual lexer.
_OPTIONS = {"parser": "lalr", "lexer": "contextual", "propagate_positions": False,
            "maybe_placeholders": True}


def build_parser(grammar: str, cache: bool | Path = True) -> Lark:
    """A parser of `grammar` building the AST, its analysis kept between processes (`cache`:
    True for the user's cache folder, a folder, or False for none)."""
    from .to_ast import Clauses
    folder = cache if isinstance(cache, Path) else None
    return parser_cache.build(grammar, Clauses(), _OPTIONS, folder, cache=cache is not False)


# The modules whose code shapes a tree: with the grammar, what a stored tree was made by.
_TREE_MODULES = ("parser.py", "to_ast.py", "ast.py", "tree.py", "values.py", "errors.py")


@lru_cache(maxsize=1)
def code_key() -> str | None:
    """A hash of the grammar and of the source that turns text into trees (None: a source is
    missing, so stored trees cannot be told current and none is used)."""
    h = hashlib.sha256(grammar_text().encode("utf-8"))
    try:
        for name in _TREE_MODULES:
            h.update(b"\0" + (_HERE / name).read_bytes())
    except OSError:
        return None
    h.update(sys.version.encode())
    return h.hexdigest()


def _get_parser() -> Lark:
    global _parser
    if _parser is None:
        with _lock:
            if _parser is None:
                _parser = build_parser(grammar_text())
    return _parser


@lru_cache(maxsize=512)
def parse(text: str) -> ast.Query:
    """Parse one query. Results are cached by text (the AST is immutable), in this process
    and between processes (parsed_cache)."""
    if not isinstance(text, str):
        raise VdfsSyntaxError(f"a query must be text, not {type(text).__name__}")
    try:
        text_value(text)
    except CoercionError as exc:
        bad = next(i for i, ch in enumerate(text) if "\ud800" <= ch <= "\udfff")
        raise VdfsSyntaxError(f"the query holds {text[bad]!r}, which is not a valid Unicode "
                              "character", text=text, pos=bad) from None
    key = code_key()
    q = parsed_cache.get(text, key)
    if q is None:
        q = parse_with_lark(text)
        parsed_cache.put(text, key, q)
    return q


def parse_with_lark(text: str) -> ast.Query:
    """Parse `text` (valid Unicode) with the grammar's parser: no cache of parsed texts."""
    from lark.exceptions import UnexpectedInput, VisitError
    try:
        q = _get_parser().parse(text)
    except VdfsSyntaxError as exc:
        raise exc.at(text) from None
    except VisitError as exc:
        inner = exc.orig_exc
        if isinstance(inner, VdfsSyntaxError):
            raise inner.at(text) from None
        raise VdfsSyntaxError(f"cannot read this query: {inner}", text=text, pos=0) from None
    except UnexpectedInput as exc:
        raise _translate(exc, text) from None
    except RecursionError:
        raise VdfsSyntaxError("the query nests too deeply", text=text, pos=0) from None
    _check_size(q.filters, text)
    return ast.Query(q.source, q.model, q.filters, q.select, q.group_by, q.order_by, q.limit,
                     q.offset, text=text, pos=0)


MAX_DEPTH = 50          # nested not / and / or; far past any hand-written query
MAX_CONDITIONS = 500    # SQLite stops at an expression tree 1000 deep


def _check_size(filters: tuple, text: str) -> None:
    """Reject a query whose conditions nest or number past what every later stage (lowering,
    hashing, SQL generation, SQLite) handles; walked without recursion."""
    stack = [(f, 1) for f in filters]
    conditions = 0
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise VdfsSyntaxError(f"the query nests too deeply (more than {MAX_DEPTH} levels of "
                                  "not / and / or)", text=text, pos=node.pos)
        if isinstance(node, (ast.And, ast.Or)):
            stack += [(item, depth + 1) for item in node.items]
        elif isinstance(node, ast.Not):
            stack.append((node.item, depth + 1))
        else:
            conditions += 1
            if conditions > MAX_CONDITIONS:
                raise VdfsSyntaxError(f"the query has more than {MAX_CONDITIONS} conditions",
                                      text=text, pos=node.pos)


# A keyword terminal: `WHERE.2: /where(?![A-Za-z0-9_])/i`, or alternatives with an optional
# plural: `TIME_UNIT.2: /(second|minute|…)s?(?![A-Za-z0-9_])/i`.
_KEYWORD_TERMINAL = re.compile(r"\(\?i:\(?(?P<words>[a-z]+(?:\|[a-z]+)*)\)?(?P<plural>s\?)?\(\?!")


@lru_cache(maxsize=1)
def keywords() -> tuple[str, ...]:
    """Every word the grammar reserves (sources, clauses, operators, value words, time units),
    read from the terminals Lark built from grammar/vdfs.lark: no list kept by hand to drift."""
    found: set[str] = set()
    for term in _get_parser().terminals:
        m = _KEYWORD_TERMINAL.search(term.pattern.to_regexp())
        if m is None:
            continue
        for w in m["words"].split("|"):
            found.update((w, w + "s") if m["plural"] else (w,))
    return tuple(sorted(found))


def lexer_tokens(text: str) -> Iterator[Token]:
    """The grammar's tokens of `text` without parsing it (strings and comments read as the
    parser reads them); raises lark's UnexpectedInput where no terminal matches."""
    return _get_parser().lex(text)


def __getattr__(name: str):
    if name == "KEYWORDS":            # computed on first use: importing the parser stays cheap
        return keywords()
    raise AttributeError(name)


def _translate(exc: UnexpectedInput, text: str) -> VdfsSyntaxError:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        if tok.type == "$END":
            pos = len(text.rstrip())
            return VdfsSyntaxError("the query ends too early", text=text, pos=pos,
                                   groups=expected_groups(exc.expected, text, pos))
        pos = tok.start_pos if tok.start_pos is not None else len(text)
        got = str(tok)
        known = [word(t) for t in exc.expected if word(t) in keywords()]
        guess = closest(got, known) if known and got.isalpha() else None
        return VdfsSyntaxError(f"unexpected {got!r}", text=text, pos=pos,
                               groups=expected_groups(exc.expected, text, pos),
                               suggestion=guess if guess and guess != got.lower() else None,
                               hint=hint(text, pos, got))
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream
        ch = text[pos] if pos < len(text) else ""
        # a whole word the lexer could not place: suggest a keyword it might have meant
        word_end = pos
        while word_end < len(text) and (text[word_end].isalnum() or text[word_end] == "_"):
            word_end += 1
        got = text[pos:word_end]
        allowed = exc.allowed or ()
        known = [word(t) for t in allowed if word(t) in keywords()]
        guess = closest(got, known) if got and known else None
        what = f"unexpected {got!r}" if got else f"unexpected character {ch!r}"
        return VdfsSyntaxError(what, text=text, pos=pos, suggestion=guess,
                               groups=expected_groups(allowed, text, pos),
                               hint=hint(text, pos, got or ch))
    if isinstance(exc, UnexpectedEOF):
        return VdfsSyntaxError("the query ends too early", text=text, pos=len(text),
                               groups=expected_groups(exc.expected, text, len(text)))
    return VdfsSyntaxError(str(exc), text=text, pos=getattr(exc, "pos_in_stream", 0))

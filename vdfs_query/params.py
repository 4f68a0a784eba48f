"""Where a query's `:name` parameters are: the one rule, used by the binder (to put a caret
under a parameter whose value is wrong) and by the notebook (to look the names up).

A text that parses is answered from its syntax tree, so a `:name` inside a string or a comment
is never a parameter. A text that does not parse (yet) is scanned with the grammar's own lexer,
skipping what it cannot read: the notebook can still name an undefined parameter.
"""
from __future__ import annotations

from . import ast
from .errors import VdfsSyntaxError
from .parser import lexer_tokens, parse


def param_nodes(q: ast.Query) -> list[ast.Param]:
    """Every `:name` of a parsed query, in the order of the text."""
    return sorted((n for n in q.walk() if isinstance(n, ast.Param)), key=lambda n: n.pos)


def param_positions(text: str) -> list[tuple[str, int]]:
    """(name, character offset of its ':') of every parameter of `text`, in order."""
    try:
        return [(n.name, n.pos) for n in param_nodes(parse(text))]
    except VdfsSyntaxError:
        return _lexed(text)


def param_pos(text: str | None, name: str) -> int | None:
    """Where `:name` first appears in `text` (None: no text, or not there)."""
    if not text:
        return None
    return next((pos for n, pos in param_positions(text) if n == name), None)


def _lexed(text: str) -> list[tuple[str, int]]:
    from lark.exceptions import UnexpectedInput     # a text that parsed never comes here
    found, start = [], 0
    while start < len(text):
        try:
            for tok in lexer_tokens(text[start:]):
                if tok.type == "PARAM":
                    found.append((str(tok)[1:], start + tok.start_pos))
            break
        except UnexpectedInput as exc:       # skip the character no terminal reads
            start += max(getattr(exc, "pos_in_stream", 0) or 0, 0) + 1
    return found

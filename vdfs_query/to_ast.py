"""Lark's reductions → AST nodes: the tree builder the parser runs while it parses.

Every token becomes a frozen `ast` node carrying its position, so later stages can put a caret
under it; literal values (numbers, dates, escapes in strings) are checked here, at their token.
"""
from __future__ import annotations

import re

from lark import Token, Transformer, Tree

from . import ast
from .errors import VdfsSyntaxError
from .values import CoercionError, check_time, parse_number

_SOURCES = {"src_entries": "entries", "src_files": "files", "src_folders": "folders",
            "src_content": "content", "src_tags": "tags",
            "src_collections": "collections", "src_jobs": "jobs", "src_locations": "locations",
            "src_devices": "devices"}

def _num(tok: Token) -> int | float:
    """A number token's value; one the databases cannot hold is an error at the token."""
    try:
        return parse_number(str(tok))
    except CoercionError as exc:
        raise VdfsSyntaxError(str(exc), pos=tok.start_pos) from None


def _time(tok: Token, spec: str) -> None:
    """Reject a date or 'N units ago' that does not exist or cannot be stored, at its token."""
    try:
        check_time(spec)
    except CoercionError as exc:
        raise VdfsSyntaxError(str(exc), pos=tok.start_pos) from None


class _ToAst(Transformer):
    """Builds ast nodes straight from the parser's reductions (no intermediate tree)."""

    def start(self, children):
        source, *clauses = children
        name, model, *implied = source
        q = dict(source=name, model=model, filters=list(implied))
        for kind, value, pos in clauses:
            if kind == "filter":
                q["filters"].append(value)
                continue
            if q.get(kind) is not None:
                raise VdfsSyntaxError(f"'{kind.replace('_', ' ')}' is given twice", pos=pos,
                                      text=None)
            q[kind] = value
        q["filters"] = tuple(q["filters"])
        return ast.Query(**q)

    # sources
    def __default__(self, data, children, meta):
        if data in _SOURCES:
            return (_SOURCES[data], None)
        return Tree(data, children, meta)  # Lark's internal helper rules, inlined by Lark

    def src_models(self, c):
        return ("models", c[1])

    def src_search(self, c):
        return ("search", None, ast.Matches(c[1], pos=c[0].start_pos))

    def model_name(self, c):
        return str(c[0])

    # clauses: (kind, value, pos)
    def where_clause(self, c):
        return ("filter", c[1], c[0].start_pos)

    def select_clause(self, c):
        return ("select", tuple(c[1:]), c[0].start_pos)

    def group_clause(self, c):
        return ("group_by", tuple(c[2:]), c[0].start_pos)

    def order_clause(self, c):
        return ("order_by", tuple(c[2:]), c[0].start_pos)

    def limit_clause(self, c):
        return ("limit", self._count(c[1]), c[0].start_pos)

    def offset_clause(self, c):
        return ("offset", self._count(c[1]), c[0].start_pos)

    def _count(self, v):
        return v if isinstance(v, ast.Param) else _num(v)

    # predicates (stand-alone clauses are wrapped by `clause` via the filter tag)
    def in_path(self, c):
        return self._pred(ast.InPath(c[1], pos=c[0].start_pos))

    def of_kind(self, c):
        return self._pred(ast.OfKind(c[2], pos=c[0].start_pos))

    def kind_list(self, c):
        return tuple(c)

    def tagged(self, c):
        return self._pred(ast.Tagged(c[1], pos=c[0].start_pos))

    def has_model(self, c):
        return self._pred(ast.Has(c[1], pos=c[0].start_pos))

    def on_this_device(self, c):
        return self._pred(ast.OnDevice(None, pos=c[0].start_pos))

    def on_device(self, c):
        return self._pred(ast.OnDevice(c[2], pos=c[0].start_pos))

    def duplicates(self, c):
        return self._pred(ast.Duplicates(pos=c[0].start_pos))

    def matches(self, c):
        return self._pred(ast.Matches(c[1], pos=c[0].start_pos))

    @staticmethod
    def _pred(node):
        return _Pred(node)

    # expressions
    def or_expr(self, c):
        items = tuple(_unpred(x) for x in c if not isinstance(x, Token))
        return ast.Or(items, pos=items[0].pos)

    def and_expr(self, c):
        items = tuple(_unpred(x) for x in c if not isinstance(x, Token))
        return ast.And(items, pos=items[0].pos)

    def not_expr(self, c):
        return ast.Not(_unpred(c[1]), pos=c[0].start_pos)

    def field(self, c):
        return ast.Field(str(c[0]), pos=c[0].start_pos)

    def compare(self, c):
        op = str(c[1])
        op = {"==": "=", "<>": "!="}.get(op, op)
        return ast.Compare(c[0], op, c[2], pos=c[0].pos)

    def glob(self, c):
        return ast.Compare(c[0], "~", c[2], pos=c[0].pos)

    def not_glob(self, c):
        return ast.Compare(c[0], "!~", c[2], pos=c[0].pos)

    def regex(self, c):
        return ast.Compare(c[0], "=~", c[2], pos=c[0].pos)

    def in_list(self, c):
        return ast.Compare(c[0], "in", tuple(c[2:]), pos=c[0].pos)

    def not_in_list(self, c):
        return ast.Compare(c[0], "notin", tuple(c[3:]), pos=c[0].pos)

    def is_null(self, c):
        return ast.Compare(c[0], "isnull", pos=c[0].pos)

    def is_not_null(self, c):
        return ast.Compare(c[0], "notnull", pos=c[0].pos)

    def truthy(self, c):
        return ast.Compare(c[0], "truthy", pos=c[0].pos)

    # select / order
    def select_item(self, c):
        expr, alias = c[0], c[2] if len(c) > 2 else None
        return ast.SelectItem(expr, str(alias) if alias is not None else None, pos=expr.pos)

    def star(self, c):
        return ast.Star(pos=c[0].start_pos)

    def call(self, c):
        return ast.Call(str(c[0]).lower(), c[1], pos=c[0].start_pos)

    def order_item(self, c):
        expr = c[0]
        desc = len(c) > 1 and c[1] is not None and str(c[1]).lower() == "desc"
        return ast.OrderItem(expr, desc, pos=expr.pos)

    # values
    def string(self, c):
        tok = c[0]
        return ast.Lit(_unquote(str(tok), tok.start_pos), pos=tok.start_pos)

    def raw_string(self, c):
        tok = c[0]
        return ast.Lit(str(tok)[2:-1], pos=tok.start_pos)

    def number(self, c):
        return ast.Lit(_num(c[0]), pos=c[0].start_pos)

    def size(self, c):
        return ast.Size(str(c[0]), pos=c[0].start_pos)

    def date(self, c):
        _time(c[0], str(c[0]))
        return ast.Date(str(c[0]), pos=c[0].start_pos)

    def ago(self, c):
        unit = str(c[1]).lower().rstrip("s")
        amount = _num(c[0])
        _time(c[0], f"{amount} {unit}s ago")
        return ast.Ago(amount, unit, pos=c[0].start_pos)

    def today(self, c):
        return ast.Day(0, pos=c[0].start_pos)

    def yesterday(self, c):
        return ast.Day(1, pos=c[0].start_pos)

    def now(self, c):
        return ast.Now(pos=c[0].start_pos)

    def true(self, c):
        return ast.Lit(True, pos=c[0].start_pos)

    def false(self, c):
        return ast.Lit(False, pos=c[0].start_pos)

    def word(self, c):
        return ast.Lit(str(c[0]), word=True, pos=c[0].start_pos)

    def param(self, c):
        return ast.Param(str(c[0])[1:], pos=c[0].start_pos)


class _Pred:
    """A predicate that may stand alone as a clause or sit inside `where`."""
    __slots__ = ("node",)

    def __init__(self, node):
        self.node = node


def _unpred(x):
    return x.node if isinstance(x, _Pred) else x


_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "r": "\r", "t": "\t"}
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")


def _unquote(s: str, pos: int = 0) -> str:
    """The value of a quoted string token starting at `pos`. The escapes are those of
    _ESCAPES and \\uXXXX; any other backslash is an error, never silently dropped (a regex
    like "\\.so" would otherwise lose its backslash): raw strings r"…" keep backslashes."""
    body = s[1:-1]
    if "\\" not in body:
        return body
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]              # the lexer guarantees a character after a backslash
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        code = body[i + 2:i + 6]
        if nxt == "u" and _HEX4.fullmatch(code) and not 0xD800 <= int(code, 16) <= 0xDFFF:
            out.append(chr(int(code, 16)))
            i += 6
            continue
        raise VdfsSyntaxError(_escape_message(nxt, body), pos=pos + 1 + i, text=None)
    return "".join(out)


def _escape_message(ch: str, body: str) -> str:
    defined = "\\\\ \\\" \\' \\n \\r \\t \\uXXXX"
    msg = (f"unknown escape \\{ch} in a string (strings know {defined}): write \\\\{ch} to keep "
           "the backslash")
    if ch == "u":
        msg = ("unknown escape: \\u takes four hex digits of a character (not a surrogate), "
               "e.g. \\u00e9; write \\\\u to keep the backslash")
    if '"' not in body and not re.search(r"\\[\\\\'\"nrtu]", body):
        return msg + f', or write the pattern as a raw string: r"{body}"'
    return msg + ', or use a raw string r"…" (it keeps every backslash)'


class Clauses(_ToAst):
    """Wrap predicates used as stand-alone clauses into filter clauses."""

    def start(self, children):
        fixed = [children[0]]
        for c in children[1:]:
            if isinstance(c, _Pred):
                fixed.append(("filter", c.node, c.node.pos))
            elif c[0] == "filter":
                fixed.append(("filter", _unpred(c[1]), c[2]))
            else:
                fixed.append(c)
        return super().start(fixed)

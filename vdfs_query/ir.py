"""The intermediate representation both front doors produce (DSL text and fluent builder).

Names are resolved against the catalog and literal values are already in stored form (sizes in
bytes, uuids as 16 bytes); values that depend on the moment of running (`7 days ago`, `today`)
or on the caller (`:param`, this device) stay symbolic until binding, so one compiled query
serves many runs. Frozen dataclasses: equal IR means equal SQL.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from .errors import VdfsSyntaxError
from .tree import TreeNode, nodes_in

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_JSON_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
AGGREGATES = ("count", "sum", "avg", "min", "max")
CMP_OPS = ("=", "!=", "<", "<=", ">", ">=")


@dataclass(frozen=True)
class Node(TreeNode):
    """An IR node; `walk()` yields it and every node below it (filters, refs, values)."""


@dataclass(frozen=True)
class Ref(Node):
    """A field of the source. `type` drives coercion and output; json = a model's inline field.

    The name is SQL text once generated (a column, or a `'$.a.b'` JSON path), so it is checked
    here, where every IR is made, whoever makes it: identifiers only, dotted for JSON paths."""
    name: str
    type: str
    json: bool = False

    def __post_init__(self) -> None:
        check_ref(self)


def check_ref(ref: Ref) -> None:
    pattern = _JSON_PATH if ref.json else _NAME
    if not isinstance(ref.name, str) or pattern.fullmatch(ref.name) is None:
        what = "a model field path (names joined by '.')" if ref.json else "a field name"
        raise VdfsSyntaxError(f"{what} must be letters, digits and '_' (not starting with a "
                              f"digit), got {ref.name!r}")


# ---- values ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lit(Node):
    value: Any


@dataclass(frozen=True)
class Param(Node):
    name: str
    type: str          # the field type the bound value is coerced to


@dataclass(frozen=True)
class TimeAt(Node):
    """A time resolved against the query's `now`: 'now', 'today', '7 days ago', '2024-05-01'.
    `edge` picks the start or end of an interval (a whole day or month)."""
    spec: str
    type: str          # time_ns | time_iso
    edge: str = "start"


# ---- filters --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cmp(Node):
    ref: Ref
    op: str            # = != < <= > >=
    value: Any

    def __post_init__(self) -> None:
        check_op(self.op)


def check_op(op: str) -> None:
    if op not in CMP_OPS:
        raise VdfsSyntaxError(f"unknown comparison operator {op!r}; known: {', '.join(CMP_OPS)}")


@dataclass(frozen=True)
class InList(Node):
    ref: Ref
    values: tuple
    negate: bool = False


@dataclass(frozen=True)
class Match(Node):
    ref: Ref
    mode: str          # glob | regex
    value: Any
    negate: bool = False


@dataclass(frozen=True)
class Null(Node):
    ref: Ref
    negate: bool = False


@dataclass(frozen=True)
class Truthy(Node):
    ref: Ref


@dataclass(frozen=True)
class Under(Node):
    """Entries below a folder (mode 'prefix'), matching a path glob ('glob'), or in the
    location with that name ('location')."""
    value: Any
    mode: str


@dataclass(frozen=True)
class Kind(Node):
    values: tuple


@dataclass(frozen=True)
class Tagged(Node):
    value: Any         # Lit(canonical name) or Param(name, 'tag')


@dataclass(frozen=True)
class Has(Node):
    model_type: str
    extension_id: Optional[str] = None


@dataclass(frozen=True)
class Device(Node):
    value: Any = None  # None = this device


@dataclass(frozen=True)
class Dup(Node):
    pass


@dataclass(frozen=True)
class Search(Node):
    """`matches "…"` (and the `search "…"` source): entries whose name or path, or the text
    the library holds about them, match a search (vdfs_query.fts). Runs on SQLite only."""
    value: Any         # Lit(text) or Param(name, 'search')


@dataclass(frozen=True)
class And(Node):
    items: tuple


@dataclass(frozen=True)
class Or(Node):
    items: tuple


@dataclass(frozen=True)
class Not(Node):
    item: Any


# ---- shaping --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Agg(Node):
    fn: str            # count sum avg min max
    ref: Optional[Ref] = None

    def __post_init__(self) -> None:
        check_agg(self.fn)


def check_agg(fn: str) -> None:
    if fn not in AGGREGATES:
        raise VdfsSyntaxError(f"unknown aggregate {fn!r}; known: {', '.join(AGGREGATES)}")


@dataclass(frozen=True)
class Alias(Node):
    name: str


@dataclass(frozen=True)
class Out(Node):
    expr: Any          # Ref | Agg
    alias: str


@dataclass(frozen=True)
class Order(Node):
    expr: Any          # Ref | Agg | Alias
    desc: bool = False


@dataclass(frozen=True)
class Query(Node):
    source: str
    model_type: Optional[str] = None
    extension_id: Optional[str] = None
    where: Any = None
    select: Optional[tuple] = None
    group_by: tuple = ()
    order: tuple = ()
    limit: Any = None
    offset: Any = None
    count_only: bool = False

    @property
    def aggregated(self) -> bool:
        return bool(self.group_by) or any(isinstance(o.expr, Agg) for o in self.select or ())


def conjuncts(node: Any) -> list:
    """The AND-ed parts of a filter (for routing and the builder)."""
    if node is None:
        return []
    if isinstance(node, And):
        out = []
        for item in node.items:
            out += conjuncts(item)
        return out
    return [node]


def and_all(items: list) -> Any:
    items = [i for i in items if i is not None]
    if not items:
        return None
    flat = []
    for i in items:
        flat += i.items if isinstance(i, And) else [i]
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def walk(node: Any) -> Iterator[Node]:
    """`node` and every node below it, depth first (nothing for None)."""
    return iter(()) if node is None else node.walk()


def named(q: Query) -> Iterator[Node]:
    """Every node whose names become SQL text: filters, outputs, groups, orders, their refs."""
    for part in (q.where, q.select, q.group_by, q.order):
        for node in nodes_in(part):
            yield from node.walk()


def check(q: Query) -> None:
    """Check again every name and operator that becomes SQL text: an IR altered after it was
    built (object.__setattr__ on a frozen node) is refused before any SQL is generated."""
    for n in named(q):
        if isinstance(n, Ref):
            check_ref(n)
        elif isinstance(n, Agg):
            check_agg(n.fn)
        elif isinstance(n, Cmp):
            check_op(n.op)


def pretty(q: Query) -> str:
    """A readable, deterministic rendering for `explain`."""
    lines = [f"source: {q.source}" + (f" {q.extension_id + '.' if q.extension_id else ''}"
                                       f"{q.model_type}" if q.model_type else "")]
    if q.where is not None:
        lines.append("where: " + _pf(q.where))
    if q.group_by:
        lines.append("group by: " + ", ".join(r.name for r in q.group_by))
    if q.select:
        lines.append("select: " + ", ".join(f"{_pe(o.expr)} as {o.alias}" for o in q.select))
    if q.order:
        lines.append("order by: " + ", ".join(_pe(o.expr) + (" desc" if o.desc else "")
                                              for o in q.order))
    if q.limit is not None:
        lines.append(f"limit: {_pv(q.limit)}")
    if q.offset is not None:
        lines.append(f"offset: {_pv(q.offset)}")
    if q.count_only:
        lines.append("count only")
    return "\n".join(lines)


def _pe(e: Any) -> str:
    if isinstance(e, Ref):
        return e.name
    if isinstance(e, Agg):
        return f"{e.fn}({e.ref.name if e.ref else ''})"
    if isinstance(e, Alias):
        return e.name
    return repr(e)


def _pv(v: Any) -> str:
    if isinstance(v, Lit):
        val = v.value
        if isinstance(val, bytes) and len(val) == 16:
            import uuid
            return f"uuid {uuid.UUID(bytes=val)}"
        return repr(val)
    if isinstance(v, Param):
        return f":{v.name}"
    if isinstance(v, TimeAt):
        return f"<{v.spec}{'' if v.edge == 'start' else ' (end)'}>"
    return repr(v)


def _pf(n: Any) -> str:
    """One filter as the DSL would write it, by the node's type (_PRETTY)."""
    show = _PRETTY.get(type(n))
    return show(n) if show else repr(n)


def _pcmp(n: Cmp) -> str:
    extra = ""
    if n.ref.type == "size" and isinstance(n.value, Lit) and isinstance(n.value.value, int):
        extra = f" ({n.value.value:,} bytes)"
    return f"{n.ref.name} {n.op} {_pv(n.value)}{extra}"


_PRETTY = {
    And: lambda n: " and ".join(_paren(i) for i in n.items),
    Or: lambda n: " or ".join(_paren(i) for i in n.items),
    Not: lambda n: "not " + _paren(n.item),
    Cmp: _pcmp,
    InList: lambda n: (f"{n.ref.name} {'not in' if n.negate else 'in'} "
                       f"({', '.join(_pv(v) for v in n.values)})"),
    Match: lambda n: (f"{'not ' if n.negate else ''}{n.ref.name} "
                      f"{ {'glob': '~', 'regex': '=~'}[n.mode]} {_pv(n.value)}"),
    Null: lambda n: f"{n.ref.name} is {'not ' if n.negate else ''}null",
    Truthy: lambda n: n.ref.name,
    Under: lambda n: f"in {n.mode} {_pv(n.value)}",
    Kind: lambda n: "of kind " + ", ".join(_pv(v) for v in n.values),
    Tagged: lambda n: f"tagged {_pv(n.value)}",
    Has: lambda n: f"has {n.extension_id + '.' if n.extension_id else ''}{n.model_type}",
    Device: lambda n: "on this device" if n.value is None else f"on device {_pv(n.value)}",
    Dup: lambda n: "duplicates",
    Search: lambda n: f"matches {_pv(n.value)}",
}


def searches(q: Query) -> list:
    """The Search nodes of a query's filter, in the order of its text."""
    return [n for n in walk(q.where) if isinstance(n, Search)]


def _paren(n: Any) -> str:
    s = _pf(n)
    return f"({s})" if isinstance(n, (And, Or)) else s

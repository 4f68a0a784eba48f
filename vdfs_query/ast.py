"""The syntax tree of a DSL query: what was written, before any name is resolved.

Nodes are frozen dataclasses; `pos` (character offset in the text) is kept out of equality so
two spellings of the same query compare equal and errors can point at the right place.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Union

from .tree import TreeNode


@dataclass(frozen=True)
class Node(TreeNode):
    """A syntax node; `walk()` yields it and every node below it."""
    pos: int = field(default=0, compare=False, kw_only=True)


# ---- values ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lit(Node):
    """A literal: str, int, float or bool. `word` marks a bare (unquoted) word."""
    value: Any
    word: bool = False


@dataclass(frozen=True)
class Size(Node):
    text: str          # '2MB', '1.5GiB'


@dataclass(frozen=True)
class Date(Node):
    text: str          # '2024-05-01', '2024-05', '2024-05-01T10:00'


@dataclass(frozen=True)
class Ago(Node):
    amount: int
    unit: str          # 'day', 'week', …


@dataclass(frozen=True)
class Day(Node):
    days_back: int     # today = 0, yesterday = 1


@dataclass(frozen=True)
class Now(Node):
    pass


@dataclass(frozen=True)
class Param(Node):
    name: str


Value = Union[Lit, Size, Date, Ago, Day, Now, Param]


# ---- filters --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field(Node):
    name: str


@dataclass(frozen=True)
class Compare(Node):
    field: Field
    op: str            # = != < <= > >= ~ !~ =~ in notin isnull notnull truthy
    value: Any = None  # a Value, a tuple of Values, or None


@dataclass(frozen=True)
class InPath(Node):
    value: Value


@dataclass(frozen=True)
class OfKind(Node):
    values: tuple


@dataclass(frozen=True)
class Tagged(Node):
    value: Value


@dataclass(frozen=True)
class Has(Node):
    model: str


@dataclass(frozen=True)
class OnDevice(Node):
    value: Optional[Value]   # None = this device


@dataclass(frozen=True)
class Duplicates(Node):
    pass


@dataclass(frozen=True)
class Matches(Node):
    """`matches "…"`: the entry's name, path or content text matches a search."""
    value: Value


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
class Call(Node):
    fn: str
    arg: Optional[Field]


@dataclass(frozen=True)
class Star(Node):
    pass


@dataclass(frozen=True)
class SelectItem(Node):
    expr: Any          # Field | Call | Star
    alias: Optional[str] = None


@dataclass(frozen=True)
class OrderItem(Node):
    expr: Any          # Field | Call
    desc: bool = False


@dataclass(frozen=True)
class Query(Node):
    source: str
    model: Optional[str] = None
    filters: tuple = ()
    select: Optional[tuple] = None
    group_by: Optional[tuple] = None
    order_by: Optional[tuple] = None
    limit: Any = None          # int | Param
    offset: Any = None
    text: str = field(default="", compare=False)

"""What the AST and the IR share as trees: a node knows its child nodes, and `walk()` visits
them all, so no stage writes its own traversal (finding `:param`s, checking names)."""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterator


class TreeNode:
    """Mixin of the frozen dataclass nodes: children are fields holding nodes or tuples of them."""
    __slots__ = ()

    def children(self) -> Iterator["TreeNode"]:
        for f in _fields(type(self)):
            yield from nodes_in(getattr(self, f))

    def walk(self) -> Iterator["TreeNode"]:
        """This node and every node below it, depth first in field order (no recursion, so a
        deep tree from the builder cannot overflow the stack)."""
        stack: list[TreeNode] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(list(node.children())))

    def transform(self, fn: Callable[["TreeNode"], "TreeNode"]) -> "TreeNode":
        """This tree rebuilt bottom-up with `fn` applied to every node (fn returns the node
        itself to keep it); unchanged subtrees are kept as they are."""
        changes = {}
        for f in _fields(type(self)):
            old = getattr(self, f)
            new = _transform_value(old, fn)
            if new is not old:
                changes[f] = new
        return fn(dataclasses.replace(self, **changes) if changes else self)


def _transform_value(value: Any, fn: Callable) -> Any:
    if isinstance(value, TreeNode):
        return value.transform(fn)
    if isinstance(value, tuple):
        items = tuple(_transform_value(v, fn) for v in value)
        return value if all(a is b for a, b in zip(items, value)) else items
    return value


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _fields(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def nodes_in(value: Any) -> Iterator[TreeNode]:
    """The nodes a field value holds: itself, the nodes of a tuple, or none."""
    if isinstance(value, TreeNode):
        yield value
    elif isinstance(value, tuple):
        for item in value:
            yield from nodes_in(item)

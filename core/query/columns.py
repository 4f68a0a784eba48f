"""A result's column names and types: lists to read, never to change in place.

Every answer of one prepared lookup shares its plan's two lists (copying them was a tenth of
a point lookup's cost beyond SQLite's own work), so a change in place would reach the next
answer; it is refused instead. They still compare, index, iterate, copy and pickle as lists.
"""
from __future__ import annotations

from typing import Any, NoReturn


class ReadOnlyList(list):
    """A list whose in-place changes raise TypeError (make a copy with list(...) to change)."""

    __slots__ = ()

    def _refuse(self, *_: Any, **__: Any) -> NoReturn:
        raise TypeError("a result's columns and types are read-only; change a copy: list(...)")

    append = extend = insert = remove = pop = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse

    def __reduce__(self) -> tuple:
        return (ReadOnlyList, (list(self),))


def read_only(values: list) -> ReadOnlyList:
    """`values` as a ReadOnlyList (itself when it already is one: shared, not copied)."""
    return values if values.__class__ is ReadOnlyList else ReadOnlyList(values)

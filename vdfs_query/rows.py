"""What the fluent builder's terminals hand back: rows that are dicts and also act like entries.

A Record is a dict whose keys are attributes too (`e.path`, `e.content_uuid`), so a list of them
goes straight into `pandas.DataFrame`. An Entry is the Record of an entries query: it can also
`read()` its bytes, give its `exif` and its `location()` — each asked of the executor that ran
the query, so an extension's rows read through its permission checks and nothing else. `map`
returns a Mapped list, which `.collect()`s to itself, so a chain written as
`.map(f).collect()` runs as it reads.
"""
from __future__ import annotations

from typing import Any

from .errors import VdfsError


class RowNotBound(VdfsError, RuntimeError):
    """An entries row asked to read, give its EXIF or its location without the query that
    made it (a row rebuilt from plain data, or sent to another process)."""


class Record(dict):
    """One row: a dict whose keys are also attributes (`e.path`, `e.content_uuid`)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class Entry(Record):
    """A row of an entries query that behaves like the entry it describes.

    Executor hooks (each optional; a row whose executor lacks one says so when called):
        executor.read_entry(entry_uuid) -> bytes
        executor.entry_exif(row) -> dict | None
        executor.entry_location(row) -> str | None
    Pickled or copied, a row keeps its fields and drops its executor (plain data again).
    """

    __slots__ = ("_host",)

    def _hook(self, name: str) -> Any:
        fn = getattr(getattr(self, "_host", None), name, None)
        if fn is None:
            raise RowNotBound(f"this row cannot {name.replace('_', ' ')}: it did not come from "
                               "a library's query (get it from vdfs().query_entries())")
        return fn

    def read(self) -> bytes:
        """The file's bytes, read as the query's caller may read them."""
        return self._hook("read_entry")(self["uuid"])

    @property
    def exif(self) -> dict[str, Any] | None:
        """The EXIF fields of the file (None when it has none)."""
        return self._hook("entry_exif")(self)

    def location(self) -> str | None:
        """The root folder of the location the entry belongs to."""
        return self._hook("entry_location")(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Entry, (dict(self),))

    def __copy__(self) -> "Entry":
        return Entry(self)


def entry_row(row: Any, host: Any) -> Entry:
    """An Entry of `row` (a dict or its (key, value) pairs) whose read(), exif and location()
    ask `host`."""
    out = Entry(row)
    out._host = host
    return out


class Mapped(list):
    """What `.map(fn)` returns: the mapped values, a list that also `.collect()`s and
    `.first()`s like the query it came from."""

    def collect(self) -> list:
        return list(self)

    def first(self) -> Any:
        return self[0] if self else None

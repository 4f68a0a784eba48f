"""How a result looks to a person: the notebook's HTML table and the terminal's text table.

A Result keeps its values exact (every digit, times in UTC); only what is shown is rounded and
put in local time, and only the page shown is converted (`Result.head`), so showing a
10-million-row result costs one page. `number_text` is the one rule for a float in a table,
shared by a Result's repr, the CLI and the notebook.
"""
from __future__ import annotations

import datetime as dt
import html
import json
from typing import Any

from .columns import ReadOnlyList

DISPLAY_ROWS = 50


class TableDisplay:
    """The display half of Result: needs its `columns`, `head(n)`, `known_len()` and
    `fetched_rows()`."""

    columns: ReadOnlyList

    def _repr_html_(self, limit: int = DISPLAY_ROWS) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = []
        for t in self.head(limit):
            body.append("<tr>" + "".join(f"<td>{html.escape(_text(v))}</td>" for v in t) + "</tr>")
        shown = self._shown(limit)
        return (f"<table class=\"vdfs-result\"><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table><p>{shown}</p>")

    def to_text(self, limit: int = DISPLAY_ROWS, width: int = 40) -> str:
        """A plain-text table for terminals."""
        rows = [[_text(v)[:width] for v in t] for t in self.head(limit)]
        widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(self.columns)]
        line = "  ".join(c.ljust(w) for c, w in zip(self.columns, widths))
        out = [line, "  ".join("-" * w for w in widths)]
        out += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows]
        out.append(f"({self._shown(limit).removeprefix('showing ')})")
        return "\n".join(out)

    def _shown(self, limit: int) -> str:
        n = self.known_len()
        if n is None:
            return f"showing {limit} of at least {self.fetched_rows():,} rows"
        return f"showing {limit} of {n} rows" if n > limit else f"{n} row{'s' * (n != 1)}"

    def __repr__(self) -> str:
        return self.to_text(limit=20)


def number_text(v: float) -> str:
    """A float as every table shows it (a Result's repr, the CLI, the notebook): 6 significant
    digits; csv, json and the values themselves keep every digit."""
    return f"{v:.6g}"


def local_time_text(v: dt.datetime) -> str:
    """A time as people read it in a table: local time, to the second, no offset."""
    return (v.astimezone().replace(tzinfo=None) if v.tzinfo else v).isoformat(
        sep=" ", timespec="seconds")


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return number_text(v)
    if isinstance(v, dt.datetime):
        return local_time_text(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True)
    return str(v)

"""Rendering query results and small tables: HTML for notebooks, aligned text for terminals.

Output must be deterministic (notebooks are tests): no timings, no ids, no absolute paths that
the result itself does not contain; rows beyond the display limit are counted, not shown.
"""
from __future__ import annotations

import html
import uuid
from datetime import date, datetime
from typing import Any, Sequence

DEFAULT_LIMIT = 50


def cell_text(value: Any, width: int = 60) -> str:
    """One value as short text: UUIDs in full, bytes as 16-byte UUIDs or a length, long text cut."""
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        return str(uuid.UUID(bytes=raw)) if len(raw) == 16 else f"<{len(raw)} bytes>"
    if isinstance(value, float):
        from core.query.display import number_text
        text = number_text(value)
    elif isinstance(value, datetime):
        from core.query.display import local_time_text
        text = local_time_text(value)
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def human_size(n: float | int | None) -> str:
    """Bytes as `vdfs` tables write them (SI units, 1 kB = 1000 B): core decides, so a notebook
    and the CLI never round the same size two ways."""
    from core.cli.output import human_size as core_human_size
    return core_human_size(n)


class AtLeast(int):
    """A row count known only from below: the rest of a streamed result is not fetched yet."""


def _summary(total: int | None, shown: int, noun: str) -> str:
    if total is None:
        return f"{shown} {noun}{'' if shown == 1 else 's'}"
    if isinstance(total, AtLeast):
        return (f"first {shown} of at least {total:,} {noun}s (the rest is fetched when the "
                "result is used: len(), .arrow(), .df())")
    head = f"{total} {noun}{'' if total == 1 else 's'}"
    if shown < total:
        head += f" (showing the first {shown}; %config Vdfs.display_limit to see more)"
    return head


def marked_html(snippet: Any) -> str:
    """A search's snippet with its matched parts in <mark> (the rest escaped)."""
    from vdfs_query.fts import split_marks
    return "".join(f"<mark>{html.escape(t)}</mark>" if hit else html.escape(t)
                   for t, hit in split_marks(cell_text(snippet, 200)))


def html_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, total: int | None = None,
               noun: str = "row", title: str | None = None) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    marked = [c == "snippet" for c in columns]     # a search's matched part, highlighted
    body = "".join(
        "<tr>" + "".join(f"<td>{marked_html(v) if m else html.escape(cell_text(v))}</td>"
                         for v, m in zip(row, marked)) + "</tr>"
        for row in rows)
    caption = html.escape(_summary(total if total is not None else len(rows), len(rows), noun))
    if title:
        caption = f"<b>{html.escape(title)}</b> — {caption}"
    return (f'<div class="vdfs-result"><div class="vdfs-caption">{caption}</div>'
            f'<table class="vdfs-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def text_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, total: int | None = None,
               noun: str = "row", title: str | None = None) -> str:
    cells = [[cell_text(v, 40) for v in row] for row in rows]
    widths = [len(str(c)) for c in columns]
    for row in cells:
        widths = [max(w, len(v)) for w, v in zip(widths, row)]
    lines = []
    caption = _summary(total if total is not None else len(rows), len(rows), noun)
    lines.append(f"{title} — {caption}" if title else caption)
    if columns:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(columns, widths)).rstrip())
        lines.append("  ".join("-" * w for w in widths))
        for row in cells:
            lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


def result_parts(result: Any, limit: int) -> tuple[list[str], list[list[Any]], int]:
    """Columns, the first `limit` rows (as lists) and the total row count of a query Result.
    Only the rows shown are converted, and a streamed result is not fetched to be counted: its
    total is then AtLeast the rows read so far."""
    from core.query.result import Result
    columns = list(result.columns)
    if isinstance(result, Result):
        rows = [list(t) for t in result.head(limit)]
        known = result.known_len()
        return columns, rows, AtLeast(result.fetched_rows()) if known is None else known
    tuples = result.tuples() if hasattr(result, "tuples") else [
        tuple(r.get(c) for c in columns) for r in result.rows()]
    return columns, [list(t) for t in tuples[:limit]], len(tuples)


class Table:
    """A small display-only table (jobs, tags, help): rich HTML and plain text."""

    def __init__(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str | None = None,
                 noun: str = "row"):
        self.columns, self.rows, self.title, self.noun = list(columns), [list(r) for r in rows], title, noun

    def _repr_html_(self) -> str:
        return html_table(self.columns, self.rows, title=self.title, noun=self.noun)

    def __repr__(self) -> str:
        return text_table(self.columns, self.rows, title=self.title, noun=self.noun)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


class Text:
    """A display-only message: the same words as HTML and as plain text."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.text)

    def _repr_html_(self) -> str:
        return f'<pre class="vdfs-text">{html.escape(self.text)}</pre>'

"""Rich display of query results in the shell, honouring `%config Vdfs.display_limit`.

The cell's value stays the Result object itself (users are confused when the saved value is not
what was shown); only its rendering is decided here.
"""
from __future__ import annotations

from typing import Any

from .config import settings
from .display import html_table, result_parts, text_table


def result_html(result: Any) -> str:
    cols, rows, total = result_parts(result, settings().display_limit)
    return html_table(cols, rows, total=total)


def result_text(result: Any, p: Any = None, cycle: bool = False) -> Any:
    cols, rows, total = result_parts(result, settings().display_limit)
    text = text_table(cols, rows, total=total)
    if p is None:
        return text
    p.text(text)


def register(ip: Any) -> None:
    from core.query import Result
    ip.display_formatter.formatters["text/html"].for_type(Result, result_html)
    ip.display_formatter.formatters["text/plain"].for_type(Result, result_text)

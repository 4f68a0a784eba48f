"""Short, readable errors for user mistakes in `%vdfs` cells.

A mistyped query is not a bug: the user needs the message and a caret under the offending text,
not forty lines of traceback. `MagicError` carries pre-rendered lines and implements IPython's
`_render_traceback_` hook, so the shell (and a kernel's error message) shows exactly those lines,
while the cell still *fails* (Run All stops, nbval sees an error).
"""
from __future__ import annotations

from typing import Any, Iterable


class MagicError(Exception):
    """A user mistake in a magic: shown as a few lines, never as a traceback."""

    def __init__(self, message: str, detail: Iterable[str] = ()):
        super().__init__(message)
        self.message = message
        self.detail = list(detail)

    def lines(self) -> list[str]:
        return [f"{type(self).__name__}: {self.message}", *self.detail]

    def _render_traceback_(self) -> list[str]:
        return self.lines()

    def _repr_html_(self) -> str:
        from html import escape
        body = escape("\n".join(self.lines()))
        return f'<pre class="vdfs-error" style="color:#b00">{body}</pre>'


class VdfsSyntaxError(MagicError):
    """The query text does not parse."""


class VdfsParameterError(MagicError):
    """A `:param` value the query cannot bind (missing, or not fitting its field)."""


class VdfsQueryError(MagicError):
    """The query parsed but core refused it (unknown field, missing parameter, ...)."""


class VdfsUsageError(MagicError):
    """Bad magic arguments: unknown sub-command, unknown flag, missing value."""


def caret_lines(text: str, line: int, column: int, width: int = 1) -> list[str]:
    """The offending line of `text` with `^` under columns [column, column+width) (1-based)."""
    rows = text.split("\n")
    line = max(1, min(line, len(rows)))
    src = rows[line - 1]
    width = max(1, width)
    return ["  " + src, "  " + " " * max(0, column - 1) + "^" * width]


def from_syntax_error(exc: Any, text: str) -> MagicError:
    """Turn vdfs_query.VdfsSyntaxError into display lines: the caret under the whole token, then
    its advice (what was expected, grouped and whole; a hint; did-you-mean)."""
    line = int(getattr(exc, "line", 1) or 1)
    column = int(getattr(exc, "column", 1) or 1)
    reason = getattr(exc, "message", None) or _first_line(str(exc))
    detail = caret_lines(text, line, column, _token_width(text, line, column))
    detail += exc.advice()
    from vdfs_query import ParameterError
    cls = VdfsParameterError if isinstance(exc, ParameterError) else VdfsSyntaxError
    return cls(f"line {line}, column {column}: {reason}", detail)


def from_query_error(exc: BaseException, text: str | None = None) -> VdfsQueryError:
    """Core's VdfsError (or a query error with a position) as short display lines."""
    message = _first_line(str(exc)) or type(exc).__name__
    rest = str(exc).splitlines()[1:]
    line = getattr(exc, "line", None)
    column = getattr(exc, "column", None)
    detail: list[str] = []
    if text is not None and line and column:
        detail = caret_lines(text, int(line), int(column), _token_width(text, int(line), int(column)))
    elif rest:
        detail = rest
    return VdfsQueryError(message, detail)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _token_width(text: str, line: int, column: int) -> int:
    rows = text.split("\n")
    if not 1 <= line <= len(rows):
        return 1
    src = rows[line - 1][column - 1:]
    if src[:1] in ("'", '"'):                       # a quoted value: underline the whole string
        end = src.find(src[0], 1)
        return end + 1 if end > 0 else len(src)
    if src[:1] in "+-" and src[1:2].isdigit():
        src = src[1:]
        return 1 + _token_width(src, 1, 1)
    n = 0
    for ch in src:
        if ch.isalnum() or ch in "_.":
            n += 1
        else:
            break
    return max(1, n)

"""The error family of vdfs, rooted here because this is the lowest layer.

`VdfsError` is the base of every error a user or an extension can cause, in vdfs_query and in
core alike (core.errors re-exports it): anything else reaching a user is a bug. Each stage of a
query has its error: the text (parsing, and lowering: an unknown field, a value of the wrong
type) raises `VdfsSyntaxError`; binding a run's values raises `ParameterError` (a `:param`
missing or not fitting its field); `QueryError` is a query that was understood but could not run
(stopped, too slow). Both of the first two are `LocatedError`s that point into the text.

Notebook users should not have to tell a parse error from an unknown field: both point at the
text with a caret, say what was expected in words, and suggest a close name when one exists.
"""
from __future__ import annotations

import copy
import difflib
from typing import Iterable


class VdfsError(Exception):
    """Base of every error vdfs raises on purpose: a user or extension mistake, never a bug."""


class QueryError(VdfsError):
    """A query that was understood but could not be answered (interrupted, over its deadline)."""


class QueryTimeout(QueryError):
    """A query stopped because it ran past its deadline; the engine stays usable."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        super().__init__(f"the query ran longer than its {seconds:g} s deadline and was stopped "
                         "(narrow it, or pass a longer timeout=)")


class QueryCancelled(QueryError):
    """A query stopped by the user (Ctrl-C, a notebook interrupt); the engine stays usable."""

    def __init__(self, message: str = "the query was cancelled"):
        super().__init__(message)


class LocatedError(VdfsError, ValueError):
    """An error about a place in the query text: line, column, snippet and expectations."""

    def __init__(self, message: str, *, text: str | None = None, pos: int | None = None,
                 expected: Iterable[str] = (), suggestion: str | None = None,
                 groups: Iterable[tuple[str, Iterable[str]]] | None = None,
                 hint: str | None = None):
        self.message = message
        self.text = text
        self.pos = pos
        if groups is None:
            words = sorted(set(expected))
            groups = [("", words)] if words else []
        self.groups = [(label, sorted(set(words))) for label, words in groups]
        self.expected = sorted({w for _, words in self.groups for w in words})
        self.suggestion = suggestion
        self.hint = hint
        self.line, self.column, self.snippet = _locate(text, pos)
        super().__init__(self._render())

    def at(self, text: str) -> "LocatedError":
        """The same error located in `text` (raised by a stage that did not know the text)."""
        return self._replace(text=text)

    def with_hint(self, hint: str | None) -> "LocatedError":
        """The same error with another hint: a front end words how to fix it its own way (the
        CLI's `--param n=…` where Python passes `n=…`)."""
        return self._replace(hint=hint)

    def _replace(self, **fields: object) -> "LocatedError":
        new = copy.copy(self)          # a subclass's own attributes come along
        vars(new).update(fields)
        new.line, new.column, new.snippet = _locate(new.text, new.pos)
        new.args = (new._render(),)
        return new

    def advice(self) -> list[str]:
        """The lines after the caret: what was expected (whole, grouped), a hint, a suggestion.
        The notebook renders these same lines."""
        lines = []
        if len(self.groups) == 1:
            label, words = self.groups[0]
            lines.append(f"expected one of the {label}: {', '.join(words)}" if label else
                         "expected " + _join_or(words))
        elif self.groups:
            lines.append("expected one of")
            lines += [f"  {label}: {', '.join(words)}" for label, words in self.groups]
        if self.hint:
            lines.append(f"hint: {self.hint}")
        if self.suggestion:
            lines.append(f"did you mean {self.suggestion!r}?")
        return lines

    def _render(self) -> str:
        parts = [self.message]
        if self.line is not None:
            parts[0] += f" (line {self.line}, column {self.column})"
            parts.append(self.snippet)
        return "\n".join(parts + self.advice())


class VdfsSyntaxError(LocatedError):
    """A query text that cannot be understood: bad syntax, an unknown name, a value that does
    not fit its field (parsing and lowering)."""


class ParameterError(LocatedError, QueryError):
    """A run's `:param` value is missing or does not fit its field (binding): the text was
    fine, the values given with it were not. The caret points at the `:param`.

    `missing_param` names a parameter that was not given at all, so that each front end can
    say how to give it there (its hint is Python's `name=…`)."""

    def __init__(self, message: str, *, missing_param: str | None = None, **located: object):
        self.missing_param = missing_param
        super().__init__(message, **located)


def _locate(text: str | None, pos: int | None) -> tuple[int | None, int | None, str]:
    if text is None or pos is None:
        return None, None, ""
    pos = max(0, min(pos, len(text)))
    line_no = text.count("\n", 0, pos) + 1
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    line = text[start:] if end < 0 else text[start:end]
    col = pos - start + 1
    caret = col - 1
    if len(line) > 2 * _WINDOW:           # a long line is shown around the caret only
        lo, hi = max(0, caret - _WINDOW), caret + _WINDOW
        shown, caret = line[lo:hi], caret - lo
        if lo:
            shown, caret = "…" + shown, caret + 1
        if hi < len(line):
            shown += "…"
        line = shown
    return line_no, col, f"  {line}\n  {' ' * caret}^"


_WINDOW = 60


def _join_or(items: list[str]) -> str:
    """All of `items` (never cut: the one left out is the one the user needed)."""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " or " + items[-1]


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice a typo most likely meant, or None."""
    lowered = {c.lower(): c for c in choices}
    hit = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[hit[0]] if hit else None

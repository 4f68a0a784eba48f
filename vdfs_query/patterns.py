"""Text patterns, one implementation for every route: globs compiled to RE2, regexes checked by RE2.

Why one place: the SQLite route runs patterns through `vdfs_regexp` (google-re2 here) and the
DuckDB route through DuckDB's built-in RE2, so a pattern means the same on both only when both
get the same RE2 text. RE2 matches in linear time, so no pattern or name can freeze a query.

Globs: `*` any run of characters within one folder, `**` across folders (`**/` also matches no
folder), `?` one character other than `/`, `[abc]` `[a-z]` `[!abc]` (or `[^abc]`) one character
from a class (never `/`), `{a,b}` alternatives (nestable), and `\\` makes the next character
literal. Globs ignore case with Unicode folding (`ignore_case=False` asks for exact case).

Regexes: RE2 syntax exactly as DuckDB runs it (checked: `.` does not match a newline, `\\w` is
ASCII, `(?i)` folds Unicode, `$` is the end of the text). What RE2 cannot run, such as
look-around and backreferences, is a `PatternError` naming the construct, with a caret.
"""
from __future__ import annotations

import functools
from typing import Any

import re2

from .errors import VdfsSyntaxError

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False        # errors become PatternError, not lines on stderr
_YES_NO = re2.Options()            # for vdfs_regexp: only "does it match?", no groups to fill
_YES_NO.log_errors = False
_YES_NO.never_capture = True
try:        # google-re2's own binding: 2-3x cheaper per row than its re-like wrapper
    from re2 import _re2
    _UNANCHORED = _re2.RE2.Anchor.UNANCHORED
except (ImportError, AttributeError):      # pragma: no cover - another google-re2 layout
    _re2 = None


class PatternError(VdfsSyntaxError):
    """A glob or regex that cannot be compiled. `pattern` and `offset` (where in the pattern)
    let a caller point the caret into the query text that held it."""

    def __init__(self, message: str, pattern: str, offset: int, *, text: str | None = None,
                 pos: int | None = None):
        self.pattern, self.offset = pattern, offset
        if text is None:                        # no query text: the caret goes into the pattern
            text, pos = pattern, offset
        super().__init__(message, text=text, pos=pos)

    def within(self, text: str | None, pos: int | None) -> "PatternError":
        """The same error with its caret at `pos` of a query text."""
        return PatternError(self.message, self.pattern, self.offset, text=text, pos=pos)

    def __reduce__(self) -> tuple:          # errors cross process boundaries (jobs, kernels)
        return _rebuild, (self.message, self.pattern, self.offset, self.text, self.pos)


def _rebuild(message: str, pattern: str, offset: int, text: str | None,
             pos: int | None) -> PatternError:
    return PatternError(message, pattern, offset, text=text, pos=pos)


# ---- globs ----------------------------------------------------------------------------------
def is_glob(text: str) -> bool:
    """Does `text` use a glob operator (an unescaped `*`, `?`, `[` or `{`)?"""
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in "*?[{":
            return True
        i += 1
    return False


def unescape(text: str) -> str:
    """The literal text a glob without operators stands for (its `\\` escapes removed)."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=1024)
def glob_body(glob: str) -> str:
    """The RE2 text (no anchors, no flags) matching what `glob` matches."""
    if not isinstance(glob, str):
        raise PatternError(f"a glob must be text, not {type(glob).__name__}", str(glob), 0)
    body, _ = _sequence(glob, 0, 0)
    return body


@functools.lru_cache(maxsize=1024)
def glob_regex(glob: str, *, ignore_case: bool = True) -> str:
    """`glob` as one anchored RE2 regex, run unchanged by `vdfs_regexp` and DuckDB."""
    rx = ("(?i)" if ignore_case else "") + "^(?:" + glob_body(glob) + ")$"
    compiled(rx)                 # a glob never yields a regex RE2 refuses; say so loudly if it did
    return rx


def path_glob_regex(glob: str) -> str:
    """`in "glob"`: an absolute glob matches whole paths; a relative one matches at any depth."""
    return glob_regex(glob if glob.startswith("/") else "**/" + glob)


def _sequence(p: str, i: int, depth: int) -> tuple[str, int]:
    """Translate from `i` until the end, or (inside braces) until `,` or `}`."""
    out: list[str] = []
    n = len(p)
    while i < n:
        c = p[i]
        if c == "\\":
            if i + 1 >= n:
                raise PatternError("a glob cannot end with a lone backslash (write \\\\ for a "
                                   "backslash)", p, i)
            out.append(_literal(p[i + 1]))
            i += 2
        elif c == "*":
            j = i
            while j < n and p[j] == "*":
                j += 1
            if j - i == 1:
                out.append("[^/]*")
            elif p[j:j + 1] == "/":
                out.append("(?s:.*/)?")        # `**/`: any number of folders, none included
                j += 1
            else:
                out.append("(?s:.*)")          # `**` (or more stars): anything, across folders
            i = j
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            cls, i = _class(p, i)
            out.append(cls)
        elif c == "{":
            alts, start = [], i
            i += 1
            while True:
                alt, i = _sequence(p, i, depth + 1)
                alts.append(alt)
                if i >= n:
                    raise PatternError("unclosed '{' in glob (write \\{ for a literal brace)",
                                       p, start)
                i += 1
                if p[i - 1] == "}":
                    break
            out.append("(?:" + "|".join(alts) + ")")
        elif depth and c in ",}":
            return "".join(out), i
        elif c == "}":
            raise PatternError("'}' without '{' in glob (write \\} for a literal brace)", p, i)
        else:
            out.append(_literal(c))
            i += 1
    return "".join(out), i


def _class(p: str, start: int) -> tuple[str, int]:
    """`[...]` at `start`: (RE2 class that never matches `/`, index after the `]`)."""
    n = len(p)
    i = start + 1
    negate = i < n and p[i] in "!^"
    if negate:
        i += 1
    ranges: list[tuple[int, int]] = []
    first = True

    def char(k: int) -> tuple[str, int]:
        if k < n and p[k] == "\\":
            k += 1
        if k >= n:
            raise PatternError("unclosed '[' in glob (write \\[ for a literal bracket)", p, start)
        return p[k], k + 1

    while True:
        if i >= n:
            raise PatternError("unclosed '[' in glob (write \\[ for a literal bracket)", p, start)
        if p[i] == "]" and not first:
            break
        first = False
        at = i
        lo, i = char(i)
        if i + 1 < n and p[i] == "-" and p[i + 1] != "]":
            hi, i = char(i + 1)
            if ord(hi) < ord(lo):
                raise PatternError(f"range {lo}-{hi} in [...] runs backwards (write {hi}-{lo})",
                                   p, at)
            ranges.append((ord(lo), ord(hi)))
        else:
            ranges.append((ord(lo), ord(lo)))
    slash = ord("/")
    kept: list[tuple[int, int]] = []
    for lo, hi in ranges:                       # a class never matches the folder separator
        if lo < slash:
            kept.append((lo, min(hi, slash - 1)))
        if hi > slash:
            kept.append((max(lo, slash + 1), hi))
    body = "".join(_class_char(lo) if lo == hi else f"{_class_char(lo)}-{_class_char(hi)}"
                   for lo, hi in kept)
    if negate:
        return f"[^/{body}]", i + 1
    return (f"[{body}]" if body else "[^\\x00-\\x{10FFFF}]"), i + 1


def _literal(ch: str) -> str:
    if ch.isascii() and not ch.isalnum() and ch != "_":
        return "\\" + ch if ch.isprintable() and ch != " " else f"\\x{{{ord(ch):x}}}"
    return ch


def _class_char(code: int) -> str:
    ch = chr(code)
    if ch.isascii() and not ch.isalnum():
        return f"\\x{{{code:x}}}"
    return ch


# ---- regexes --------------------------------------------------------------------------------
@functools.lru_cache(maxsize=512)
def compiled(pattern: str) -> Any:
    """The RE2 program for `pattern` (cached), or PatternError saying what RE2 cannot run."""
    if not isinstance(pattern, str):
        raise PatternError(f"a regular expression must be text, not {type(pattern).__name__}",
                           str(pattern), 0)
    try:
        rx = re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        raise _explain(pattern, exc) from None
    _portable(pattern)
    return rx


def check(mode: str, pattern: str) -> None:
    """Refuse a pattern of `mode` ('glob', 'path' for `in "glob"`, 'regex') that cannot run;
    the PatternError's offset indexes `pattern` itself."""
    if mode == "regex":
        compiled(pattern)
    else:
        compiled("^(?:" + glob_body(pattern) + ")$")


def check_regex(pattern: str) -> str:
    """`pattern` itself when every route runs it the same way, else PatternError."""
    compiled(pattern)
    return pattern


def regexp(pattern: str | None, value: Any) -> bool | None:
    """SQLite's `vdfs_regexp(pattern, value)`: does `pattern` occur in `value`? (NULL-safe)"""
    if value is None or pattern is None:
        return None
    return _matcher(pattern)(value if isinstance(value, str) else str(value))


@functools.lru_cache(maxsize=512)
def _matcher(pattern: str) -> Any:
    """A function text -> bool for `pattern`, as cheap per call as the binding allows."""
    rx = compiled(pattern)
    if _re2 is None:                          # pragma: no cover
        return lambda text: rx.search(text) is not None
    program = _re2.RE2(pattern.encode(), _YES_NO)

    def match(text: str) -> bool:
        data = text.encode("utf-8", "surrogatepass")   # never fails, whatever the name holds
        return program.Match(_UNANCHORED, data, 0, len(data))[0][0] >= 0
    return match


_LOOKAROUND = ("(?=", "(?!", "(?<=", "(?<!")


def _explain(pattern: str, exc: Exception) -> PatternError:
    raw = exc.args[0] if exc.args else str(exc)
    msg = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    what, _, fragment = msg.partition(": ")
    at = max(pattern.find(fragment), 0) if fragment else 0
    if fragment.startswith(_LOOKAROUND):
        return PatternError(f"look-around {fragment}…) is not supported: regexes use RE2, which "
                            "matches in linear time and has no look-ahead or look-behind", pattern, at)
    if what == "invalid escape sequence" and fragment[1:2].isdigit():
        return PatternError(f"backreference {fragment} is not supported: regexes use RE2, which "
                            "matches in linear time and has no backreferences", pattern, at)
    if fragment == "\\Z":
        return PatternError("\\Z is not RE2: write \\z (or $) for the end of the text", pattern, at)
    return PatternError(f"invalid regular expression: {msg}", pattern, at)


def _portable(pattern: str) -> None:
    """Refuse what this RE2 accepts but another route's RE2 does not, or runs differently."""
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            if pattern.startswith("\\C", i):
                raise PatternError("\\C (one byte) is not supported: it can split a character",
                                   pattern, i)
            i += 2
        elif c == "[":
            i = _skip_class(pattern, i)
        elif pattern.startswith("(?<", i):
            raise PatternError("named groups are written (?P<name>…) here: DuckDB does not know "
                               "(?<name>…)", pattern, i)
        else:
            i += 1


def _skip_class(p: str, i: int) -> int:
    """Index after the RE2 character class opening at `i` (the pattern compiled already)."""
    i += 1
    if p.startswith("^", i):
        i += 1
    if p.startswith("]", i):
        i += 1
    while i < len(p) and p[i] != "]":
        if p.startswith("[:", i):
            i = p.index(":]", i + 2) + 2
            continue
        i += 2 if p[i] == "\\" else 1
    return i + 1

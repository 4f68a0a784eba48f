"""How a file name or path is stored as text: one-to-one with the bytes on disk, valid UTF-8.

Standard library only: the indexer's walk worker loads this file on its own, without the core
package, so that its process starts fast (core/indexer/walkworker.py).
"""
from __future__ import annotations

import os
import re

# undecodable bytes arrive from os.fsdecode as lone surrogates U+DC80..U+DCFF
_ESCAPES = {0xDC00 + b: f"\\x{b:02x}" for b in range(0x80, 0x100)}
_ESCAPES[ord("\\")] = "\\\\"


def stored_text(raw: bytes) -> str:
    """The text stored for a name or path given as exact bytes: one-to-one, valid UTF-8.

    Injective because every backslash in the output starts an escape (`\\\\` or `\\xNN`),
    and ASCII bytes (hence `\\`, `x` and hex digits) are never escaped as `\\xNN`, so
    `raw_bytes` reads the text back unambiguously."""
    return raw.decode("utf-8", "surrogateescape").translate(_ESCAPES)


_UNESCAPE = re.compile(r"\\(?:(\\)|x([89a-f][0-9a-f]))")


def raw_bytes(text: str) -> bytes:
    """The exact bytes of a stored path or name (inverse of `stored_text`). Raises ValueError
    on text no name maps to (a lone backslash, `\\x41`, `\\xc3\\xa9` for é)."""
    if "\\" not in text:
        return text.encode("utf-8")
    raw = _UNESCAPE.sub(_unescape, text).encode("utf-8", "surrogateescape")
    if stored_text(raw) != text:
        raise ValueError(f"not a stored path: {text!r}")
    return raw


def _unescape(m: re.Match[str]) -> str:
    return "\\" if m.group(1) else chr(0xDC00 + int(m.group(2), 16))


def display_path(path: str) -> tuple[str, bytes | None]:
    """(text stored in `path`, exact bytes for `raw_path` or None when the text is the name)."""
    if "\\" not in path:
        try:
            path.encode("utf-8")
            return path, None
        except UnicodeEncodeError:
            pass
    raw = os.fsencode(path)
    return stored_text(raw), raw

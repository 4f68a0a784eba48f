"""Text that SQLite can store: Python strings may hold lone surrogates (from a bad decode,
`os.fsdecode` of a non-UTF-8 name, or a caller's junk), which have no UTF-8 form, so binding one
raises UnicodeEncodeError deep in sqlite3. Names and descriptions are checked here first, so the
caller gets the module's own VdfsError instead."""
from __future__ import annotations


def storable(text: str) -> bool:
    """True when `text` has a UTF-8 form (no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True

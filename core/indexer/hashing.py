"""The per-file work of content identification, importable by worker processes.

`hash_batch` is a plain loop on purpose: PERFORMANCE-NOTES measured a thread pool with one task
per file 3x slower; parallelism comes from giving a second process one big static half.
"""
from __future__ import annotations

import os

from ..identity import content_hash_fd
from ..kinds import SNIFF_BYTES, content_type, detect

# (entry id, path for the OS (str or bytes), size stored at discovery, ext)
Item = tuple[int, "str | bytes", int, "str | None"]
# (entry id, content_hash or None, entry kind, (content kind, mime) or None, error or None)
Result = tuple[int, "str | None", str, "tuple[str, str | None] | None", "str | None"]


def hash_one(item: Item) -> Result:
    eid, path, size, ext = item
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return eid, None, "", None, "vanished before it was hashed"
    except OSError as exc:
        return eid, None, "", None, f"cannot read: {exc.strerror or exc}"
    try:
        now = os.fstat(fd).st_size
        if now != size:
            return eid, None, "", None, "changed while indexing (size differs): next index"
        digest = content_hash_fd(fd, size)
        head = os.pread(fd, SNIFF_BYTES, 0)
    except OSError as exc:
        return eid, None, "", None, f"cannot read: {exc.strerror or exc}"
    finally:
        os.close(fd)
    return eid, digest, detect(ext, head)[0], content_type(head), None


def hash_batch(items: list[Item]) -> list[Result]:
    return [hash_one(item) for item in items]


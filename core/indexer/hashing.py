"""The per-file work of content identification, importable by worker processes.

`hash_batch` is a plain loop on purpose: on a 2-core machine a thread pool with one task per
file measured 3x slower; parallelism comes from giving a second process one big static half.
What a cold disk needs is several reads in flight, not threads: the loop opens each file
READAHEAD files before hashing it and asks the kernel for the bytes the hash will sample
(posix_fadvise WILLNEED), so the reads of the next files overlap the hashing of this one.
"""
from __future__ import annotations

import errno
import os
import stat

from core.content.identity import hash_and_head, sample_plan
from core.content.kinds import SNIFF_BYTES, detect_both

# (entry id, path for the OS (str or bytes), size stored at discovery, ext)
Item = tuple[int, "str | bytes", int, "str | None"]
# (entry id, content_hash or None, entry kind, (content kind, mime) or None, error or None)
Result = tuple[int, "str | None", str, "tuple[str, str | None] | None", "str | None"]


# Non-blocking: a path that became a FIFO (or a device) after the walk must not block the open;
# no-follow: a path that became a symlink is not followed. The type is checked after the open,
# on the very file opened, so nothing can swap it in between.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_TYPES = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def _not_a_file(mode: int) -> str:
    kind = next((name for test, name in _TYPES if test(mode)), "something else")
    return f"changed while indexing (now {kind}, not a regular file): not hashed"


READAHEAD = 32   # files opened, and their sampled bytes requested, before they are hashed


def _open_ahead(item: Item) -> int | OSError:
    """Open `item`'s file as hash_one does and ask the kernel to read the bytes its hash
    samples; the open's error, if any, is kept for hash_one to report."""
    try:
        fd = os.open(item[1], _OPEN_FLAGS)
    except OSError as exc:
        return exc
    try:
        for offset, length in sample_plan(item[2]):
            os.posix_fadvise(fd, offset, length, os.POSIX_FADV_WILLNEED)
    except OSError:          # not a regular file after all (hash_one says so), or no advice
        pass
    return fd


def hash_one(item: Item, opened: int | OSError | None = None) -> Result:
    """Hash one file; `opened` is its file opened ahead by _open_ahead (closed here)."""
    eid, path, size, ext = item
    try:
        if opened is None:
            fd = os.open(path, _OPEN_FLAGS)
        elif isinstance(opened, OSError):
            raise opened
        else:
            fd = opened
    except FileNotFoundError:
        return eid, None, "", None, "vanished before it was hashed"
    except OSError as exc:
        if exc.errno == errno.ELOOP:     # O_NOFOLLOW met a symlink where the file was
            return eid, None, "", None, "changed while indexing (now a symlink): not hashed"
        return eid, None, "", None, f"cannot read: {exc.strerror or exc}"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return eid, None, "", None, _not_a_file(st.st_mode)
        now = st.st_size
        if now != size:
            return eid, None, "", None, "changed while indexing (size differs): next index"
        digest, head = hash_and_head(fd, size, SNIFF_BYTES)
    except OSError as exc:
        return eid, None, "", None, f"cannot read: {exc.strerror or exc}"
    finally:
        os.close(fd)
    kind, ctype = detect_both(ext, head)
    return eid, digest, kind[0], ctype, None


def read_head(path: str | bytes) -> bytes:
    """The first SNIFF_BYTES of a regular file, opened as `hash_one` opens it (never blocking
    on a FIFO, never following a symlink); OSError for anything else."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, _not_a_file(mode))
        return os.pread(fd, SNIFF_BYTES, 0)
    finally:
        os.close(fd)


def hash_batch(items: list[Item]) -> list[Result]:
    opened = [_open_ahead(item) for item in items[:READAHEAD]]
    out = []
    try:
        for i, item in enumerate(items):
            if i + READAHEAD < len(items):
                opened.append(_open_ahead(items[i + READAHEAD]))
            out.append(hash_one(item, opened[i]))
            opened[i] = None
    finally:                 # interrupted: close what was opened ahead
        for fd in opened:
            if isinstance(fd, int):
                os.close(fd)
    return out


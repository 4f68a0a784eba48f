"""Read (or write) a file below a trusted root without following any symlink, and check a read
file is the indexed one.

Why: checking a path *string* against a scope says nothing about what `open()` reaches. A
symlink anywhere on the way — or a file swapped for one after it was indexed — leads outside
the checked folder. So the path is walked from the root one component at a time with
`openat(dir_fd, name, O_NOFOLLOW)`: no symlink below the root is ever followed, the last
component must be a regular file (opened with O_NONBLOCK so a FIFO put in its place cannot
hang the read), and the inode read by `fstat` on the *open descriptor* must be the inode the
index recorded. The root itself (a location the user added, the library folder) is trusted
as given.
"""
from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

from core.errors import VdfsError
from core.errors import NotFoundError

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_FILE_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


class UnsafeFileError(VdfsError, PermissionError):
    """The path does not lead to the regular, indexed file below the root it was checked for:
    a symlink on the way, a folder or device, or another file than the one indexed."""

    def __init__(self, path: str, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"{path}: {reason}")


def _components(root: bytes, path: bytes) -> list[bytes]:
    base = root.rstrip(b"/")
    if not path.startswith(base + b"/"):
        raise UnsafeFileError(os.fsdecode(path), f"is not below {os.fsdecode(root)}")
    parts = path[len(base) + 1:].split(b"/")
    if any(p in (b"", b".", b"..") for p in parts):
        raise UnsafeFileError(os.fsdecode(path), "is not a plain path (empty, '.' or '..' part)")
    return parts


def open_below(root: str | bytes, path: str | bytes, *, inode: int | None = None) -> BinaryIO:
    """Open `path` for reading, walking down from `root` without following symlinks; when
    `inode` is given the opened file must be that inode. The caller closes the file."""
    root_b, path_b = os.fsencode(root), os.fsencode(path)
    shown = os.fsdecode(path_b)
    parts = _components(root_b, path_b)
    if os.open not in os.supports_dir_fd or not _NOFOLLOW:   # pragma: no cover - not POSIX
        raise UnsafeFileError(shown, "this platform cannot open a path without following links")
    fds: list[int] = []
    try:
        fds.append(_open(root_b, _DIR_FLAGS, None, shown))
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            fds.append(_open(part, _FILE_FLAGS if last else _DIR_FLAGS | _NOFOLLOW,
                             fds[-1], shown))
        fd = fds.pop()
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise UnsafeFileError(shown, "is not a regular file")
        if inode is not None and st.st_ino != inode:
            os.close(fd)
            raise UnsafeFileError(shown, "is not the file that was indexed (replaced since; "
                                         "re-index the location)")
        return os.fdopen(fd, "rb")
    finally:
        for d in fds:
            os.close(d)


def write_below(root: str | bytes, path: str | bytes, data: bytes) -> None:
    """Write `path` whole (a temp file renamed over it), walking down from `root` without
    following any symlink and making missing folders on the way."""
    root_b, path_b = os.fsencode(root), os.fsencode(path)
    shown = os.fsdecode(path_b)
    parts = _components(root_b, path_b)
    if os.open not in os.supports_dir_fd or not _NOFOLLOW:   # pragma: no cover - not POSIX
        raise UnsafeFileError(shown, "this platform cannot write a path without following links")
    fds = [_open(root_b, _DIR_FLAGS, None, shown)]
    try:
        for part in parts[:-1]:
            try:
                os.mkdir(part, dir_fd=fds[-1])
            except FileExistsError:
                pass
            fds.append(_open(part, _DIR_FLAGS | _NOFOLLOW, fds[-1], shown))
        folder, tmp = fds[-1], b"." + parts[-1] + b"." + os.urandom(6).hex().encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o666, dir_fd=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            # rename replaces the name itself: a symlink put there is replaced, not followed
            os.replace(tmp, parts[-1], src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            os.unlink(tmp, dir_fd=folder)
            raise
    finally:
        for d in fds:
            os.close(d)


def _open(name: bytes, flags: int, dir_fd: int | None, shown: str) -> int:
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno == errno.ENOTDIR and dir_fd is not None
                                        and _is_link(name, dir_fd)):
            raise UnsafeFileError(shown, f"{os.fsdecode(name)!r} on its way is a symlink; "
                                         "vdfs never follows links here") from None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise NotFoundError(f"{shown} is not on disk (re-index the location)") from None
        raise UnsafeFileError(shown, f"cannot be opened: {exc.strerror}") from None


def _is_link(name: bytes, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def read_below(root: str | bytes, path: str | bytes, *, inode: int | None = None) -> bytes:
    """The bytes of `path`, opened as `open_below` does."""
    with open_below(root, path, inode=inode) as f:
        return f.read()

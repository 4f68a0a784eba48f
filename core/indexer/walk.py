"""Discovery: walk a folder with os.scandir, lstat everything, and diff it against the store.

The walk and the comparison are one loop because re-indexing an unchanged tree must cost little
more than the walk itself (no per-row Python work beyond the dict lookup): the stored
(path → inode, mtime_ns, size) map is loaded once, each path found is popped from it, and only
new or changed paths are kept. Whatever is left in the map afterwards is gone from disk.

Symlinks are recorded as entries of kind 'symlink' and never followed, so symlink loops cannot
happen. Sockets, FIFOs and devices are skipped.

Paths are stored as text by one lossless, one-to-one rule (`stored_text`): a name that is valid
UTF-8 without a backslash is stored as is (what users type); otherwise `\\` is written `\\\\`
and every byte that is not part of valid UTF-8 is written `\\xNN`. `raw_bytes` is the exact
inverse. Whenever the stored text differs from the name on disk, `raw_path` holds the exact
bytes, so "the path for the OS" is always `raw_path` if set, else `path`.
"""
from __future__ import annotations

import os
import re
import stat as _stat
from dataclasses import dataclass, field
from typing import Any, Callable

if __package__:     # imported as core.indexer.walk
    from core.store.names import display_path, raw_bytes, stored_text  # noqa: F401
else:               # loaded on its own by walkworker.py, which skips the core package to start fast
    from names import display_path, raw_bytes, stored_text  # type: ignore[no-redef]  # noqa: F401

DIR, FILE, LINK = 1, 0, 2   # entry types in discovery records


@dataclass(slots=True)
class Found:
    """One new or changed path: stored text, exact bytes (None when the text is the name on
    disk), name, parent's stored text, its lstat, type, and the stored row at this path."""
    path: str
    raw: bytes | None
    name: str
    parent: str | None
    st: os.stat_result
    ftype: int
    old: tuple | None


@dataclass
class Discovery:
    changes: list[Found] = field(default_factory=list)
    gone: dict[str, tuple] = field(default_factory=dict)   # stored rows not found on disk
    unreadable: list[str] = field(default_factory=list)     # folders whose content is unknown
    errors: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    files: int = 0
    dirs: int = 0
    bytes: int = 0


def _note(items: list[dict[str, str]], path: str, reason: str) -> None:
    items.append({"path": display_path(path)[0], "reason": reason})


def stat_root(root: str, stored: dict[str, tuple], out: Discovery) -> tuple[str, str | None]:
    """Compare the walk's root folder itself; returns its stack item (real, display-or-None)."""
    try:
        st = os.stat(root)
    except FileNotFoundError:
        raise FileNotFoundError(f"cannot index {root}: the folder no longer exists "
                                "(its entries are kept until it is back or removed)") from None
    if not _stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(f"cannot index {root}: it is not a folder any more")
    root_disp, root_raw = display_path(root)
    old = stored.pop(root_disp, None)
    if old is None or old[1] != st.st_ino or old[2] != st.st_mtime_ns or old[3] != -1:
        out.changes.append(Found(root_disp, root_raw, os.path.basename(root_disp) or root_disp,
                                 None, st, DIR, old))
    out.dirs += 1
    return root, None if root_raw is None else root_disp


def scan(stack: list[tuple[str, str | None]], stored: dict[str, tuple], out: Discovery, *,
         recurse: bool = True, progress: Callable[[int, int], None] | None = None,
         after_dir: Callable[[int], None] | None = None) -> list[tuple[str, str | None]]:
    """Walk the folders on `stack` (real path, display path or None when equal), comparing
    every lstat with `stored[path]` = (path, inode, mtime_ns, size or -1 for folders, ...),
    which is consumed. With recurse=False the folders found are returned, not walked."""
    changes = out.changes
    pop = stored.pop
    append = changes.append
    found_dirs: list[tuple[str, str | None]] = [] if not recurse else stack
    files = nbytes = ndirs = 0
    next_report = out.files + 2048
    while stack:
        real, disp = stack.pop()
        parent = real if disp is None else disp
        try:
            it = os.scandir(real)
        except FileNotFoundError:
            _note(out.skipped, real, "vanished during the walk")
            out.unreadable.append(parent)
            continue
        except NotADirectoryError:
            _note(out.skipped, real, "replaced by a file during the walk")
            out.unreadable.append(parent)
            continue
        except OSError as exc:
            _note(out.errors, real, f"cannot list folder: {exc.strerror or exc}")
            out.unreadable.append(parent)
            continue
        with it:
            for de in it:
                try:
                    st = de.stat(follow_symlinks=False)
                except FileNotFoundError:
                    _note(out.skipped, de.path, "vanished during the walk")
                    continue
                except OSError as exc:
                    _note(out.errors, de.path, f"cannot stat: {exc.strerror or exc}")
                    continue
                p = de.path
                raw = None
                if disp is not None or not p.isascii() or "\\" in p:   # isascii is O(1)
                    p, raw = display_path(p)
                mode = st.st_mode & 0o170000
                if mode == 0o100000:        # regular file
                    ftype = FILE
                    size = st.st_size
                    files += 1
                    nbytes += size
                elif mode == 0o040000:      # folder
                    ftype, size = DIR, -1
                    ndirs += 1
                    found_dirs.append((de.path, None if raw is None else p))
                elif mode == 0o120000:      # symlink
                    ftype, size = LINK, 0
                    files += 1
                else:
                    _note(out.skipped, de.path, "not a regular file, folder or symlink")
                    continue
                old = pop(p, None)
                if old is not None and old[1] == st.st_ino and old[2] == st.st_mtime_ns \
                        and old[3] == size:
                    continue
                name = de.name if raw is None else display_path(de.name)[0]
                append(Found(p, raw, name, parent, st, ftype, old))
        if not recurse:
            break
        if after_dir is not None:
            after_dir(out.dirs + ndirs)
        if progress is not None and out.files + files >= next_report:
            next_report = out.files + files + 2048
            progress(out.files + files, out.bytes + nbytes)
    out.files += files
    out.dirs += ndirs
    out.bytes += nbytes
    return found_dirs if not recurse else []


def discover(root: str, stored: dict[str, tuple], *,
             progress: Callable[[int, int], None] | None = None,
             after_dir: Callable[[int], None] | None = None) -> Discovery:
    """Walk `root` (a folder) in this process. `stored` is consumed: what remains in
    `Discovery.gone` was not found. `progress(files, bytes)` is called now and then;
    `after_dir(n)` after each folder (the fault-injection hook of the crash tests)."""
    out = Discovery()
    stack = [stat_root(root, stored, out)]
    scan(stack, stored, out, progress=progress, after_dir=after_dir)
    out.gone = stored
    if progress is not None:
        progress(out.files, out.bytes)
    return out

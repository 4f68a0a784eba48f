"""The parser's grammar analysis kept between processes, so a CLI call does not redo it.

Analysing the grammar into LALR tables costs a fresh process far more than loading them (tens
of ms against a few). Lark saves and loads the tables itself (its `cache=` option) and checks
that a file was made from the same grammar, options, Lark and Python, rebuilding and rewriting
it when not, or when it cannot be read. Lark's default place is a fixed name in the shared
temporary folder, and the file is a pickle: whoever can write that folder could have a vdfs
process run their code. Here the file lives in the user's cache folder ($VDFS_CACHE_DIR, else
$VDFS_HOME/cache, VDFS_HOME defaulting to ~/.vdfs), which must be the user's own and writable
by nobody else; otherwise nothing is cached (the parser is built, only slower). The file's name carries
a hash of the grammar, options and versions, so two vdfs versions on one machine keep one file
each. Lark writes the file in place (the file's name is part of what its check hashes, so it
cannot be written aside and renamed): a process that meets it half-written finds it damaged and
builds, as for any damage.
"""
from __future__ import annotations

import hashlib
import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from lark import Lark

CACHE_ENV = "VDFS_CACHE_DIR"


def default_folder() -> Path:
    """Where this user's vdfs caches live (machine-local, safe to delete)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("VDFS_HOME") or Path.home() / ".vdfs") / "cache"


def private_folder(folder: Path) -> bool:
    """Made if missing; True when it is a folder of this user that no one else may write."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.stat(folder, follow_symlinks=False)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode):
        return False
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
        return False
    return True


def cache_file(grammar: str, options: dict[str, Any], folder: Path | None = None) -> Path | None:
    """The file the parser of `grammar` built with `options` is kept in; None when there is no
    safe place for it."""
    import lark             # only a build needs it: a parse answered from parsed_cache does not
    folder = default_folder() if folder is None else folder
    if not private_folder(folder):
        return None
    key = hashlib.sha256("\0".join([grammar, repr(sorted(options.items())), lark.__version__,
                                    sys.version]).encode("utf-8", "surrogatepass")).hexdigest()
    return folder / f"parser-{key[:32]}.lark"


def build(grammar: str, transformer: Any, options: dict[str, Any],
          folder: Path | None = None, *, cache: bool = True) -> Lark:
    """An LALR parser of `grammar`: loaded from the cache when a valid file is there, else
    built (and saved, when `cache`). `options` are Lark's, the transformer apart."""
    from lark import Lark
    path = cache_file(grammar, options, folder) if cache else None
    if path is None:
        return Lark(grammar, transformer=transformer, **options)
    # Lark checks the file and, when it is missing, damaged or stale, builds and (re)writes it
    return Lark(grammar, transformer=transformer, cache=str(path), **options)

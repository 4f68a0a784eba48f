"""The disk journal of a commit: every rename is written down (and synced) before it is made.

SQLite rolls back rows by itself, even after a crash; renames on disk do not. So a commit
records each rename in `<library>/trash/.journal/<preview id>.jsonl` first, and removes the
file once its transaction has committed (or its renames were reversed). A journal left behind
by a process that died mid-commit is reversed by `recover()` — unless the audit log shows that
commit did land, in which case the renames stay. Journals of live processes are never touched.
"""
from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.jobs.owner import process_alive, process_tag

if TYPE_CHECKING:  # pragma: no cover
    from core.library import Library

log = logging.getLogger(__name__)


def _dir(lib: Library) -> Path:
    return Path(lib.path) / "trash" / ".journal"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    def __init__(self, lib: Library, preview_id: str):
        self.path = _dir(lib) / f"{preview_id}.jsonl"
        self.renames: list[tuple[str, str]] = []
        self._f: Any = None

    def rename(self, src: str, dst: str) -> None:
        """Record, sync, then rename (so a crash after the rename always finds the record)."""
        if self._f is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._f = open(self.path, "w", encoding="utf-8")
            self._f.write(json.dumps({"owner": process_tag()}) + "\n")
            _fsync_dir(self.path.parent)
        self._f.write(json.dumps({"src": src, "dst": dst}) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())
        os.rename(src, dst)
        self.renames.append((src, dst))

    def reverse(self) -> list[str]:
        """Undo the renames made, newest first; returns what could not be undone."""
        problems = _reverse(self.renames)
        self.renames.clear()
        return problems

    def close(self) -> None:
        """The commit is settled (committed, or reversed): forget the journal."""
        if self._f is not None:
            self._f.close()
            self._f = None
            self.path.unlink(missing_ok=True)


def _reverse(renames: list[tuple[str, str]]) -> list[str]:
    problems = []
    for src, dst in reversed(renames):
        if os.path.lexists(dst) and not os.path.lexists(src):
            try:
                os.makedirs(os.path.dirname(src), exist_ok=True)
                os.rename(dst, src)
            except OSError as exc:
                problems.append(f"{dst} -> {src}: {exc}")
        elif os.path.lexists(dst) or not os.path.lexists(src):
            problems.append(f"cannot put back {dst} -> {src}: both or neither exist")
    return problems


def recover(lib: Library) -> list[str]:
    """Settle journals left by dead processes; returns a line per journal handled."""
    folder = _dir(lib)
    if not folder.is_dir():
        return []
    done = []
    for path in sorted(folder.glob("*.jsonl")):
        try:
            lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]
        except (OSError, ValueError):
            lines = []
        if lines and process_alive(lines[0].get("owner", "")):
            continue                      # its process is still committing
        try:
            preview_id = uuid.UUID(path.stem)
        except ValueError:
            continue
        committed = lib.conn.execute("SELECT 1 FROM audit_log WHERE uuid=?",
                                     (preview_id.bytes,)).fetchone() is not None
        renames = [(x["src"], x["dst"]) for x in lines[1:] if "src" in x]
        if committed:
            done.append(f"{path.stem}: committed before the crash; kept {len(renames)} rename(s)")
        else:
            problems = _reverse(renames)
            done.append(f"{path.stem}: interrupted commit; reversed {len(renames)} rename(s)"
                        + (f" ({'; '.join(problems)})" if problems else ""))
            for p in problems:
                log.warning("action journal %s: %s", path.name, p)
        path.unlink(missing_ok=True)
    return done

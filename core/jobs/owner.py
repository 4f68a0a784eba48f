"""Who runs a job: an owner string that stays unique across pid reuse and library reopening.

owner = "<pid>:<process start ticks>:<manager token>". The owner is alive when that pid exists
with the same start time (so a recycled pid is not mistaken for it) and, in this very process,
when the manager with that token is still open.
"""
from __future__ import annotations

import os
import threading
import uuid

_live_tokens: set[str] = set()
_lock = threading.Lock()


def _start_ticks(pid: int) -> str:
    """Process start time in clock ticks since boot (Linux); '0' where /proc is unavailable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
    except OSError:
        return "0"
    # the command name may contain spaces and parentheses: fields start after the last ')'
    fields = data[data.rindex(")") + 2:].split()
    return fields[19]  # field 22 overall: starttime


def new_owner() -> str:
    token = uuid.uuid4().hex[:12]
    with _lock:
        _live_tokens.add(token)
    pid = os.getpid()
    return f"{pid}:{_start_ticks(pid)}:{token}"


def release_owner(owner: str) -> None:
    with _lock:
        _live_tokens.discard(owner.rsplit(":", 1)[-1])


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_tag() -> str:
    """"<pid>:<start ticks>" of this process, for records that outlive it (action journals)."""
    pid = os.getpid()
    return f"{pid}:{_start_ticks(pid)}"


def process_alive(tag: str) -> bool:
    """Is the process of a `process_tag()` still running (this process counts as alive)?"""
    try:
        pid_s, ticks = tag.split(":")
        pid = int(pid_s)
    except ValueError:
        return False
    if pid == os.getpid():
        return True
    if process_gone(pid):
        return False
    return ticks == "0" or _start_ticks(pid) == ticks


def owner_alive(owner: str | None) -> bool:
    if not owner:
        return False
    try:
        pid_s, ticks, token = owner.split(":")
        pid = int(pid_s)
    except ValueError:
        return False
    if pid == os.getpid():
        with _lock:
            return token in _live_tokens
    if process_gone(pid):     # a zombie is not the owner
        return False
    return ticks == "0" or _start_ticks(pid) == ticks


def process_gone(pid: int) -> bool:
    """True when no process `pid` runs any more: none exists, or its main thread has exited
    (a zombie). The latter may still hold its files for a moment, while its other threads
    finish exiting: what it locked is released only then."""
    return not _pid_exists(pid) or _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
        return data[data.rindex(")") + 2:].split()[0] in ("Z", "X")
    except (OSError, ValueError):
        return False

"""The index job's test knobs: environment variables that let the tests reach, on small trees,
what only big trees and killed processes reach in use. Unset, they change nothing.

VDFS_TEST_CRASH_AFTER="<phase>:<n>" makes the process SIGKILL itself at the n-th safe point of
that phase (after a commit, before its checkpoint); VDFS_INDEX_BULK_MIN, VDFS_INDEX_SPLIT_MIN
and VDFS_INDEX_PARALLEL_MIN lower the thresholds of the first load, the split walk and the
hash workers.
"""
from __future__ import annotations

import os
import signal


class CrashHook:
    """SIGKILLs this process at a chosen safe point; inert unless the env var is set."""

    def __init__(self) -> None:
        spec = os.environ.get("VDFS_TEST_CRASH_AFTER", "")
        phase, _, n = spec.partition(":")
        self.phase = phase or None
        self.at = int(n or 1) if phase else 0
        self.seen = 0

    def __call__(self, phase: str) -> None:
        if phase == self.phase:
            self.seen += 1
            if self.seen >= self.at:
                os.kill(os.getpid(), signal.SIGKILL)


def env_int(name: str, default: int) -> int:
    """Thresholds the tests lower to reach the large-tree code paths on small trees."""
    return int(os.environ.get(name, default))

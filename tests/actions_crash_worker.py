"""A real process that commits an action and SIGKILLs itself part-way (for test_actions_crash).

    python actions_crash_worker.py LIBRARY ROOT MODE

The action renames ROOT/a.txt to a2.txt, moves ROOT/sub into ROOT/dest and deletes ROOT/b.jpg.
MODE "rename:N" dies right after the N-th rename on disk (before COMMIT); "committed" dies
after COMMIT but before the journal is removed.
"""
from __future__ import annotations

import os
import signal
import sys

import core

from core.actions import journal as journal_mod


def main(lib_path: str, root: str, mode: str) -> int:
    lib = core.Library.open(lib_path)
    ctx = lib.actions.context()

    def uid(name: str) -> bytes:
        return lib.conn.execute("SELECT uuid FROM entries WHERE name=?", (name,)).fetchone()[0]

    p = lib.actions.preview_changes("crashing", [ctx.rename(uid("a.txt"), "a2.txt"),
                                          ctx.move(uid("sub"), f"{root}/dest/sub"),
                                          ctx.delete(uid("b.jpg"))])
    real_rename, real_close = journal_mod.Journal.rename, journal_mod.Journal.close
    count = [0]

    def rename(self, src, dst):
        real_rename(self, src, dst)
        count[0] += 1
        if mode == f"rename:{count[0]}":
            os.kill(os.getpid(), signal.SIGKILL)

    def close(self):
        if mode == "committed":
            os.kill(os.getpid(), signal.SIGKILL)
        real_close(self)

    journal_mod.Journal.rename, journal_mod.Journal.close = rename, close
    lib.actions.commit(p)
    return 3   # not reached when the mode kills


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))

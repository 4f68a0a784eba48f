"""Shared helpers for the kernel_ext tests: a real IPython shell with the extension loaded."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from core.jobs import register_job

GATES: dict[str, threading.Event] = {}


def _count(ctx: Any, n: int = 3, gate: str | None = None) -> dict[str, int]:
    """A real job: counts to n, reporting progress; waits on a named gate before finishing."""
    for i in range(n):
        ctx.progress(i, n, phase="counting")
        if gate:
            GATES[gate].wait(10)
            ctx.checkpoint({"i": i})
    ctx.progress(n, n, phase="counting")
    return {"counted": n}


register_job("test.count", _count)


def shell() -> Any:
    """The process-wide test InteractiveShell (IPython.testing.globalipapp), extension loaded."""
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython
    ip = get_ipython() or start_ipython() or get_ipython()
    ip.run_line_magic("load_ext", "kernel_ext")
    return ip


@contextmanager
def indexed_shell(tmp_path: Path, **names: Any) -> Iterator[Any]:
    """The test shell with a new library in `tmp_path` that has indexed `tmp_path/data` (made by
    the caller), `names` set in the notebook; afterwards the library is closed and every name
    the test added to the notebook namespace is removed, so tests do not leak into each other."""
    from kernel_ext import session
    sh = shell()
    before = set(sh.user_ns)
    sh.user_ns.update(libdir=str(tmp_path / "lib.vdfs"), data=str(tmp_path / "data"), **names)
    run(sh, "%vdfs open :libdir --create")
    run(sh, "%vdfs index :data --wait")
    try:
        yield sh
    finally:
        session.close_library()
        for name in set(sh.user_ns) - before:
            del sh.user_ns[name]


def run(ip: Any, code: str) -> Any:
    """Run a cell; return its value or raise its exception (as the magic raised it)."""
    res = ip.run_cell(code, store_history=False)
    if res.error_in_exec is not None:
        raise res.error_in_exec
    if res.error_before_exec is not None:
        raise res.error_before_exec
    return res.result


def complete(ip: Any, text: str, cursor: int | None = None) -> list[str]:
    from IPython.core.completer import provisionalcompleter
    cursor = len(text) if cursor is None else cursor
    with provisionalcompleter():
        return [c.text for c in ip.Completer.completions(text, cursor)]


from core.actions import action  # noqa: E402


@action(name="test.tag_kind")
def _tag_kind(ctx: Any, kind: str = "text", tag: str = "#todo") -> Any:
    """A real action: tag every entry of `kind` (used by the magics and browser tests)."""
    rows = ctx.lib.conn.execute("SELECT uuid FROM entries WHERE kind = ? ORDER BY path", (kind,))
    return ctx.preview(f"Tag {kind} files {tag}", [ctx.add_tag(u, tag) for (u,) in rows])

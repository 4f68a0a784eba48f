"""Shared helpers for the kernel_ext tests: a real IPython shell with the extension loaded."""
from __future__ import annotations

import threading
from typing import Any

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

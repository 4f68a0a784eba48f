"""Explain: what a query means and how it runs, as `lib.explain(...)` and `%vdfs explain`
show it (the IR, the route, the SQL and its bound values)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from vdfs_query import ir


@dataclass
class Explain:
    """What a query means and how it runs: the IR, the route, the SQL and its values."""
    ir: ir.Query
    route: str
    sql: str
    params: list
    other_sql: str

    def __str__(self) -> str:
        return (f"IR:\n{_indent(ir.pretty(self.ir))}\nroute: {self.route}\n"
                f"SQL ({self.route}):\n{_indent(self.sql)}\nparams: {_show_params(self.params)}")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        import html
        return f"<pre>{html.escape(str(self))}</pre>"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _show_params(values: list) -> str:
    shown = []
    for v in values:
        if isinstance(v, bytes) and len(v) == 16:
            shown.append(f"uuid {uuid.UUID(bytes=v)}")
        elif isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 1000:
            shown.append(f"{v:,}")
        else:
            shown.append(repr(v))
    return "[" + ", ".join(shown) + "]"

"""Explain: what a query means and how it runs, as `lib.explain(...)` and `%vdfs explain`
show it (the IR, the route, the SQL and its bound values)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vdfs_query import ir

if TYPE_CHECKING:  # pragma: no cover
    from .mirror import Mirror


@dataclass
class Explain:
    """What a query means and how it runs: the IR, the route, the SQL and its values."""
    ir: ir.Query
    route: str
    sql: str
    params: list
    other_sql: str
    note: str = ""           # where the run goes meanwhile, when not the route itself

    def __str__(self) -> str:
        route = f"{self.route} ({self.note})" if self.note else self.route
        return (f"IR:\n{_indent(ir.pretty(self.ir))}\nroute: {route}\n"
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


def meanwhile(route: str, mirror_mode: str, mirror_error: str | None,
              mirror: Mirror | None) -> str:
    """Who answers a query routed to the mirror while there is no ready mirror ("" when the
    route itself does): said by explain, so 'route: duckdb' is not taken for the whole truth."""
    if route != "duckdb":
        return ""
    if mirror_mode == "off" or mirror_error is not None:
        return "no DuckDB mirror here: SQLite answers"
    if mirror_mode != "sync" and (mirror is None or not mirror.ready.is_set()):
        return "until the DuckDB mirror is ready, SQLite answers; it opens in the background"
    return ""

"""`%%vdfs --plot bar`: a grouped result (a key and a number) as a bar chart above its table.

The cell's value is a `Plot`; `.result` is the query Result itself (and `--out` stores that).
Both forms are deterministic: the SVG for notebooks, text bars for terminals and nbval.
"""
from __future__ import annotations

from typing import Any

from .config import settings
from .display import cell_text, html_table, human_size, result_parts, text_table
from .errors import VdfsUsageError
from .widgets.barsvg import bar_svg

KINDS = ("bar",)
NUMERIC = ("int", "float", "size")
TEXT_BAR_W = 30


def plot_kind(value: str) -> str:
    """The `--plot` flag's converter: an unknown chart is a usage error naming the known ones."""
    if value not in KINDS:
        raise ValueError(value)
    return value


plot_kind.__name__ = " or ".join(repr(k) for k in KINDS)


class Plot:
    """A chart of a two-column result (key, number) with the result's table below it."""

    def __init__(self, result: Any, kind: str = "bar"):
        columns, types = list(result.columns), list(getattr(result, "types", []))
        if len(columns) != 2 or (types and types[1] not in NUMERIC):
            got = ", ".join(f"{c} ({t})" for c, t in zip(columns, types)) or ", ".join(columns)
            raise VdfsUsageError(f"--plot {kind} needs two columns, a key and a number "
                                 f"(e.g. `group by ext select ext, sum(size)`); this result has {got}")
        self.result, self.kind = result, kind
        self.is_size = bool(types) and types[1] == "size"
        self.columns, self.rows, self.total = result_parts(result, settings().display_limit)
        for row in self.rows:
            if row[1] is not None and not isinstance(row[1], (int, float)):
                raise VdfsUsageError(f"--plot {kind}: {columns[1]} holds {cell_text(row[1])!r}, not a number")

    def fmt(self, value: float | None) -> str:
        if value is None:
            return ""
        return human_size(value) if self.is_size else cell_text(value)

    def labels(self) -> list[str]:
        return [cell_text(r[0], 40) or "(none)" for r in self.rows]

    def svg(self) -> str:
        return bar_svg(self.labels(), [r[1] for r in self.rows], fmt=self.fmt,
                       title=f"{self.columns[1]} by {self.columns[0]}")

    def _repr_html_(self) -> str:
        table = html_table(self.columns, self.rows, total=self.total)
        return f'<div class="vdfs-plot">{self.svg()}{table}</div>'

    def __repr__(self) -> str:
        labels = self.labels()
        values = [r[1] for r in self.rows]
        biggest = max((v for v in values if v is not None), default=0) or 0
        lw = max((len(t) for t in labels), default=0)
        lines = [f"{self.columns[1]} by {self.columns[0]}"]
        for label, value in zip(labels, values):
            n = round(TEXT_BAR_W * value / biggest) if value and value > 0 and biggest > 0 else 0
            lines.append(f"  {label.ljust(lw)}  {'█' * n}{' ' if n else ''}{self.fmt(value)}".rstrip())
        return "\n".join(lines) + "\n\n" + text_table(self.columns, self.rows, total=self.total)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

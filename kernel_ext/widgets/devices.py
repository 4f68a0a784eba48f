"""`%vdfs devices`: the library's devices — this one, paired and seen peers — with their
entries, last sync and the changes each has not yet acknowledged, and a Refresh button, so a
notebook can watch a sync land without re-running the cell."""
from __future__ import annotations

from typing import Any

import ipywidgets as W

from ..display import Table
from .base import TextFallback, button


def devices_table(lib: Any) -> Table:
    """The devices of the library with what each still lacks from this one."""
    rows = lib.sync.status()
    columns = list(rows[0]) if rows else ["device"]
    return Table(columns, [list(r.values()) for r in rows], title="devices", noun="device")


class DevicesPanel(TextFallback, W.VBox):
    """The devices table as a widget; `refresh()` (or its button) reads it again."""

    def __init__(self, lib: Any):
        self.lib = lib
        self._html = W.HTML()
        self._refresh = button("Refresh", "refresh",
                               tooltip="read the devices, last syncs and pending changes again")
        self._refresh.on_click(lambda _: self.refresh())
        super().__init__([self._html, self._refresh])
        self.refresh()

    def refresh(self) -> None:
        self.table = devices_table(self.lib)
        self._html.value = self.table._repr_html_()

    @property
    def rows(self) -> list[list[Any]]:
        return self.table.rows

    def text(self) -> str:
        return repr(self.table)

"""`%vdfs search` with no text: a search box whose hits update as you type.

Typing restarts a short timer (debounce); when it runs out, one query asks the library for the
text as it is then, and the hits replace the list below the box. A search text that is not
finished yet (an open quote, a trailing `AND`) shows its mistake instead of hits, and the next
keystroke tries again. Queries run on the library's engine, so every hit is as fresh as the
library.
"""
from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as W

from ..display import html_table
from .base import TextFallback

DEBOUNCE = 0.25            # seconds of quiet typing before a search runs


class SearchBox(TextFallback, W.VBox):
    """A text box and the ranked hits of what it holds."""

    def __init__(self, lib: Any, query: str, *, limit: int = 50, debounce: float = DEBOUNCE):
        """`query` has the parameters :text (what is typed) and :limit."""
        self.lib, self.query, self.limit, self.debounce = lib, query, limit, debounce
        self.searches = 0                     # queries run (what debouncing saves)
        self.rows: list[dict] = []
        self.error: str | None = None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._done.set()
        self.box = W.Text(placeholder="search names and text…", continuous_update=True,
                          layout=W.Layout(width="60%"))
        self.box.add_class("vdfs-search-box")
        self.hits = W.HTML()
        self.hits.add_class("vdfs-search-hits")
        self.box.observe(lambda change: self.typed(change["new"]), names="value")
        super().__init__([self.box, self.hits])
        self.add_class("vdfs-search")
        self._render()

    def typed(self, text: str) -> None:
        """A keystroke: (re)start the timer; the search runs once typing pauses."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._done.clear()
            self._timer = threading.Timer(self.debounce, self.search_now, args=(text,))
            self._timer.daemon = True
            self._timer.start()

    def wait(self, timeout: float = 10.0) -> bool:
        """Block until the pending search (if any) has shown its hits (for tests, scripts)."""
        return self._done.wait(timeout)

    def search_now(self, text: str) -> None:
        from core.errors import VdfsError
        try:
            if text.strip():
                self.searches += 1
                result = self.lib.query(self.query, text=text, limit=self.limit)
                self.rows, self.error = result.rows(), None
            else:
                self.rows, self.error = [], None
        except VdfsError as exc:
            self.error = getattr(exc, "message", str(exc))
        finally:
            self._render()
            self._done.set()

    def _render(self) -> None:
        if self.error is not None:
            self.hits.value = f'<div class="vdfs-search-error">{html.escape(self.error)}</div>'
            return
        cols = ["snippet", "path", "kind"]
        self.hits.value = html_table(cols, [[r.get(c) for c in cols] for r in self.rows],
                                     noun="hit") if self.box.value.strip() else ""

    def text(self) -> str:
        if not self.box.value.strip():
            return "search box (type to search)"
        if self.error is not None:
            return f"search {self.box.value!r}: {self.error}"
        lines = [f"search {self.box.value!r}: {len(self.rows)} hit{'s' * (len(self.rows) != 1)}"]
        lines += [f"  {r.get('snippet')}  {r.get('path')}" for r in self.rows]
        return "\n".join(lines)

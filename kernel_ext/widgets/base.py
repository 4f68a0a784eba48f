"""What every vdfs widget shares: a plain-text form that stands in when no frontend renders it."""
from __future__ import annotations

from typing import Any

import ipywidgets as W


def has_frontend() -> bool:
    """True inside a kernel (a frontend can render widgets); False in a terminal shell."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


class TextFallback:
    """Mixin: `text()` is the widget's state as words; used for text/plain and terminals."""

    def text(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.text()

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.text())

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        data = W.Widget._repr_mimebundle_(self, **kwargs) if has_frontend() else None
        data = dict(data or {})
        data["text/plain"] = self.text()
        return data


def button(description: str, icon: str, style: str = "", tooltip: str = "") -> W.Button:
    return W.Button(description=description, icon=icon, button_style=style, tooltip=tooltip,
                    layout=W.Layout(width="auto"))

"""Times written in a query, as the IR keeps them: a canonical spec such as '7 days ago',
'today' or '2024-05-01', resolved against the clock only at binding. Lowering asks here whether a
text is a time and whether it names a whole interval (a day, a month) rather than a moment."""
from __future__ import annotations

import re
from typing import Any

from . import ast
from .values import _AGO_RE, _DATE_RE


def time_spec(v: Any) -> str:
    if isinstance(v, ast.Date):
        return v.text
    if isinstance(v, ast.Ago):
        return f"{v.amount} {v.unit}s ago"
    if isinstance(v, ast.Day):
        return "today" if v.days_back == 0 else "yesterday"
    return "now"


def is_time_text(spec: str) -> bool:
    if spec in ("now", "today", "yesterday") or _AGO_RE.match(spec):
        return True
    return bool(re.match(r"^[0-9]{4}-[0-9]{2}", spec))


def canonical_time(spec: str) -> str:
    if spec.lower() in ("now", "today", "yesterday"):
        return spec.lower()
    m = _AGO_RE.match(spec)
    if m:
        return f"{int(m.group(1))} {m.group(2).lower()}s ago"
    return spec


def is_interval(spec: str) -> bool:
    return spec in ("today", "yesterday") or bool(_DATE_RE.match(spec))

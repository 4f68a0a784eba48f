"""Wall-clock helpers: one place that says how times are written in the library."""
from __future__ import annotations

import datetime as _dt


def utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def now_iso() -> str:
    """ISO-8601 UTC with microseconds: sorts as text and parses everywhere."""
    return utc_now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")

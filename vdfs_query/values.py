"""Turning what users write (2MB, 2024-05-01, 7 days ago, a uuid string) into stored values.

Sizes: SI units are powers of 1000 (kb, MB, GB, TB), IEC units powers of 1024 (KiB, MiB, GiB,
TiB) — `explain` prints the byte value so nobody has to guess. Times are resolved against one
`now` per query (tests pass a fixed one); a date without a time is the whole day (or month), in
`now`'s timezone.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from .errors import VdfsError

SIZE_UNITS = {"b": 1, "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3, "tb": 1000 ** 4,
              "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3, "tib": 1024 ** 4}
_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]+)?\s*$")
TIME_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400,
              "month": 30 * 86400, "year": 365 * 86400}
_AGO_RE = re.compile(r"^\s*([0-9]+)\s*(second|minute|hour|day|week|month|year)s?\s+ago\s*$", re.I)
_DATE_RE = re.compile(r"^\s*[0-9]{4}-[0-9]{2}(-[0-9]{2})?\s*$")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


class CoercionError(VdfsError, ValueError):
    """A value that does not fit its field; the compiler turns it into a VdfsSyntaxError."""


def parse_size(text: str) -> int:
    m = _SIZE_RE.match(text)
    if not m:
        raise CoercionError(f"{text!r} is not a size (write e.g. 2MB, 1.5GiB or 4096)")
    number, unit = m.groups()
    factor = SIZE_UNITS.get((unit or "b").lower())
    if factor is None:
        raise CoercionError(f"unknown size unit {unit!r} in {text!r} "
                            f"(use {', '.join(u.upper() if 'i' not in u else u[0].upper() + 'iB' for u in SIZE_UNITS)})")
    return int(round(float(number) * factor))


def resolve_now(now: Any = None) -> dt.datetime:
    """The query's single 'now': timezone-aware (a naive datetime is taken as local time)."""
    if now is None:
        return dt.datetime.now().astimezone()
    if isinstance(now, dt.datetime):
        return now if now.tzinfo else now.astimezone()
    raise CoercionError(f"now must be a datetime, not {type(now).__name__}")


def day_start(now: dt.datetime, days_back: int) -> dt.datetime:
    d = (now - dt.timedelta(days=days_back)).date()
    return dt.datetime(d.year, d.month, d.day, tzinfo=now.tzinfo)


def date_interval(text: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime | None]:
    """(start, end) of an ISO date or date-time; end is None for an instant."""
    text = text.strip().replace(" ", "T")
    try:
        if len(text) == 7:                       # 2024-05: the whole month
            y, m = int(text[:4]), int(text[5:7])
            start = dt.datetime(y, m, 1, tzinfo=now.tzinfo)
            end = dt.datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=now.tzinfo)
            return start, end
        if len(text) == 10:                      # 2024-05-01: the whole day
            d = dt.date.fromisoformat(text)
            start = dt.datetime(d.year, d.month, d.day, tzinfo=now.tzinfo)
            return start, start + dt.timedelta(days=1)
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise CoercionError(f"{text!r} is not a date: {exc}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=now.tzinfo)
    return value, None


def ago(amount: int, unit: str, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(seconds=amount * TIME_UNITS[unit])


def to_ns(moment: dt.datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def to_iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def time_text(text: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime | None]:
    """A time written as text: 'now', 'today', 'yesterday', '7 days ago', or an ISO date."""
    low = text.strip().lower()
    if low == "now":
        return now, None
    if low in ("today", "yesterday"):
        start = day_start(now, 0 if low == "today" else 1)
        return start, start + dt.timedelta(days=1)
    m = _AGO_RE.match(text)
    if m:
        return ago(int(m.group(1)), m.group(2).lower(), now), None
    return date_interval(text, now)


def as_moment(value: Any, now: dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=now.tzinfo)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=now.tzinfo)
    if isinstance(value, str):
        return time_text(value, now)[0]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # epoch seconds, or nanoseconds when the number is that large
        return EPOCH + dt.timedelta(microseconds=value / 1000 if abs(value) > 1e14 else value * 1e6)
    raise CoercionError(f"{value!r} is not a time (use a datetime, a date, an ISO text or "
                        "'7 days ago')")


def as_uuid_bytes(value: Any) -> bytes:
    if isinstance(value, str) and len(value) == 36 and value[8] == "-":
        try:
            return bytes.fromhex(value.replace("-", ""))     # the common case, 10× faster
        except ValueError:
            pass
    if isinstance(value, uuid.UUID):
        return value.bytes
    if isinstance(value, (bytes, bytearray)) and len(value) == 16:
        return bytes(value)
    if isinstance(value, str):
        try:
            return uuid.UUID(value.strip()).bytes
        except ValueError:
            pass
    raise CoercionError(f"{value!r} is not a uuid")


def coerce(ftype: str, value: Any, now: dt.datetime | None = None) -> Any:
    """A Python value for a field of `ftype`, in the form the library stores."""
    if value is None:
        return None
    if ftype == "size":
        if isinstance(value, str):
            return parse_size(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CoercionError(f"{value!r} is not a size")
        return int(value)
    if ftype in ("int", "float"):
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, (int, float)):
            return value
        if isinstance(value, str):
            try:
                return int(value) if ftype == "int" else float(value)
            except ValueError:
                raise CoercionError(f"{value!r} is not a number") from None
        raise CoercionError(f"{value!r} is not a number")
    if ftype == "bool":
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int) and value in (0, 1):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"):
            return int(value.lower() in ("true", "yes"))
        raise CoercionError(f"{value!r} is not true or false")
    if ftype == "uuid":
        return as_uuid_bytes(value)
    if ftype in ("time_ns", "time_iso"):
        moment = as_moment(value, now or resolve_now())
        return to_ns(moment) if ftype == "time_ns" else to_iso(moment)
    if ftype == "text":
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise CoercionError(f"{value!r} is not text")
    return value   # json: compared as written


def describe_size(n: int) -> str:
    return f"{n:,} bytes"

"""Turning what users write (2MB, 2024-05-01, 7 days ago, a uuid string) into stored values.

Sizes: SI units are powers of 1000 (kb, MB, GB, TB), IEC units powers of 1024 (KiB, MiB, GiB,
TiB) — `explain` prints the byte value so nobody has to guess. Times are resolved against one
`now` per query (tests pass a fixed one); a date without a time is the whole day (or month), in
`now`'s timezone.
"""
from __future__ import annotations

import datetime as dt
import math
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
INT_MIN, INT_MAX = -2 ** 63, 2 ** 63 - 1     # what SQLite and DuckDB store as a whole number
_MAX_DIGITS = 19                             # no whole number past INT_MAX has fewer digits


class CoercionError(VdfsError, ValueError):
    """A value that does not fit its field; the compiler turns it into a VdfsSyntaxError."""


def whole(n: int) -> int:
    """`n` when the databases can store it; a clear error instead of their OverflowError."""
    if not INT_MIN <= n <= INT_MAX:
        raise CoercionError(f"{brief(n)} is out of range (whole numbers go up to {INT_MAX:,})")
    return n


def finite(x: float) -> float:
    """`x` unless it is nan or ±inf, which no stored value can be compared with."""
    if not math.isfinite(x):
        raise CoercionError(f"{x!r} is not a finite number")
    return x


def number(value: int | float) -> int | float:
    """An int or float the databases can store and compare."""
    return whole(value) if isinstance(value, int) else finite(value)


def parse_number(text: str) -> int | float:
    """A number as the query language writes it (12, -3.5, 1e6), kept within stored range."""
    if not any(ch in text for ch in ".eE"):
        if len(text.lstrip("+-")) > _MAX_DIGITS:
            raise CoercionError(f"{clip(text)} is out of range (whole numbers go up to {INT_MAX:,})")
        return whole(int(text))
    value = float(text)
    if not math.isfinite(value):
        raise CoercionError(f"{clip(text)} is out of range (numbers go up to about 1.8e308)")
    return value


def brief(value: object) -> str:
    """`value` as an error message shows it: repr, but never thousands of characters (and
    never str() of a huge int, which Python refuses)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 4000:
        return f"a {'negative ' if value < 0 else ''}number of about {value.bit_length() * 0.30103:.0f} digits"
    return clip(repr(value))


def clip(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:20]}…({len(text)} characters)"


def parse_size(text: str) -> int:
    m = _SIZE_RE.match(text)
    if not m:
        raise CoercionError(f"{brief(text)} is not a size (write e.g. 2MB, 1.5GiB or 4096)")
    number, unit = m.groups()
    factor = SIZE_UNITS.get((unit or "b").lower())
    if factor is None:
        raise CoercionError(f"unknown size unit {unit!r} in {brief(text)} "
                            f"(use {', '.join(u.upper() if 'i' not in u else u[0].upper() + 'iB' for u in SIZE_UNITS)})")
    if len(number.partition(".")[0]) > _MAX_DIGITS:
        raise CoercionError(f"{clip(text.strip())} is out of range (sizes go up to {INT_MAX:,} bytes)")
    if "." not in number:
        return whole(int(number) * factor)
    return whole(int(round(float(number) * factor)))


def resolve_now(now: Any = None) -> dt.datetime:
    """The query's single 'now': timezone-aware (a naive datetime is taken as local time)."""
    if now is None:
        return dt.datetime.now().astimezone()
    if isinstance(now, dt.datetime):
        try:
            return now if now.tzinfo else now.astimezone()
        except (OverflowError, ValueError, OSError):
            raise CoercionError(f"now={now!r} is out of range") from None
    raise CoercionError(f"now must be a datetime, not {type(now).__name__}")


def day_start(now: dt.datetime, days_back: int) -> dt.datetime:
    try:
        d = (now - dt.timedelta(days=days_back)).date()
    except OverflowError:
        raise CoercionError(f"{'yesterday' if days_back else 'today'} is out of range for "
                            f"now={now!r}") from None
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
        raise CoercionError(f"{brief(text)} is not a date: {exc}") from None
    except OverflowError:
        raise CoercionError(f"{text} is out of range ({_TIME_RANGE})") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=now.tzinfo)
    return value, None


_TIME_RANGE = "vdfs stores times from 1677-09-22 to 2262-04-11"


def ago(amount: int, unit: str, now: dt.datetime) -> dt.datetime:
    try:
        return now - dt.timedelta(seconds=amount * TIME_UNITS[unit])
    except OverflowError:
        raise CoercionError(f"{brief(amount)} {unit}s ago is out of range ({_TIME_RANGE})") from None


def to_ns(moment: dt.datetime) -> int:
    delta = moment - EPOCH
    ns = (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    if not INT_MIN <= ns <= INT_MAX:
        raise CoercionError(f"{moment.date()} is out of range ({_TIME_RANGE})")
    return ns


def to_iso(moment: dt.datetime) -> str:
    try:
        return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except OverflowError:
        raise CoercionError(f"{moment.date()} is out of range ({_TIME_RANGE})") from None


def check_time(text: str) -> None:
    """Raise CoercionError unless the time `text` (a date, 'N units ago') can be stored, both
    its start and its end: lets the parser reject 2024-02-30 or 9999-12-31 at its token."""
    now = dt.datetime.now(dt.timezone.utc)
    for moment in time_text(text, now):
        if moment is not None:
            to_ns(moment)


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
        return time_text(text_value(value), now)[0]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # epoch seconds, or nanoseconds when the number is that large
        try:
            return EPOCH + dt.timedelta(microseconds=value / 1000 if abs(value) > 1e14 else value * 1e6)
        except (OverflowError, ValueError):
            raise CoercionError(f"{brief(value)} is out of range as a time ({_TIME_RANGE})") from None
    raise CoercionError(f"{brief(value)} is not a time (use a datetime, a date, an ISO text or "
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
    raise CoercionError(f"{brief(value)} is not a uuid")


def coerce(ftype: str, value: Any, now: dt.datetime | None = None) -> Any:
    """A Python value for a field of `ftype`, in the form the library stores."""
    if value is None:
        return None
    if ftype == "size":
        if isinstance(value, str):
            return parse_size(text_value(value))
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CoercionError(f"{brief(value)} is not a size")
        return whole(int(finite(value)) if isinstance(value, float) else value)
    if ftype in ("int", "float"):
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, (int, float)):
            return number(value)
        if isinstance(value, str):
            try:
                n = parse_number(text_value(value).strip())
            except CoercionError:
                raise
            except ValueError:
                raise CoercionError(f"{brief(value)} is not a number") from None
            if ftype == "int" and isinstance(n, float):
                raise CoercionError(f"{brief(value)} is not a whole number")
            return n
        raise CoercionError(f"{brief(value)} is not a number")
    if ftype == "bool":
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int) and value in (0, 1):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"):
            return int(value.lower() in ("true", "yes"))
        raise CoercionError(f"{brief(value)} is not true or false")
    if ftype == "uuid":
        return as_uuid_bytes(value)
    if ftype in ("time_ns", "time_iso"):
        moment = as_moment(value, now or resolve_now())
        return to_ns(moment) if ftype == "time_ns" else to_iso(moment)
    if ftype == "text":
        if isinstance(value, str):
            return text_value(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(whole(value) if isinstance(value, int) else value)
        raise CoercionError(f"{brief(value)} is not text")
    return value   # json: compared as written


def json_value(value: Any) -> Any:
    """A value a model's JSON field can be compared with: text, a number, true/false or None."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return text_value(value)
    if isinstance(value, (int, float)):
        return number(value)
    raise CoercionError(f"a model field compares with text, a number or true/false, "
                        f"not {type(value).__name__}")


def text_value(value: str) -> str:
    """`value` unless it holds a lone surrogate, which no database can store or compare."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise CoercionError(f"text holds {value[exc.start]!r} at position {exc.start}, which "
                                "is not a valid Unicode character") from None
    return value


def describe_size(n: int) -> str:
    return f"{n:,} bytes"


def tag_name(text: str) -> str:
    """A tag name as the library stores it: '#' prefix, case-folded, blanks around a 'namespace:'
    dropped, other runs of whitespace as '-' ('Road Trip' → '#road-trip'). The one rule: core's
    tags (core.domain.tags.canonical_name) validate, then call this, so a tag written through
    core is found by the same name typed into a query."""
    t = text.strip()
    if not t.startswith("#"):
        t = "#" + t
    t = t.casefold()
    if ":" in t:
        ns, _, rest = t.partition(":")
        t = ns.strip() + ":" + rest.strip()
    return re.sub(r"\s+", "-", t)


def value_pos(text: str | None, pos: int | None, index: int) -> int | None:
    """Where character `index` of a literal's value lies in the query text: a caret for an
    error inside a string (a glob or regex) lands on the character itself."""
    if text is None or pos is None:
        return pos
    if text[pos:pos + 1] in ("r", "R") and text[pos + 1:pos + 2] in ("'", '"'):
        return pos + 2 + index
    if text[pos:pos + 1] not in ("'", '"'):
        return pos + index
    i = pos + 1
    for _ in range(index):
        if i >= len(text):
            break
        i += (6 if text.startswith("\\u", i) else 2) if text[i] == "\\" else 1
    return i

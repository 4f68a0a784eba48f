"""Cron-like schedules for trigger="on_schedule": "m h dom mon dow" (UTC), or @hourly/@daily/
@weekly/@monthly. Each field is `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, or a
comma list of those; day of week 0-6 with 0 = Sunday (7 is Sunday too). As in cron, when both
day of month and day of week are restricted, a day matching either is due.
"""
from __future__ import annotations

import datetime as dt

from core.errors import VdfsError

_ALIASES = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0",
            "@monthly": "0 0 1 * *"}
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_NAMES = ("minute", "hour", "day of month", "month", "day of week")
MAX_DAYS = 366 * 5


class ScheduleError(VdfsError, ValueError):
    """A schedule that is not a valid cron expression."""


def _field(text: str, lo: int, hi: int, what: str) -> frozenset[int]:
    out: set[int] = set()
    for part in text.split(","):
        rng, _, step_s = part.partition("/")
        try:
            step = int(step_s) if step_s else 1
            if rng == "*":
                a, b = lo, hi
            elif "-" in rng:
                a, b = (int(x) for x in rng.split("-", 1))
            else:
                a = b = int(rng)
        except ValueError:
            raise ScheduleError(f"bad {what} field {text!r}") from None
        if step < 1 or not (lo <= a <= b <= hi):
            raise ScheduleError(f"{what} field {text!r} is outside {lo}-{hi}")
        out.update(range(a, b + 1, step))
    return frozenset(out)


class Cron:
    def __init__(self, expr: str):
        if not isinstance(expr, str):
            raise ScheduleError(f"a schedule is a cron string, got {expr!r}")
        self.expr = expr
        fields = _ALIASES.get(expr.strip(), expr).split()
        if len(fields) != 5:
            raise ScheduleError(f"schedule {expr!r} needs 5 fields (minute hour day month "
                                "weekday) or @hourly/@daily/@weekly/@monthly")
        sets = [_field(f, lo, hi, n) for f, (lo, hi), n in zip(fields, _BOUNDS, _NAMES)]
        self.minutes, self.hours, self.days, self.months, dow = sets
        self.weekdays = frozenset(d % 7 for d in dow)
        self._dom_any, self._dow_any = fields[2] == "*", fields[4] == "*"

    def _day_ok(self, d: dt.date) -> bool:
        if d.month not in self.months:
            return False
        dom, dow = d.day in self.days, (d.isoweekday() % 7) in self.weekdays
        if self._dom_any or self._dow_any:
            return dom and dow
        return dom or dow

    def next_after(self, t: dt.datetime) -> dt.datetime | None:
        """The first due minute strictly after t (UTC), or None within five years."""
        t = t.astimezone(dt.timezone.utc).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        day = t.date()
        for i in range(MAX_DAYS):
            d = day + dt.timedelta(days=i)
            if not self._day_ok(d):
                continue
            for h in sorted(self.hours):
                for m in sorted(self.minutes):
                    cand = dt.datetime(d.year, d.month, d.day, h, m, tzinfo=dt.timezone.utc)
                    if cand >= t:
                        return cand
        return None

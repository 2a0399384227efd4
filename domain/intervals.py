"""The half-hour intervals the history is kept in (SPEC §7): 00:00–00:30, … 23:30–24:00 local.

Intervals are wall-clock half hours in the hotline's zone (Asia/Shanghai); each is named
by its start, an aware UTC datetime, and belongs to the local day it starts on. A
moment on a boundary starts the next interval: 23:30:00 is in 23:30–24:00, 00:00:00
of the next day in that day's first interval.

Times without a zone are UTC (SQLite hands stored times back that way).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

INTERVAL = timedelta(minutes=30)
INTERVAL_MINUTES = 30


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def interval_of(moment: datetime, tz: ZoneInfo) -> datetime:
    """The start (UTC) of the interval ``moment`` falls in."""
    local = utc(moment).astimezone(tz)
    start = local.replace(
        minute=local.minute - local.minute % INTERVAL_MINUTES, second=0, microsecond=0
    )
    return start.astimezone(UTC)


def day_of(interval_start: datetime, tz: ZoneInfo) -> date:
    """The local day an interval belongs to."""
    return utc(interval_start).astimezone(tz).date()


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """Local midnight starting ``day``, in UTC."""
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def days_span(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the local days ``first`` to ``last``, both included."""
    return day_start(first, tz), day_start(last + timedelta(days=1), tz)


def intervals_of(day: date, tz: ZoneInfo) -> list[datetime]:
    """Every interval start of a local day, in order (48 in Asia/Shanghai)."""
    start, end = days_span(day, day, tz)
    out = []
    while start < end:
        out.append(start)
        start += INTERVAL
    return out


def slices(start: datetime, end: datetime, tz: ZoneInfo) -> Iterator[tuple[datetime, float]]:
    """The intervals a span [start, end) covers, with the seconds of it in each."""
    start, end = utc(start), utc(end)
    while start < end:
        interval = interval_of(start, tz)
        upto = min(end, interval + INTERVAL)
        yield interval, (upto - start).total_seconds()
        start = upto

"""Lines and their human hours (SPEC §3): half-open intervals in local wall-clock time.

Times are naive local datetimes in the programme's time zone; the edge converts
"now" before asking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

Interval = tuple[time, time]
# How far ahead to look for an opening before deciding a line never opens.
SEARCH_DAYS = 400


@dataclass(frozen=True, slots=True)
class Line:
    code: str
    name: str
    operator: str
    phone: str
    queue: str
    # weekday (Monday 0) -> open intervals; an empty tuple is closed all day
    weekly: Mapping[int, tuple[Interval, ...]]
    closures: frozenset[date] = frozenset()
    # per-date hours replacing the weekly ones
    special: Mapping[date, tuple[Interval, ...]] = field(default_factory=dict)

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        if day in self.closures:
            return ()
        if day in self.special:
            return self.special[day]
        return self.weekly.get(day.weekday(), ())

    def is_open(self, at: datetime) -> bool:
        now = at.time()
        return any(start <= now < end for start, end in self.intervals_on(at.date()))

    def next_opening(self, at: datetime) -> datetime | None:
        """The first opening strictly after ``at`` (or ``at`` itself if it opens then)."""
        for offset in range(SEARCH_DAYS):
            day = at.date() + timedelta(days=offset)
            for start, _end in sorted(self.intervals_on(day)):
                opening = datetime.combine(day, start)
                if opening >= at:
                    return opening
        return None

    def closes_at(self, at: datetime) -> datetime | None:
        """When the interval containing ``at`` ends, if the line is open."""
        now = at.time()
        for start, end in self.intervals_on(at.date()):
            if start <= now < end:
                return datetime.combine(at.date(), end)
        return None
